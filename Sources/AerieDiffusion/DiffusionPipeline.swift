import AerieCore
import AerieONNX
import Foundation

/// A Stable Diffusion 1.x pipeline in the diffusers ONNX layout, run on ONNX Runtime.
///
/// The directory holds `model_index.json`, `text_encoder/model.onnx`, `unet/model.onnx`,
/// `vae_decoder/model.onnx`, `tokenizer/vocab.json` + `merges.txt` and `scheduler/scheduler_config.json`
/// (weights may sit in external-data files next to each `model.onnx`). Generation follows diffusers'
/// `OnnxStableDiffusionPipeline`: initial latents from numpy's legacy `RandomState(seed).randn`, so the
/// same request gives the same image as the Python pipeline on the same machine and thread count.
///
/// Sessions are shared; concurrent `generate` calls are allowed (each runs its own denoising loop).
public final class DiffusionPipeline: Sendable {
    /// The scheduler used when a request names none (from `scheduler/scheduler_config.json`'s `_class_name`).
    public let defaultScheduler: SchedulerKind
    /// The latent size the model was trained at; images are `sampleSize * 8` pixels square by default.
    public let sampleSize: Int
    /// The directory the pipeline was loaded from.
    public let directory: URL

    let tokenizer: CLIPTokenizer
    let schedulerConfig: SchedulerConfig
    let textEncoder: ONNXSession
    let unet: ONNXSession
    let vaeDecoder: ONNXSession

    init(
        directory: URL, tokenizer: CLIPTokenizer, schedulerConfig: SchedulerConfig, defaultScheduler: SchedulerKind,
        sampleSize: Int, textEncoder: ONNXSession, unet: ONNXSession, vaeDecoder: ONNXSession
    ) {
        self.directory = directory
        self.tokenizer = tokenizer
        self.schedulerConfig = schedulerConfig
        self.defaultScheduler = defaultScheduler
        self.sampleSize = sampleSize
        self.textEncoder = textEncoder
        self.unet = unet
        self.vaeDecoder = vaeDecoder
    }

    /// Loads the pipeline in `directory` with `threads` intra-op threads per session (0: one per core).
    public static func load(directory: URL, runtime: ONNXRuntime, threads: Int = 0) throws -> DiffusionPipeline {
        throw AerieError(.unavailable, "DiffusionPipeline.load is not implemented yet.")
    }

    /// Generates one image; `progress(step, of)` is called after each denoising step (1-based).
    /// Checks for cancellation between steps and throws `CancellationError` when the task is cancelled.
    public func generate(
        _ request: DiffusionRequest, progress: @Sendable (_ step: Int, _ of: Int) -> Void = { _, _ in }
    ) async throws -> DiffusedImage {
        throw AerieError(.unavailable, "DiffusionPipeline.generate is not implemented yet.")
    }
}

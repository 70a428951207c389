import AerieCore
import AerieDiffusion
import AerieONNX
import Foundation

/// Something that turns a diffusion request into a PNG: the real ``DiffusionPipeline`` or a test double.
public protocol ImageGenerating: Sendable {
    /// The scheduler used when a request names none.
    var defaultScheduler: SchedulerKind { get }
    /// The model's latent size; images are `sampleSize * 8` pixels square by default.
    var sampleSize: Int { get }
    /// Generates one image as PNG bytes; `progress(step, of)` after each denoising step. Throws
    /// `CancellationError` when the task is cancelled.
    func generatePNG(_ request: DiffusionRequest, progress: @escaping @Sendable (_ step: Int, _ of: Int) -> Void) async throws -> Data
}

/// ``ImageGenerating`` on a loaded Stable Diffusion ONNX pipeline.
public struct DiffusionImageGenerator: ImageGenerating {
    public let pipeline: DiffusionPipeline

    public init(pipeline: DiffusionPipeline) {
        self.pipeline = pipeline
    }

    /// Loads the pipeline in `directory` on the ONNX Runtime library at `libraryPath`.
    public init(directory: URL, onnxRuntimeLibrary libraryPath: String, threads: Int) throws {
        let runtime = try ONNXRuntime(libraryPath: libraryPath)
        pipeline = try DiffusionPipeline.load(directory: directory, runtime: runtime, threads: threads)
    }

    public var defaultScheduler: SchedulerKind { pipeline.defaultScheduler }
    public var sampleSize: Int { pipeline.sampleSize }

    public func generatePNG(_ request: DiffusionRequest, progress: @escaping @Sendable (Int, Int) -> Void) async throws -> Data {
        try await pipeline.generate(request, progress: progress).png
    }
}

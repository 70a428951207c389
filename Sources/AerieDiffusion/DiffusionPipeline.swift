import AerieCore
import AerieONNX
import Foundation
import Synchronization

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

    /// The files a diffusers ONNX Stable Diffusion directory must have, relative to it.
    public static let requiredFiles = [
        "model_index.json", "text_encoder/model.onnx", "unet/model.onnx", "vae_decoder/model.onnx",
        "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json",
    ]

    /// Checks that `directory` has the diffusers ONNX layout (without loading the models); throws
    /// `invalid-argument` naming the missing files otherwise.
    public static func validateLayout(directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AerieError.notFound("There is no directory at \(directory.path); pass the directory of a diffusers ONNX export.")
        }
        let missing = requiredFiles.filter { !FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            throw AerieError.invalid(
                "\(directory.path) is not a diffusers ONNX Stable Diffusion pipeline: missing \(missing.joined(separator: ", ")). "
                    + "Export one with `optimum-cli export onnx --model <model> DIR` or generate one with scripts/make-diffusion-model.py.")
        }
        _ = try SchedulerConfig.load(directory.appendingPathComponent("scheduler/scheduler_config.json"))
    }

    /// Loads the pipeline in `directory` with `threads` intra-op threads per session (0: one per core).
    public static func load(directory: URL, runtime: ONNXRuntime, threads: Int = 0) throws -> DiffusionPipeline {
        try validateLayout(directory: directory)
        let config = try SchedulerConfig.load(directory.appendingPathComponent("scheduler/scheduler_config.json"))
        let tokenizer = try CLIPTokenizer(directory: directory.appendingPathComponent("tokenizer", isDirectory: true))
        let options = ONNXSession.Options(intraOpThreads: threads, interOpThreads: 1)
        func session(_ name: String, inputs: [String]) throws -> ONNXSession {
            let session = try ONNXSession(runtime: runtime, modelPath: directory.appendingPathComponent("\(name)/model.onnx").path, options: options)
            for input in inputs where !session.inputNames.contains(input) {
                throw AerieError.invalid(
                    "\(name)/model.onnx has no input \(input) (it has \(session.inputNames.joined(separator: ", "))); it is not a Stable Diffusion 1.x ONNX export.")
            }
            guard !session.outputNames.isEmpty else { throw AerieError.invalid("\(name)/model.onnx has no outputs.") }
            return session
        }
        let textEncoder = try session("text_encoder", inputs: ["input_ids"])
        let unet = try session("unet", inputs: ["sample", "timestep", "encoder_hidden_states"])
        let vaeDecoder = try session("vae_decoder", inputs: ["latent_sample"])
        return DiffusionPipeline(
            directory: directory, tokenizer: tokenizer, schedulerConfig: config,
            defaultScheduler: SchedulerKind(diffusersClassName: config.className) ?? .pndm,
            sampleSize: sampleSize(in: directory), textEncoder: textEncoder, unet: unet, vaeDecoder: vaeDecoder)
    }

    /// `sample_size` of `unet/config.json` (or `vae_decoder/config.json` ÷ 8), else SD 1.x's 64.
    static func sampleSize(in directory: URL) -> Int {
        func read(_ path: String) -> Int? {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(path)),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            return (object["sample_size"] as? NSNumber)?.intValue
        }
        if let size = read("unet/config.json"), size > 0 { return size }
        if let size = read("vae_decoder/config.json"), size >= 8 { return size / 8 }
        return 64
    }

    /// The output of `session` named `name`, or its first output.
    private static func output(_ outputs: [String: ONNXTensor], _ session: ONNXSession, _ name: String) throws -> [Float] {
        let key = outputs[name] != nil ? name : (session.outputNames.first ?? name)
        guard let values = outputs[key]?.floats else {
            throw AerieError(.internal, "The model returned no floating-point \(name).")
        }
        return values
    }

    /// A float tensor in the element type `session` declares for `input` (float32 or float16).
    private static func floatTensor(_ values: [Float], shape: [Int], for input: String, of session: ONNXSession) throws -> ONNXTensor {
        switch session.inputType(named: input) {
        case .float16?: try ONNXTensor(shape: shape, elements: .float16(values.map { Float16($0).bitPattern }))
        default: try ONNXTensor(shape: shape, float32: values)
        }
    }

    private func encodeText(_ text: String) throws -> [Float] {
        let ids = tokenizer.encode(text)
        let shape = [1, ids.count]
        let input: ONNXTensor =
            switch textEncoder.inputType(named: "input_ids") {
            case .int64?: try ONNXTensor(shape: shape, int64: ids.map(Int64.init))
            default: try ONNXTensor(shape: shape, int32: ids)
            }
        let outputs = try textEncoder.run(["input_ids": input], outputs: [textEncoder.outputNames.contains("last_hidden_state") ? "last_hidden_state" : textEncoder.outputNames[0]])
        return try Self.output(outputs, textEncoder, "last_hidden_state")
    }

    private func timestepTensor(_ timestep: Double) throws -> ONNXTensor {
        switch unet.inputType(named: "timestep") {
        case .int64?: try ONNXTensor(shape: [1], int64: [Int64(timestep)])
        case .int32?: try ONNXTensor(shape: [1], int32: [Int32(timestep)])
        case .float16?: try ONNXTensor(shape: [1], elements: .float16([Float16(Float(timestep)).bitPattern]))
        default: try ONNXTensor(shape: [1], float32: [Float(timestep)])
        }
    }

    /// Checks a request against what the pipeline can do; throws `invalid-argument` naming the field.
    public func validate(_ request: DiffusionRequest) throws {
        for (field, value) in [("width", request.width), ("height", request.height)] where value < 8 || value % 8 != 0 || value > 4096 {
            throw AerieError.invalid("\(field) must be a multiple of 8 between 8 and 4096, not \(value).", field: field)
        }
        guard request.steps >= 1, request.steps <= schedulerConfig.numTrainTimesteps else {
            throw AerieError.invalid("steps must be between 1 and \(schedulerConfig.numTrainTimesteps), not \(request.steps).", field: "steps")
        }
        guard request.guidance.isFinite, request.guidance >= 0 else {
            throw AerieError.invalid("guidance must be a finite number ≥ 0.", field: "guidance")
        }
    }

    /// Generates one image; `progress(step, of)` is called after each denoising step (1-based; PNDM runs
    /// `steps + 1` model evaluations, so `of` is the number of UNet runs, not always `steps`).
    ///
    /// The model runs on a Dispatch worker thread, not on the Swift concurrency pool, so a generation never
    /// blocks other tasks; `progress` is called on that thread. Cancelling the calling task stops the run
    /// before its next step and throws `CancellationError`.
    public func generate(
        _ request: DiffusionRequest, progress: @escaping @Sendable (_ step: Int, _ of: Int) -> Void = { _, _ in }
    ) async throws -> DiffusedImage {
        try validate(request)
        try Task.checkCancellation()
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DiffusedImage, any Error>) in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(with: Result { try self.run(request, progress: progress, cancelled: cancelled) })
                }
            }
        } onCancel: {
            cancelled.cancel()
        }
    }

    /// Set when the task awaiting a generation is cancelled; the denoising loop polls it between steps.
    final class CancellationFlag: Sendable {
        private let state = Mutex(false)
        func cancel() { state.withLock { $0 = true } }
        func check() throws { if state.withLock({ $0 }) { throw CancellationError() } }
    }

    /// The whole generation, synchronously on the calling thread.
    func run(_ request: DiffusionRequest, progress: @Sendable (_ step: Int, _ of: Int) -> Void, cancelled: CancellationFlag) throws -> DiffusedImage {
        var scheduler = try DiffusionScheduler(kind: request.scheduler ?? defaultScheduler, config: schedulerConfig, steps: request.steps)
        let guided = request.guidance > 1
        try cancelled.check()
        let condition = try encodeText(request.prompt)
        var embeddings = condition
        var batch = 1
        if guided {
            embeddings = try encodeText(request.negativePrompt) + condition
            batch = 2
        }
        let sequence = tokenizer.maxLength
        let hidden = condition.count / sequence
        let hiddenStates = try Self.floatTensor(embeddings, shape: [batch, sequence, hidden], for: "encoder_hidden_states", of: unet)

        let latentHeight = request.height / 8
        let latentWidth = request.width / 8
        let count = 4 * latentHeight * latentWidth
        var random = NumpyRandomState(seed: request.seed)
        let sigma = Float(scheduler.initNoiseSigma)
        var latents = random.randn(count).map { Float($0) * sigma }
        let total = scheduler.timesteps.count
        for (index, timestep) in scheduler.timesteps.enumerated() {
            try cancelled.check()
            let input = guided ? latents + latents : latents
            let scaled = scheduler.scaleModelInput(input, index: index)
            let outputs = try unet.run([
                "sample": Self.floatTensor(scaled, shape: [batch, 4, latentHeight, latentWidth], for: "sample", of: unet),
                "timestep": timestepTensor(timestep),
                "encoder_hidden_states": hiddenStates,
            ])
            let prediction = try Self.output(outputs, unet, "out_sample")
            var noise = prediction
            if guided {
                let scale = request.guidance
                noise = (0..<count).map { i in
                    let unconditional = prediction[i]
                    return unconditional + scale * (prediction[count + i] - unconditional)
                }
            }
            latents = scheduler.step(noise, index: index, sample: latents, random: &random)
            progress(index + 1, total)
        }
        try cancelled.check()
        let inverseScale = Float(1.0 / 0.18215)
        let decoded = try vaeDecoder.run([
            "latent_sample": Self.floatTensor(latents.map { inverseScale * $0 }, shape: [1, 4, latentHeight, latentWidth], for: "latent_sample", of: vaeDecoder)
        ])
        let pixels = try Self.output(decoded, vaeDecoder, "sample")
        let plane = request.width * request.height
        guard pixels.count == 3 * plane else {
            throw AerieError(.internal, "vae_decoder returned \(pixels.count) values for a \(request.width)×\(request.height) RGB image; is it an 8× upsampling decoder?")
        }
        var rgb = [UInt8](repeating: 0, count: 3 * plane)
        for channel in 0..<3 {
            for position in 0..<plane {
                let value = min(max(pixels[channel * plane + position] / 2 + 0.5, 0), 1)
                rgb[position * 3 + channel] = UInt8((value * 255).rounded(.toNearestOrEven))
            }
        }
        return DiffusedImage(width: request.width, height: request.height, rgb: rgb)
    }
}

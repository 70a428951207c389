import AerieCore
import AerieONNX
import Foundation

/// Unit-length sentence embeddings, whatever computes them: ``SentenceEncoder`` (native Swift on
/// OpenBLAS) or ``ONNXSentenceEncoder`` (ONNX Runtime). Choose one with ``SentenceEmbedderBackend``.
public protocol SentenceEmbedder: Sendable {
    /// The model's upstream name (`all-MiniLM-L6-v2`).
    var modelName: String { get }
    var dimensions: Int { get }
    var tokenizer: WordPieceTokenizer { get }
    /// The embeddings of `texts`, in order.
    func embed(_ texts: [String]) throws -> [[Float]]
}

/// Which engine computes the embeddings (configuration).
public enum SentenceEmbedderBackend: String, Sendable, CaseIterable {
    /// The Swift forward pass on OpenBLAS reading `model.safetensors` (the default: no extra files).
    case native
    /// ONNX Runtime on `model.onnx` (built by `scripts/minilm_onnx.py`), with the library installed by
    /// `aerie models install onnxruntime`.
    case onnxRuntime = "onnx"

    /// Loads the installed MiniLM with this backend.
    public func load(store: ModelStore, spec: ModelSpec = .minilm, options: ONNXSession.Options = .init()) throws -> any SentenceEmbedder {
        switch self {
        case .native:
            return try SentenceEncoder(store: store, spec: spec)
        case .onnxRuntime:
            let library = try store.requireModel(.onnxruntime).appendingPathComponent("libonnxruntime.so")
            let runtime = try ONNXRuntime(libraryPath: library.path)
            return try ONNXSentenceEncoder(directory: store.requireModel(spec), runtime: runtime, modelName: spec.displayName, options: options)
        }
    }
}

/// MiniLM sentence embeddings computed by ONNX Runtime on `model.onnx`, a graph of the same weights
/// with pooling and normalisation inside (inputs `input_ids`, `attention_mask`; output `sentence_embedding`).
public struct ONNXSentenceEncoder: SentenceEmbedder {
    public let modelName: String
    public let tokenizer: WordPieceTokenizer
    public let dimensions: Int
    public let session: ONNXSession

    public init(directory: URL, runtime: ONNXRuntime, modelName: String = ModelSpec.minilm.displayName, options: ONNXSession.Options = .init()) throws {
        let configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        let graph = directory.appendingPathComponent("model.onnx")
        guard FileManager.default.fileExists(atPath: graph.path) else {
            throw AerieError.notFound(
                "\(graph.path) is missing. Build it from the installed weights with `.venv/bin/python scripts/minilm_onnx.py \(directory.path)`.")
        }
        self.modelName = modelName
        self.dimensions = configuration.hiddenSize
        self.tokenizer = try SentenceEncoder.tokenizer(in: directory, configuration: configuration)
        self.session = try ONNXSession(runtime: runtime, modelPath: graph.path, options: options)
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let batch = tokenizer.encode(batch: texts)
        let shape = [batch.count, batch.length]
        let outputs = try session.run(
            [
                "input_ids": ONNXTensor(shape: shape, int64: batch.ids.map(Int64.init)),
                "attention_mask": ONNXTensor(shape: shape, int64: batch.attentionMask.map(Int64.init)),
            ], outputs: ["sentence_embedding"])
        guard let output = outputs["sentence_embedding"], let values = output.floats, output.shape == [batch.count, dimensions] else {
            throw AerieError(.internal, "model.onnx returned no [\(batch.count), \(dimensions)] sentence_embedding; rebuild it with scripts/minilm_onnx.py.")
        }
        return (0..<batch.count).map { Array(values[$0 * dimensions..<($0 + 1) * dimensions]) }
    }
}

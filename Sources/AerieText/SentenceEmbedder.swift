import AerieCore
import AerieModels
import AerieONNX
import Foundation
import Logging

/// Unit-length sentence embeddings, whatever computes them: ``SentenceEncoder`` (native Swift on
/// OpenBLAS) or ``ONNXSentenceEncoder`` (ONNX Runtime). Choose one with ``SentenceEmbedderBackend``.
public protocol SentenceEmbedder: Sendable {
    /// The model's upstream name (`all-MiniLM-L6-v2`).
    var modelName: String { get }
    var dimensions: Int { get }
    var tokenizer: WordPieceTokenizer { get }
    /// The embeddings of `texts`, in order.
    func embed(_ texts: [String]) throws -> [[Float]]
    /// The sentence and token embeddings of `texts`, in order, from one pass of the model (``PromptMatcher`` aligns
    /// the tokens of two prompts).
    func embedTokens(_ texts: [String]) throws -> [TokenEmbeddings]
}

/// Which engine computes the embeddings (configuration).
///
/// The default is ``preferred`` (ONNX Runtime); ``loadPreferred(store:spec:options:logger:)`` falls back
/// to ``native`` with a logged notice when the runtime or `model.onnx` is not installed, while a backend
/// named explicitly (``load(store:spec:options:)``) throws an error that names the command to run.
public enum SentenceEmbedderBackend: String, Sendable, CaseIterable {
    /// The Swift forward pass on OpenBLAS reading `model.safetensors` (needs no extra files).
    case native
    /// ONNX Runtime on `model.onnx` (built from the weights by `aerie models install minilm`), with the
    /// library installed by `aerie models install onnxruntime`.
    case onnxRuntime = "onnx"

    /// The default backend, decided by the benchmark (bench/results/neural.md, `make bench-neural`):
    /// ONNX Runtime embeds a single sentence in about half the time of the native backend and batches
    /// faster on one and two threads. Change it only with new numbers from that benchmark.
    public static let preferred: SentenceEmbedderBackend = .onnxRuntime

    /// Loads the installed MiniLM with this backend. A missing model, runtime or graph throws
    /// `not-found` with the command that installs it.
    public func load(store: ModelStore, spec: ModelSpec = .minilm, options: ONNXSession.Options = .init()) throws -> any SentenceEmbedder {
        switch self {
        case .native:
            return try SentenceEncoder(store: store, spec: spec)
        case .onnxRuntime:
            let directory = try store.requireModel(spec)
            let runtime: ONNXRuntime
            do {
                runtime = try ONNXRuntime(installedIn: store)
            } catch let error as AerieError where error.code == .notFound {
                throw AerieError.notFound(
                    "The ONNX Runtime backend needs the runtime, which is not installed in \(store.root.path). "
                        + "Run `aerie models install onnxruntime` with the same --data directory, or choose the native backend (`--backend native`).")
            }
            var encoder = try ONNXSentenceEncoder(directory: directory, runtime: runtime, modelName: spec.displayName, options: options)
            if !encoder.providesTokenEmbeddings {
                // A graph built before it had the token output: rebuild it from the installed weights (a second),
                // as `aerie models install minilm --force` would.
                do {
                    let graph = directory.appendingPathComponent("model.onnx")
                    try SentenceTransformerGraph(directory: directory).model().serialized().write(to: graph, options: .atomic)
                } catch {
                    throw AerieError(.unavailable,
                        "\(directory.path)/model.onnx has no token_embeddings output and could not be rebuilt (\(error)); "
                            + "run `aerie models install minilm --force` with the same --data directory, or choose the native backend.")
                }
                encoder = try ONNXSentenceEncoder(directory: directory, runtime: runtime, modelName: spec.displayName, options: options)
            }
            return encoder
        }
    }

    /// Loads the installed MiniLM with the ``preferred`` backend, or, when only that backend's extra files
    /// (the ONNX Runtime library, `model.onnx`) are missing or unloadable, with ``native`` after logging a
    /// notice that says how to install them. A missing model itself still throws.
    ///
    /// Returns the embedder and the backend that serves it.
    public static func loadPreferred(
        store: ModelStore, spec: ModelSpec = .minilm, options: ONNXSession.Options = .init(), logger: Logger? = nil
    ) throws -> (embedder: any SentenceEmbedder, backend: SentenceEmbedderBackend) {
        _ = try store.requireModel(spec)
        do {
            return (try preferred.load(store: store, spec: spec, options: options), preferred)
        } catch let error as AerieError where preferred != .native && [.notFound, .unavailable].contains(error.code) {
            logger?.notice(
                "Sentence embeddings fall back to the native backend (slower): \(error.message)",
                metadata: ["backend": "\(SentenceEmbedderBackend.native.rawValue)"])
            return (try SentenceEmbedderBackend.native.load(store: store, spec: spec, options: options), .native)
        }
    }
}

/// MiniLM sentence embeddings computed by ONNX Runtime on `model.onnx`, a graph of the same weights
/// with pooling and normalisation inside (inputs `input_ids`, `attention_mask`; outputs `sentence_embedding` and the
/// last layer's `token_embeddings`).
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
                "\(graph.path) is missing (the model was installed before the install built it). "
                    + "Run `aerie models install minilm` with the same --data directory to build it from the installed weights.")
        }
        self.modelName = modelName
        self.dimensions = configuration.hiddenSize
        self.tokenizer = try SentenceEncoder.tokenizer(in: directory, configuration: configuration)
        self.session = try ONNXSession(runtime: runtime, modelPath: graph.path, options: options)
    }

    /// Whether the graph has the `token_embeddings` output (graphs built before it existed have not;
    /// ``SentenceEmbedderBackend/load(store:spec:options:)`` rebuilds them).
    public var providesTokenEmbeddings: Bool { session.outputNames.contains("token_embeddings") }

    public func embedTokens(_ texts: [String]) throws -> [TokenEmbeddings] {
        guard !texts.isEmpty else { return [] }
        guard providesTokenEmbeddings else {
            throw AerieError(.unavailable, "model.onnx has no token_embeddings output; rebuild it with `aerie models install minilm --force`.")
        }
        let (batch, output) = try run(texts, output: "token_embeddings")
        guard let output, let values = output.floats, output.shape == [batch.count, batch.length, dimensions] else {
            throw AerieError(.internal, "model.onnx returned no [\(batch.count), \(batch.length), \(dimensions)] token_embeddings; rebuild it with `aerie models install minilm --force`.")
        }
        let width = batch.length * dimensions
        return values.withUnsafeBufferPointer { states in
            (0..<batch.count).map { row in
                TokenEmbeddings(states: UnsafeBufferPointer(rebasing: states[(row * width)..<((row + 1) * width)]),
                                length: batch.lengths[row], dimensions: dimensions,
                                pieces: tokenizer.innerPieces(batch.ids[(row * batch.length)..<(row * batch.length + batch.lengths[row])]))
            }
        }
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let (batch, output) = try run(texts, output: "sentence_embedding")
        guard let output, let values = output.floats, output.shape == [batch.count, dimensions] else {
            throw AerieError(.internal, "model.onnx returned no [\(batch.count), \(dimensions)] sentence_embedding; rebuild it with `aerie models install minilm --force`.")
        }
        return (0..<batch.count).map { Array(values[$0 * dimensions..<($0 + 1) * dimensions]) }
    }

    /// Tokenizes `texts` as one padded batch and runs the graph for one output.
    private func run(_ texts: [String], output name: String) throws -> (batch: WordPieceTokenizer.Batch, output: ONNXTensor?) {
        let batch = tokenizer.encode(batch: texts)
        let shape = [batch.count, batch.length]
        let outputs = try session.run(
            [
                "input_ids": ONNXTensor(shape: shape, int64: batch.ids.map(Int64.init)),
                "attention_mask": ONNXTensor(shape: shape, int64: batch.attentionMask.map(Int64.init)),
            ], outputs: [name])
        return (batch, outputs[name])
    }
}

import AerieCore
import AerieModels
import AerieONNX
import Foundation

/// The installed image classifier (`aerie models install classifier`: EfficientNet-Lite0 on ImageNet-1k) run by
/// ONNX Runtime: RGB8 pixels in, the most likely labels with their softmax probabilities out.
///
/// It takes decoded pixels, not image files: decoding belongs to the image module. One classifier can be
/// shared; ONNX Runtime runs concurrent calls on one session.
public struct ImageClassifier: Sendable {
    public struct Options: Sendable, Equatable {
        /// Threads inside one operator. One by default: a server classifies many images at once, one a core,
        /// which beats several cores on one small image.
        public var intraOpThreads: Int

        public init(intraOpThreads: Int = 1) {
            self.intraOpThreads = intraOpThreads
        }
    }

    /// The class labels in the model's output order.
    public let labels: [String]
    public let preprocessor: ImagePreprocessor
    let session: ONNXSession

    /// The classifier installed in `store`, on the ONNX Runtime installed there. A missing model or runtime
    /// throws `not-found` naming the command that installs it.
    public init(store: ModelStore, spec: ModelSpec = .classifier, options: Options = Options()) throws {
        let directory = try store.requireModel(spec)
        let runtime: ONNXRuntime
        do {
            runtime = try ONNXRuntime(installedIn: store)
        } catch let error as AerieError where error.code == .notFound {
            throw AerieError.notFound(
                "The image classifier runs on ONNX Runtime, which is not installed in \(store.root.path). "
                    + "Run `aerie models install onnxruntime` with the same --data directory first.")
        }
        try self.init(directory: directory, runtime: runtime, options: options)
    }

    /// The classifier in `directory` (`model.onnx` and `labels.txt`, as the install writes them).
    public init(directory: URL, runtime: ONNXRuntime, options: Options = Options(), preprocessor: ImagePreprocessor = ImagePreprocessor()) throws {
        let graph = directory.appendingPathComponent("model.onnx")
        let labelsFile = directory.appendingPathComponent("labels.txt")
        for file in [graph, labelsFile] where !FileManager.default.fileExists(atPath: file.path) {
            throw AerieError.notFound(
                "\(file.path) is missing; run `aerie models install classifier --force` with the same --data directory to rebuild it.")
        }
        labels = try String(contentsOf: labelsFile, encoding: .utf8).split(separator: "\n").map(String.init)
        self.preprocessor = preprocessor
        session = try ONNXSession(
            runtime: runtime, modelPath: graph.path,
            options: ONNXSession.Options(intraOpThreads: options.intraOpThreads, interOpThreads: 1))
        guard session.inputNames == ["pixels"], session.outputNames == ["logits"] else {
            throw AerieError.invalid(
                "\(graph.path) is not the classifier's graph (inputs \(session.inputNames), outputs \(session.outputNames)); "
                    + "run `aerie models install classifier --force`.")
        }
    }

    /// The `top` most likely classes of an image of interleaved RGB8 pixels (3 bytes a pixel, rows top to
    /// bottom), best first. Throws when the buffer does not hold `width × height` pixels.
    public func classify(pixels: [UInt8], width: Int, height: Int, top: Int = 3) throws -> [ClassLabel] {
        guard top > 0 else { throw AerieError.invalid("top must be at least 1, not \(top).", field: "top") }
        let input = try preprocessor.tensor(pixels: pixels, width: width, height: height)
        return ranked(probabilities: Self.softmax(try logits(input: input)), top: top)
    }

    /// The network's raw scores (one per class) for a preprocessed `[1, 3, size, size]` input (see ``ImagePreprocessor``).
    public func logits(input: [Float]) throws -> [Float] {
        let size = preprocessor.size
        let outputs = try session.run(["pixels": ONNXTensor(shape: [1, 3, size, size], float32: input)])
        guard let logits = outputs["logits"]?.floats, logits.count == labels.count else {
            throw AerieError(
                .internal,
                "The classifier's graph gives \(outputs["logits"]?.shape ?? []) scores for \(labels.count) labels; run `aerie models install classifier --force`.")
        }
        return logits
    }

    /// The probabilities of `logits` (a numerically stable softmax, in Double).
    public static func softmax(_ logits: [Float]) -> [Float] {
        guard let largest = logits.max() else { return [] }
        let exponentials = logits.map { exp(Double($0 - largest)) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { Float($0 / sum) }
    }

    /// The `top` classes by probability, best first (ties by class index).
    func ranked(probabilities: [Float], top: Int) -> [ClassLabel] {
        probabilities.indices
            .sorted { probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : $0 < $1 }
            .prefix(top)
            .map { ClassLabel(label: labels[$0], index: $0, score: probabilities[$0]) }
    }
}

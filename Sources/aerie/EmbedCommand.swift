import AerieCore
import AerieModels
import AerieText
import ArgumentParser
import Foundation
import Logging

/// `aerie embed "TEXT"`: a sentence embedding computed in process with the installed MiniLM model.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the all-MiniLM-L6-v2 sentence embedding of a text.",
        discussion: """
            Needs the model: aerie models install minilm
              aerie embed "A man is eating food." --json
            """
    )

    @Argument(help: "The text to embed.")
    var text: String

    @Flag(help: #"Print {"model": …, "dimensions": 384, "embedding": […]} as JSON."#)
    var json = false

    @Option(
        help: """
            native (Swift on OpenBLAS) or onnx (ONNX Runtime; needs `aerie models install onnxruntime` and the model.onnx \
            that `aerie models install minilm` builds). Default: onnx, falling back to native with a notice when it is not installed.
            """)
    var backend: String?

    @OptionGroup var data: DataOptions

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let store = ModelStore(dataDirectory: data.directory)
        let encoder: any SentenceEmbedder
        if let backend {
            guard let chosen = SentenceEmbedderBackend(rawValue: backend) else {
                throw AerieError.invalid("Unknown backend \(backend); use native or onnx.", field: "backend")
            }
            encoder = try chosen.load(store: store)
        } else {
            // On standard error, so that --json output stays clean.
            var logger = Logger(label: "aerie.embed") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .notice
            encoder = try SentenceEmbedderBackend.loadPreferred(store: store, logger: logger).embedder
        }
        let loaded = clock.now
        let tokens = encoder.tokenizer.encode(text).count
        let embedding = try encoder.embed([text])[0]
        let done = clock.now
        if json {
            let numbers = embedding.map { "\($0)" }.joined(separator: ", ")
            print(#"{"model": "\#(encoder.modelName)", "dimensions": \#(embedding.count), "embedding": [\#(numbers)]}"#)
        } else {
            let head = embedding.prefix(4).map { String(format: "%.4f", $0) }.joined(separator: ", ")
            print("\(encoder.modelName): \(embedding.count) dimensions, \(tokens) tokens, unit length")
            print("[\(head), …]")
            print("loaded in \(Self.milliseconds(loaded - start)), embedded in \(Self.milliseconds(done - loaded))")
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
}

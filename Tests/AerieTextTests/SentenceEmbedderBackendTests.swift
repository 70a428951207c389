import AerieCore
import AerieModels
import AerieText
import Foundation
import Logging
import Testing

@Suite struct SentenceEmbedderBackendTests {
    /// A data directory whose only model is a link to the installed MiniLM (no ONNX Runtime).
    static func storeWithoutRuntime() throws -> (store: ModelStore, data: URL) {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-noort-\(UUID().uuidString)")
        let store = ModelStore(dataDirectory: data)
        try FileManager.default.createDirectory(at: store.root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: store.directory(for: "minilm"), withDestinationURL: InstalledModel.minilmDirectory())
        return (store, data)
    }

    @Test func theDefaultIsTheFasterBackendOfTheBenchmark() {
        // bench/results/neural.md: ONNX Runtime 4.2 ms per sentence against 8.9 ms native on one thread.
        #expect(SentenceEmbedderBackend.preferred == .onnxRuntime)
        #expect(SentenceEmbedderBackend(rawValue: "native") == .native)
        #expect(SentenceEmbedderBackend(rawValue: "onnx") == .onnxRuntime)
    }

    @Test func theDefaultLoadsONNXRuntimeWhenItIsInstalled() throws {
        _ = try InstalledModel.onnxEncoder()  // installs the runtime and builds model.onnx when missing
        let (embedder, backend) = try SentenceEmbedderBackend.loadPreferred(store: InstalledModel.store)
        #expect(backend == .onnxRuntime)
        #expect(embedder is ONNXSentenceEncoder)
    }

    @Test func choosingONNXWithoutTheRuntimeNamesTheInstallCommand() throws {
        let (store, data) = try Self.storeWithoutRuntime()
        defer { try? FileManager.default.removeItem(at: data) }
        let error = #expect(throws: AerieError.self) {
            try SentenceEmbedderBackend.onnxRuntime.load(store: store)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("aerie models install onnxruntime") == true)
        #expect(error?.message.contains("--backend native") == true)
    }

    @Test func theDefaultFallsBackToNativeWithANoticeWithoutTheRuntime() throws {
        let (store, data) = try Self.storeWithoutRuntime()
        defer { try? FileManager.default.removeItem(at: data) }
        let recorder = RecordingLogHandler.Records()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(records: recorder) }
        let (embedder, backend) = try SentenceEmbedderBackend.loadPreferred(store: store, logger: logger)
        #expect(backend == .native)
        #expect(embedder is SentenceEncoder)
        let notices = recorder.messages
        #expect(notices.count == 1)
        #expect(notices.first?.contains("aerie models install onnxruntime") == true)
        #expect(try embedder.embed(["A cat."]).first?.count == 384)
    }

    @Test func theDefaultStillThrowsWhenTheModelItselfIsMissing() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-empty-\(UUID().uuidString)")
        let error = #expect(throws: AerieError.self) {
            try SentenceEmbedderBackend.loadPreferred(store: ModelStore(dataDirectory: empty))
        }
        #expect(error?.message.contains("aerie models install minilm") == true)
    }
}

/// Collects the messages logged through it.
struct RecordingLogHandler: LogHandler {
    final class Records: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ message: String) { lock.withLock { stored.append(message) } }
        var messages: [String] { lock.withLock { stored } }
    }

    let records: Records
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.append(event.message.description)
    }
}

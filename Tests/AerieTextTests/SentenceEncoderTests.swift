import AerieCore
import AerieModels
import AerieONNX
import AerieText
import AerieTesting
import Foundation
import Testing

@Suite("MiniLM sentence encoder")
struct SentenceEncoderTests {
    struct Reference: Decodable {
        var model: String
        var sentences: [String]
        var embeddings: [[Float]]
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0
        var na: Float = 0
        var nb: Float = 0
        for (x, y) in zip(a, b) {
            dot += x * y
            na += x * x
            nb += y * y
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// scripts/minilm_reference.py (numpy, float32, Hugging Face tokenizer) wrote the fixture.
    @Test func matchesTheNumpyReference() throws {
        let encoder = try InstalledModel.encoder()
        let reference = try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: InstalledModel.fixture("minilm-reference.json")))
        #expect(reference.sentences.count >= 20)
        let embeddings = encoder.embed(reference.sentences)
        #expect(embeddings.count == reference.sentences.count)
        for (index, embedding) in embeddings.enumerated() {
            #expect(embedding.count == 384)
            let similarity = Self.cosine(embedding, reference.embeddings[index])
            #expect(similarity >= 0.9999, "\(reference.sentences[index].debugDescription): cosine \(similarity)")
        }
    }

    /// The ONNX Runtime backend (model.onnx built from the same safetensors) against the same reference.
    @Test func onnxBackendMatchesTheNumpyReference() throws {
        let encoder = try InstalledModel.onnxEncoder()
        let reference = try JSONDecoder().decode(
            Reference.self, from: Data(contentsOf: InstalledModel.fixture("minilm-reference.json")))
        let embeddings = try encoder.embed(reference.sentences)
        #expect(embeddings.count == reference.sentences.count)
        for (index, embedding) in embeddings.enumerated() {
            let similarity = Self.cosine(embedding, reference.embeddings[index])
            #expect(similarity >= 0.9999, "\(reference.sentences[index].debugDescription): cosine \(similarity)")
        }
        #expect(encoder.dimensions == 384)
        #expect(try encoder.embed([]).isEmpty)
    }

    /// The graph the installer builds in Swift (``SentenceTransformerGraph``), built afresh here next to links to
    /// the installed files, gives the native encoder's embeddings to 1e-4 in ONNX Runtime, padded batches included.
    @Test func swiftBuiltGraphMatchesTheNativeEncoder() throws {
        let installed = try InstalledModel.minilmDirectory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-minilm-graph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ModelSpec.minilm.files where !file.path.contains("/") {
            try FileManager.default.createSymbolicLink(
                at: directory.appendingPathComponent(file.path), withDestinationURL: installed.appendingPathComponent(file.path))
        }
        let model = try SentenceTransformerGraph(directory: directory).model()
        #expect(model.graph.inputs.map(\.name) == ["input_ids", "attention_mask"])
        #expect(model.graph.outputs.map(\.name) == ["sentence_embedding", "token_embeddings"])
        try model.serialized().write(to: directory.appendingPathComponent("model.onnx"))

        let runtime = try ONNXRuntime(libraryPath: SharedModels.onnxRuntimeLibrary().path)
        let onnx = try ONNXSentenceEncoder(directory: directory, runtime: runtime, options: .init(intraOpThreads: 1))
        let native = try InstalledModel.encoder()
        let sentences = [
            "A man is playing a guitar.",
            "The quick brown fox jumps over the lazy dog, twice, before breakfast on a Tuesday.",
            "",
            "Wo ist der Bahnhof?",
        ]
        let fromGraph = try onnx.embed(sentences)
        let fromNative = native.embed(sentences)
        #expect(fromGraph.count == sentences.count)
        for (index, (a, b)) in zip(fromGraph, fromNative).enumerated() {
            #expect(a.count == 384 && b.count == 384)
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference < 1e-4, "\(sentences[index].debugDescription): max difference \(difference)")
        }
    }

    /// A `model.onnx` built before the graph had its `token_embeddings` output (what earlier installs wrote) is rebuilt
    /// from the installed weights when the ONNX backend loads it, so the cache's token alignment works after an upgrade.
    @Test func loadingRebuildsAGraphWithoutTheTokenOutput() throws {
        let installed = try InstalledModel.minilmDirectory()
        let runtime = try SharedModels.onnxRuntimeLibrary().deletingLastPathComponent()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-minilm-upgrade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let store = ModelStore(dataDirectory: data)
        let directory = store.directory(for: ModelSpec.minilm.name)
        for file in ModelSpec.minilm.files {
            let target = directory.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: target, withDestinationURL: installed.appendingPathComponent(file.path))
        }
        try FileManager.default.copyItem(at: installed.appendingPathComponent(".aerie-model.json"), to: directory.appendingPathComponent(".aerie-model.json"))
        try FileManager.default.createSymbolicLink(at: store.directory(for: ModelSpec.onnxruntime.name), withDestinationURL: runtime)
        var old = try SentenceTransformerGraph(directory: installed).model()
        old.graph.outputs.removeAll { $0.name == "token_embeddings" }
        old.graph.nodes.removeAll { $0.outputs == ["token_embeddings"] }
        try old.serialized().write(to: directory.appendingPathComponent("model.onnx"))
        let before = try ONNXSentenceEncoder(directory: directory, runtime: ONNXRuntime(libraryPath: SharedModels.onnxRuntimeLibrary().path))
        #expect(!before.providesTokenEmbeddings)
        #expect(throws: AerieError.self) { try before.embedTokens(["a cat"]) }

        let loaded = try #require(try SentenceEmbedderBackend.onnxRuntime.load(store: store) as? ONNXSentenceEncoder)
        #expect(loaded.providesTokenEmbeddings)
        #expect(try loaded.embedTokens(["a cat"]).first?.count == 2)
    }

    @Test func onnxBackendWithoutItsGraphNamesTheInstallCommand() throws {
        _ = try InstalledModel.onnxEncoder()  // installs the runtime
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-minilm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try InstalledModel.minilmDirectory()
        for file in ["config.json", "vocab.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        let library = try SharedModels.onnxRuntimeLibrary()
        let error = #expect(throws: AerieError.self) {
            try ONNXSentenceEncoder(directory: directory, runtime: ONNXRuntime(libraryPath: library.path))
        }
        #expect(error?.message.contains("aerie models install minilm") == true)
    }

    @Test func embeddingsHaveUnitLengthAndDoNotDependOnTheBatch() throws {
        let encoder = try InstalledModel.encoder()
        let texts = ["A short one.", "A much longer sentence that has quite a few more tokens than the first one does.", ""]
        let batched = encoder.embed(texts)
        for (text, embedding) in zip(texts, batched) {
            let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
            #expect(Self.cosine(encoder.embed(text), embedding) > 0.99999)
        }
        #expect(encoder.dimensions == 384)
        #expect(encoder.modelName == "all-MiniLM-L6-v2")
    }

    @Test func paraphrasesAreCloserThanUnrelatedSentences() throws {
        let encoder = try InstalledModel.encoder()
        let pairs: [(String, String, String)] = [
            ("How do I reset my password?", "I forgot my password and need to change it.", "The weather is sunny at the beach today."),
            ("A man is playing a guitar.", "Someone is strumming a guitar.", "The stock market fell sharply on Tuesday."),
            ("The cat sleeps on the sofa.", "A kitten is napping on the couch.", "Quantum computers use qubits."),
            ("Where is the train station?", "How can I get to the railway station?", "I like chocolate ice cream."),
        ]
        for (anchor, paraphrase, unrelated) in pairs {
            let e = encoder.embed([anchor, paraphrase, unrelated])
            let close = Self.cosine(e[0], e[1])
            let far = Self.cosine(e[0], e[2])
            #expect(close > far + 0.2, "\(anchor): paraphrase \(close), unrelated \(far)")
        }
    }

    @Test func missingModelNamesTheInstallCommand() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-empty-\(UUID().uuidString)")
        let error = #expect(throws: (any Error).self) {
            try SentenceEncoder(store: ModelStore(dataDirectory: empty))
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("aerie models install minilm"))
    }
}

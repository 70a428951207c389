import AerieCore
import AerieML
import AerieTesting
import Foundation
import Testing

@testable import AerieText

@Suite("Prompt matcher: rules, token alignment and the learned scorer")
struct PromptMatcherTests {
    // MARK: Hard rules (no model)

    @Test("the rules refuse what similarity cannot see", arguments: [
        ("a sky with clouds", "a cloudless sky", "negation"),
        ("a bird that can fly", "a bird that cannot fly", "negation"),
        ("a street with cars", "a street without cars", "negation"),
        ("two swans on a lake", "a swan on a lake", "count"),
        ("a red car next to a blue truck", "a blue car beside a red truck", "colour"),
        ("a red umbrella", "a green umbrella", "colour"),
        ("a dog chasing a cat", "a cat chasing a dog", "order"),
        ("a white horse with a black saddle", "a black horse with a white saddle", "colour"),
        ("a mug on top of a book", "a book on top of a mug", "order"),
        ("a ball in front of a box", "a ball behind a box", "relation"),
        ("a lamp on top of a cabinet", "a lamp underneath a cabinet", "relation"),
        ("a jar on the top shelf", "a jar on the bottom shelf", "relation"),
        ("a door that is open", "a door that is closed", "attribute"),
        ("a locked door", "an unlocked door", "negation"),
        ("an inflated tyre", "a deflated tyre", "negation"),
    ])
    func vetoes(_ a: String, _ b: String, _ reason: String) {
        #expect(PromptGuard.veto(a, b) == reason)
        #expect(PromptGuard.veto(b, a) == reason)
    }

    @Test("the rules let through what the old guard refused: compounds, -less words, moved clauses, relations", arguments: [
        ("a black-and-white photo of a harbour", "a black and white photo of a harbour"),
        ("a cat without a tail", "a tailless cat"),
        ("a street market at dusk", "at dusk, a street market"),
        ("a cat sitting inside a box", "a cat sitting in a box"),
        ("pixel art of a castle, 8-bit", "an 8-bit pixel art castle"),
        ("a grey wolf", "a gray wolf"),
    ])
    func noVeto(_ a: String, _ b: String) {
        #expect(PromptGuard.veto(a, b) == nil)
        #expect(PromptGuard.veto(b, a) == nil)
    }

    @Test("differing words: what each prompt says outside their longest common subsequence")
    func differingWords() {
        #expect(PromptGuard.differingWords("a narrow bridge", "a wide bridge") == (["narrow"], ["wide"]))
        #expect(PromptGuard.differingWords("a cup of cocoa", "cup of hot cocoa") == ([], ["hot"]))
        #expect(PromptGuard.differingWords("a black-and-white cat", "a black and white cat") == ([], []))
    }

    @Test("word-class signals tell a one-sided difference from a changed word")
    func signals() {
        #expect(PromptGuard.signals("a cat in a box", "a cat inside a box").relation == .oneSided)
        #expect(PromptGuard.signals("a ball in front of a box", "a ball behind a box").relation == .both)
        #expect(PromptGuard.signals("a tall tree", "a tall tree").attribute == PromptGuard.Mismatch.none)
        #expect(PromptGuard.signals("a lake, watercolour", "a lake, anime").style == .both)
    }

    // MARK: Features and decisions on hand-made embeddings

    @Test("features: identical token sets align fully; a token without a partner lowers the minimum")
    func alignmentFeatures() throws {
        let x: [Float] = [1, 0, 0]
        let y: [Float] = [0, 1, 0]
        let z: [Float] = [0, 0, 1]
        let same = TokenEmbeddings(sentence: x, tokens: x + y)
        let names = PromptMatcher.featureNames
        let lexicon = try WordNet.system()
        let identical = PromptMatcher.features("a b", same, "a b", same, lexicon: lexicon)
        #expect(identical.count == names.count)
        #expect(identical[names.firstIndex(of: "cosine") ?? 0] == 1)
        #expect(identical[names.firstIndex(of: "align_min") ?? 0] == 1)
        let changed = PromptMatcher.features("a b", same, "a c", TokenEmbeddings(sentence: x, tokens: x + z), lexicon: lexicon)
        #expect(changed[names.firstIndex(of: "align_min") ?? 0] == 0)
        #expect(changed[names.firstIndex(of: "align_mean") ?? 0] == 0.5)
        let longer = PromptMatcher.features("a b", same, "a b c", TokenEmbeddings(sentence: x, tokens: x + y + z), lexicon: lexicon)
        #expect(abs(longer[names.firstIndex(of: "length_difference") ?? 0] - 1.0 / 3) < 1e-12)
        #expect(changed[names.firstIndex(of: "substitution") ?? 0] == 1 && changed[names.firstIndex(of: "differing_words") ?? 0] == 2)
        #expect(longer[names.firstIndex(of: "substitution") ?? 0] == 0 && longer[names.firstIndex(of: "differing_words") ?? 0] == 1)
    }

    @Test("word alignment: pieces merge into words, fillers are left out, a substitution is two words each other's best")
    func wordAlignment() throws {
        let x: [Float] = [1, 0, 0]
        let y: [Float] = [0, 1, 0]
        let z: [Float] = [0, 0.6, 0.8]
        // "a sail ##boat" / "a speed ##boat": the words "sailboat" and "speedboat" (mean of their pieces) against each other.
        let sail = TokenEmbeddings(sentence: x, tokens: x + y + x, pieces: ["a", "sail", "##boat"])
        let speed = TokenEmbeddings(sentence: x, tokens: x + z + x, pieces: ["a", "speed", "##boat"])
        #expect(PromptMatcher.words(sail).map(\.text) == ["a", "sailboat"])
        let alignment = PromptMatcher.wordAlignment(sail, speed)
        // (0.5, 0.5, 0) and (0.5, 0.3, 0.4), each of length √0.5: cosine 0.8; "a" is a filler.
        #expect(alignment.mutual && alignment.unaligned == 2)
        #expect(abs(alignment.minimum - 0.8) < 1e-6 && abs(alignment.mean - 0.8) < 1e-6 && abs(alignment.substitutionSimilarity - 0.8) < 1e-6)
        let same = PromptMatcher.wordAlignment(sail, sail)
        #expect(!same.mutual && same.minimum == 1 && same.mean == 1 && same.unaligned == 0)
        let names = PromptMatcher.featureNames
        let features = PromptMatcher.features("a sailboat", sail, "a speedboat", speed, lexicon: try WordNet.system())
        #expect(features[names.firstIndex(of: "mutual_substitution") ?? 0] == 1)
        #expect(features[names.firstIndex(of: "unaligned_words") ?? 0] == 2)
    }

    @Test("the methods: similarity alone, with the old guard, and learned (a rule veto needs no tokens)")
    func methods() throws {
        let model = try PromptMatcher.bundledModel()
        let vector = TokenEmbeddings(sentence: [1, 0], tokens: [1, 0])
        let similarity = try PromptMatcher(method: .similarity, threshold: 0.9, model: model, lexicon: nil)
        #expect(similarity.decide("a red car", vector, "a blue car", vector).isMatch)
        let guarded = try PromptMatcher(method: .guarded, threshold: 0.9, model: model, lexicon: nil)
        #expect(guarded.decide("a red car", vector, "a blue car", vector) == .init(isMatch: false, similarity: 1, veto: "colour"))
        #expect(throws: AerieError.self) { _ = try PromptMatcher(method: .learned, model: model, lexicon: nil) }
        let learned = try PromptMatcher(method: .learned, model: model, lexicon: WordNet.system())
        var asked = false
        let decision = learned.decide("a red car", "a blue car", similarity: 1) {
            asked = true
            return (vector, vector)
        }
        #expect(!decision.isMatch && decision.veto == "colour" && !asked)
        let far = learned.decide("a cat", "a ship", similarity: model.minimumSimilarity - 0.1) {
            asked = true
            return (vector, vector)
        }
        #expect(!far.isMatch && far.probability == nil && !asked)
        #expect(throws: AerieError.self) {
            var wrong = model
            wrong.features.removeLast()
            _ = try PromptMatcher(model: wrong, lexicon: WordNet.system())
        }
    }

    // MARK: Real MiniLM

    @Test("token embeddings: the sentence vector equals embed(), one unit row per piece between [CLS] and [SEP]")
    func tokenEmbeddings() throws {
        let encoder = try InstalledModel.encoder()
        let texts = ["a black-and-white photo of a harbour", "a cat", ""]
        let tokens = encoder.embedTokens(texts)
        let sentences = encoder.embed(texts)
        for (index, text) in texts.enumerated() {
            #expect(tokens[index].count == encoder.tokenizer.encode(text).count - 2)
            let difference = zip(tokens[index].sentence, sentences[index]).map { abs($0 - $1) }.max() ?? 1
            #expect(difference < 1e-5, "\(text): \(difference)")
            #expect(tokens[index].pieces.count == tokens[index].count)
            for row in 0..<tokens[index].count {
                let norm = tokens[index].token(row).reduce(0) { $0 + $1 * $1 }
                #expect(abs(norm - 1) < 1e-4)
            }
        }
    }

    @Test("the ONNX graph's token_embeddings give the native backend's token vectors")
    func onnxTokenEmbeddings() throws {
        let native = try InstalledModel.encoder()
        let onnx = try InstalledModel.onnxEncoder()
        let texts = ["a lighthouse on a rocky coast at dusk", "two swans"]
        for (a, b) in zip(native.embedTokens(texts), try onnx.embedTokens(texts)) {
            #expect(a.count == b.count)
            let difference = zip(a.tokens + a.sentence, b.tokens + b.sentence).map { abs($0 - $1) }.max() ?? 1
            #expect(difference < 1e-4, "\(difference)")
        }
    }

    @Test("with real MiniLM and the shipped weights: paraphrases of the issue's kinds match, hard negatives do not", arguments: [
        ("a photo of a cat sitting on a sofa", "a picture of a cat sitting on a couch", true),
        ("a black-and-white photo of a harbour", "a black and white photo of a harbour", true),
        ("a dog in a snowy field", "dog in snowy field", true),
        ("a colourful kite", "a colorful kite", true),
        ("a dog chasing a cat", "a cat chasing a dog", false),
        ("a cat sleeping on a rug", "a tiger sleeping on a rug", false),
        ("a bowl of ramen", "a red sports car on a mountain road", false),
    ])
    func realDecisions(_ a: String, _ b: String, _ match: Bool) throws {
        let encoder = try InstalledModel.encoder()
        let matcher = try PromptMatcher.bundled()
        let embeddings = encoder.embedTokens([a, b])
        let decision = matcher.decide(a, embeddings[0], b, embeddings[1])
        #expect(decision.isMatch == match, "\(a) / \(b): \(decision)")
        #expect(matcher.decide(b, embeddings[1], a, embeddings[0]).isMatch == match)
    }

    // MARK: The shipped weights and their training data

    /// `data/imagine/matcher-features.csv`, parsed: one row per pair (prompts, label, veto, features).
    static func trainingFeatures() throws -> [(a: String, b: String, veto: String, features: [Double])] {
        let url = RepositoryPaths.root.appendingPathComponent("data/imagine/matcher-features.csv")
        var rows: [(String, String, String, [Double])] = []
        var header: [String] = []
        try CSVReader().read(text: String(contentsOf: url, encoding: .utf8)) { fields, _ in
            if header.isEmpty {
                header = fields
                return
            }
            rows.append((fields[0], fields[1], fields[4], fields[5...].compactMap(Double.init)))
        }
        #expect(Array(header[5...]) == PromptMatcher.featureNames)
        return rows
    }

    @Test("the training features are what the Swift matcher computes now (every 7th pair, real MiniLM)")
    func trainingFeaturesAreCurrent() throws {
        let encoder = try InstalledModel.encoder()
        let rows = try Self.trainingFeatures()
        let lexicon = try WordNet.system()
        #expect(rows.count > 1_000)
        for row in stride(from: 0, to: rows.count, by: 7).map({ rows[$0] }) {
            let embeddings = encoder.embedTokens([row.a, row.b])
            let features = PromptMatcher.features(row.a, embeddings[0], row.b, embeddings[1], lexicon: lexicon)
            let difference = zip(features, row.features).map { abs($0 - $1) }.max() ?? 1
            #expect(row.features.count == features.count && difference < 1e-4, "\(row.a) / \(row.b): \(difference)")
            #expect((PromptGuard.veto(row.a, row.b) ?? "") == row.veto)
        }
    }

    @Test("retraining on the committed features reproduces the shipped weights (scripts/train_prompt_matcher.py)")
    func retrainingReproducesTheWeights() throws {
        let python = RepositoryPaths.root.appendingPathComponent(".venv/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "needs the repository's .venv (make venv)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-matcher-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = python
        process.arguments = [RepositoryPaths.root.appendingPathComponent("scripts/train_prompt_matcher.py").path, "--out", out.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let retrained = try JSONDecoder().decode(PromptMatcher.Model.self, from: Data(contentsOf: out))
        let shipped = try PromptMatcher.bundledModel()
        #expect(retrained.features == shipped.features)
        #expect(retrained.cut == shipped.cut && retrained.minimumSimilarity == shipped.minimumSimilarity)
        #expect(abs(retrained.bias - shipped.bias) <= 2e-6)
        #expect(zip(retrained.weights, shipped.weights).allSatisfy { abs($0 - $1) <= 2e-6 }, "\(retrained.weights) vs \(shipped.weights)")
    }
}

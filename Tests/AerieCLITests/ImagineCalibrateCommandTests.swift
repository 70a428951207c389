import AerieText
import Foundation
import Testing

@testable import aerie

/// Embeddings chosen by hand: each prompt maps to a 2-d unit vector at a given angle from "base".
struct FixedEmbedder: SentenceEmbedder {
    var modelName = "fixed"
    var dimensions = 2
    var tokenizer: WordPieceTokenizer
    var similarities: [String: Double]

    init(similarities: [String: Double]) throws {
        tokenizer = try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
        self.similarities = similarities
    }

    func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map { text in
            let cosine = similarities[text] ?? 1
            return [Float(cosine), Float((1 - cosine * cosine).squareRoot())]
        }
    }

    /// One token per prompt: the sentence vector.
    func embedTokens(_ texts: [String]) throws -> [TokenEmbeddings] {
        try embed(texts).map { TokenEmbeddings(sentence: $0, tokens: $0) }
    }
}

@Suite("aerie imagine calibrate")
struct ImagineCalibrateCommandTests {
    @Test func parsesQuotedPairsWithOptionalKind() throws {
        let pairs = try ImagineCalibrateCommand.parsePairs(
            text: "a,b,same,kind\n\"a cat, oil\",a cat in oil,1,paraphrase\nred car,blue car,0,colour\nx,y,true,\n", source: "t.csv")
        #expect(pairs.count == 3)
        #expect(pairs[0] == .init(a: "a cat, oil", b: "a cat in oil", same: true, kind: "paraphrase"))
        #expect(pairs[1].same == false)
        #expect(pairs[2].same == true)
    }

    @Test func rejectsAMissingColumnOrABadLabel() {
        #expect(throws: CLIError.self) { try ImagineCalibrateCommand.parsePairs(text: "a,b\nx,y\n", source: "t.csv") }
        #expect(throws: CLIError.self) { try ImagineCalibrateCommand.parsePairs(text: "a,b,same\nx,y,maybe\n", source: "t.csv") }
        #expect(throws: CLIError.self) { try ImagineCalibrateCommand.parsePairs(text: "a,b,same\n", source: "t.csv") }
    }

    @Test func scoresPairsByCosineAndGuardsThem() throws {
        let embedder = try FixedEmbedder(similarities: ["base": 1, "near": 0.95, "far": 0.5, "a red car": 1, "a blue car": 0.96])
        let calibration = try ImagineCalibrateCommand.score(
            [
                .init(a: "base", b: "near", same: true, kind: "paraphrase"),
                .init(a: "base", b: "far", same: false, kind: "subject"),
                .init(a: "a red car", b: "a blue car", same: false, kind: "colour"),
            ], embedder: embedder, matcher: PromptMatcher.bundled())
        let similarities = calibration.pairs.map(\.similarity)
        #expect(abs(similarities[0] - 0.95) < 1e-6)
        #expect(abs(similarities[1] - 0.5) < 1e-6)
        #expect(abs(similarities[2] - 0.96) < 1e-6)
        #expect(calibration.pairs.map(\.compatible) == [true, true, false])
        let plain = calibration.metrics(threshold: 0.9, guarded: false)
        #expect(plain.truePositives == 1 && plain.falsePositives == 1 && plain.trueNegatives == 1)
        #expect(plain.falseHitRate == 0.5)
        let guarded = calibration.metrics(threshold: 0.9, guarded: true)
        #expect(guarded.falsePositives == 0 && guarded.falseHitRate == 0 && guarded.precision == 1)
        let table = ImagineCalibrateCommand.table(calibration, rows: calibration.rows(), model: "fixed", source: "t.csv", threshold: 0.9)
        #expect(table.contains("false-hit rate 50.0% (1 of 2 different pairs hit)"))
        #expect(table.contains("false hits by kind: colour 1/1, subject 0/1"))
        let json = try ImagineCalibrateCommand.report(calibration, rows: calibration.rows(), model: "fixed", threshold: 0.9)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["pairs"] as? Int == 3)
        #expect((object["thresholds"] as? [Any])?.count == 30)
        // The learned method: the colour rule refuses the colour swap whatever the similarity.
        #expect(calibration.pairs[2].learned == false && calibration.pairs[2].veto == "colour")
        #expect(calibration.pairs[0].veto == nil && calibration.pairs[0].probability != nil)
        #expect(table.contains("Learned matcher"))
        #expect((object["learned"] as? [String: Any])?["true_negatives"] as? Int ?? 0 >= 1)
    }

    @Test func writesTheLearnedFeaturesOfEachPair() throws {
        let pairs: [ImagineCalibrateCommand.LabelledPair] = [
            .init(a: "base, oil", b: "near", same: true, kind: "paraphrase"), .init(a: "a red car", b: "a blue car", same: false, kind: "colour"),
        ]
        let embedder = try FixedEmbedder(similarities: ["base, oil": 1, "near": 0.95, "a red car": 1, "a blue car": 0.96])
        let csv = ImagineCalibrateCommand.featuresCSV(
            pairs, embeddings: try ImagineCalibrateCommand.embed(pairs, embedder: embedder), lexicon: try WordNet.system())
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == (["a", "b", "same", "kind", "veto"] + PromptMatcher.featureNames).joined(separator: ","))
        #expect(lines[1].hasPrefix("\"base, oil\",near,1,paraphrase,,0.950000,"))
        #expect(lines[2].hasPrefix("a red car,a blue car,0,colour,colour,0.960000,"))
        #expect(lines[2].split(separator: ",").count == 5 + PromptMatcher.featureNames.count)
    }
}

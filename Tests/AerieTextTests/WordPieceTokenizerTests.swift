import AerieModels
import AerieText
import Foundation
import Testing

@Suite("WordPiece tokenizer")
struct WordPieceTokenizerTests {
    /// A tiny vocabulary: ids are positions.
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "hello", "world", ",", "!", "un", "##aff", "##able", "cafe", "中", "the", "a", "##b",
    ]

    func tokenizer(maxLength: Int = 256) throws -> WordPieceTokenizer {
        var configuration = WordPieceTokenizer.Configuration()
        configuration.maxLength = maxLength
        return try WordPieceTokenizer(vocabulary: Self.vocabulary, configuration: configuration)
    }

    @Test func lowercasesSplitsPunctuationAndAddsSpecialTokens() throws {
        let t = try tokenizer()
        #expect(t.encode("Hello, WORLD!") == [2, 5, 7, 6, 8, 3])
        #expect(t.encode("") == [2, 3])
        #expect(t.encode("  \t\n ") == [2, 3])
    }

    @Test func greedyLongestMatchWithContinuations() throws {
        let t = try tokenizer()
        #expect(t.tokenize("unaffable") == [9, 10, 11])
        // One piece missing makes the whole word unknown.
        #expect(t.tokenize("unaffablex") == [1])
        #expect(t.tokenize("abbb") == [15, 16, 16, 16])
    }

    @Test func stripsAccentsAndControlCharacters() throws {
        let t = try tokenizer()
        #expect(t.tokenize("Café") == [12])
        #expect(t.tokenize("Cafe\u{0301}") == [12])
        #expect(t.tokenize("ca\u{200B}fe\u{0000}") == [12])
        #expect(t.tokenize("hello\u{00A0}world") == [5, 6])
    }

    @Test func isolatesCJKCharactersAndKeepsSpecialTokensTypedAsText() throws {
        let t = try tokenizer()
        #expect(t.tokenize("中中") == [13, 13])
        #expect(t.tokenize("hello[MASK]world [mask]") == [5, 4, 6, 1, 1, 1])
    }

    @Test func overlongWordsAreUnknown() throws {
        let t = try tokenizer()
        #expect(t.tokenize("a" + String(repeating: "b", count: 99)) == [15] + [Int32](repeating: 16, count: 99))
        #expect(t.tokenize("a" + String(repeating: "b", count: 100)) == [1])
    }

    @Test func truncatesToMaxLength() throws {
        let t = try tokenizer(maxLength: 5)
        #expect(t.encode("hello world hello world hello") == [2, 5, 6, 5, 3])
    }

    @Test func batchesArePaddedWithAttentionMasks() throws {
        let t = try tokenizer()
        let batch = t.encode(batch: ["hello world", "hello", ""])
        #expect(batch.length == 4)
        #expect(batch.lengths == [4, 3, 2])
        #expect(batch.ids == [2, 5, 6, 3, 2, 5, 3, 0, 2, 3, 0, 0])
        #expect(batch.attentionMask == [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0])
    }

    @Test func vocabularyWithoutSpecialTokensIsRefused() {
        #expect(throws: (any Error).self) { try WordPieceTokenizer(vocabulary: ["hello", "world"]) }
    }

    /// Every line of the fixture (scripts/make-tokenizer-fixture.py, Hugging Face `tokenizers`) matches.
    @Test func idsMatchHuggingFaceTokenizers() throws {
        let directory = try InstalledModel.minilmDirectory()
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
        let text = try String(contentsOf: InstalledModel.fixture("tokenizer-parity.jsonl"), encoding: .utf8)
        struct Line: Decodable {
            var text: String
            var ids: [Int32]
        }
        let lines = try text.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.count >= 1000)
        var mismatches = 0
        for line in lines {
            let ids = tokenizer.encode(line.text)
            if ids != line.ids {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("\(line.text.debugDescription): got \(ids), expected \(line.ids)")
                }
            }
        }
        #expect(mismatches == 0)
    }
}

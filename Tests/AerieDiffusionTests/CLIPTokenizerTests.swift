import AerieCore
import AerieDiffusion
import Foundation
import Testing

@Suite("CLIP tokenizer")
struct CLIPTokenizerTests {
    struct Case: Decodable {
        var text: String
        var ids: [Int32]
    }

    @Test func matchesTheReferenceOnVariedPrompts() throws {
        let tokenizer = try CLIPTokenizer(directory: DiffusionFixtures.tinyModel().appendingPathComponent("tokenizer"))
        let cases = try DiffusionFixtures.decode([Case].self, "tokenizer.json")
        #expect(cases.count >= 200)
        var mismatches: [String] = []
        for item in cases where tokenizer.encode(item.text) != item.ids {
            mismatches.append(item.text)
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) prompts differ, e.g. \(mismatches.prefix(3))")
    }

    @Test func knownIdsStartEndAndPadding() throws {
        let tokenizer = try CLIPTokenizer(directory: DiffusionFixtures.tinyModel().appendingPathComponent("tokenizer"))
        let ids = tokenizer.encode("a photograph of an astronaut riding a horse")
        #expect(Array(ids.prefix(10)) == [49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407])
        #expect(ids.count == 77)
        #expect(ids[10...].allSatisfy { $0 == 49407 })
        let long = tokenizer.encode(String(repeating: "word ", count: 200))
        #expect(long.count == 77 && long.last == 49407)
    }

    @Test func missingFilesAndBadPadTokenAreExplained() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = #expect(throws: AerieError.self) { try CLIPTokenizer(directory: empty) }
        #expect(missing?.message.contains("vocab.json") == true)
        let badPad = #expect(throws: AerieError.self) {
            try CLIPTokenizer(vocabulary: ["<|startoftext|>": 0, "<|endoftext|>": 1], merges: "", padToken: "!")
        }
        #expect(badPad?.message.contains("pad token") == true)
    }
}

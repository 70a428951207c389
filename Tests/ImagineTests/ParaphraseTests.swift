import AerieText
import Testing

@testable import Imagine

/// The prompt pairs the cache tests rely on, measured with the real MiniLM.
enum Prompts {
    static let cat = "a photo of a cat sitting on a sofa"
    static let catParaphrase = "a picture of a cat sitting on a couch"
    static let lighthouse = "a lighthouse on a rocky coast at sunset"
    static let lighthouseParaphrase = "a lighthouse on a rocky shore at sunset"
    static let unrelated = "a bowl of ramen with chopsticks"
    static let other = "a red sports car on a mountain road"
}

@Suite("Paraphrases with MiniLM")
struct ParaphraseTests {
    @Test("paraphrases used by the cache tests are at least 0.90 similar; unrelated prompts are not")
    func similarities() throws {
        let encoder = try TestModels.encoder()
        func similarity(_ a: String, _ b: String) -> Float {
            GenerationCoalescer.dot(encoder.embed(a), encoder.embed(b))
        }
        let cat = similarity(Prompts.cat, Prompts.catParaphrase)
        let lighthouse = similarity(Prompts.lighthouse, Prompts.lighthouseParaphrase)
        let unrelated = similarity(Prompts.cat, Prompts.unrelated)
        print("similarity cat/paraphrase=\(cat) lighthouse/paraphrase=\(lighthouse) cat/ramen=\(unrelated) cat/car=\(similarity(Prompts.cat, Prompts.other))")
        #expect(cat >= 0.90)
        #expect(lighthouse >= 0.90)
        #expect(unrelated < 0.5)
    }
}

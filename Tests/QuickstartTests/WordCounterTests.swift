import Testing
@testable import Quickstart

@Suite struct WordCounterTests {
    @Test func countsWordsCaseInsensitively() {
        let result = WordCounter.count("The cat and the hat. THE END!")
        #expect(result.total == 7)
        #expect(result.counts == ["the": 3, "cat": 1, "and": 1, "hat": 1, "end": 1])
    }

    @Test func digitsAreWordCharactersAndPunctuationSplits() {
        let result = WordCounter.count("route66, route-66; 3.14")
        #expect(result.counts == ["route66": 1, "route": 1, "66": 1, "3": 1, "14": 1])
        #expect(result.total == 5)
    }

    @Test func normalisesWithNFKC() {
        // U+FB01 (ﬁ ligature) becomes "fi"; full-width letters become ASCII; a combining accent composes.
        let result = WordCounter.count("\u{FB01}ne ＦＩＮＥ cafe\u{301} café")
        #expect(result.counts == ["fine": 2, "café": 2])
    }

    @Test func nonLatinScriptsAndEmptyText() {
        #expect(WordCounter.count("Γειά σου κόσμε").total == 3)
        #expect(WordCounter.count("  \n\t ").total == 0)
        #expect(WordCounter.count("").counts.isEmpty)
        #expect(WordCounter.count("🙂 hi 🙂").counts == ["hi": 1])
    }

    @Test func chunkBoundariesDoNotSplitWords() {
        var counter = WordCounter()
        counter.feed("hel")
        counter.feed("lo wor")
        counter.feed("ld")
        counter.finish()
        #expect(counter.counts == ["hello": 1, "world": 1])
        #expect(counter.total == 2)
    }

    @Test func totalIsTheSumOfCounts() {
        let result = WordCounter.count("a b a c a b — d'e")
        #expect(result.total == result.counts.values.reduce(0, +))
    }
}

import AerieCore
import Foundation
import Testing

@testable import AerieText

/// WordNet as Debian's `wordnet-base` installs it (scripts/install-deps.sh), and the signals the matcher takes from it.
@Suite("WordNet: lookups in Debian's WordNet 3.0 and the matcher's lexical signals")
struct WordNetTests {
    @Test("relations between words, through inflections, clusters and hypernyms", arguments: [
        ("sofa", "couch", WordNet.Relation.synonym),
        ("grey", "gray", .synonym),
        ("jumper", "sweater", .synonym),
        ("narrow", "wide", .antonym),
        ("translucent", "opaque", .antonym),  // translucent is a satellite of transparent
        ("departing", "arriving", .antonym),  // to depart is a way to leave, the opposite of to arrive
        ("huge", "large", .similar),
        ("stallion", "horse", .hypernym),
        ("puppies", "dog", .hypernym),
        ("gnawing", "chewing", .hypernym),  // to gnaw is a manner of chewing
        ("reading", "writing", .sibling),  // as nouns, two kinds of one activity; neither verb is a manner of the other
        ("violin", "cello", .sibling),
        ("qwxzt", "cat", .unknown),
    ])
    func relations(_ a: String, _ b: String, _ relation: WordNet.Relation) throws {
        let wordnet = try WordNet.system()
        #expect(wordnet.relation(a, b) == relation)
        #expect(wordnet.relation(b, a) == relation)
    }

    @Test("base forms: plurals, irregular forms from the exception lists, collocations with an inflected first word")
    func baseForms() throws {
        let wordnet = try WordNet.system()
        #expect(!wordnet.senses("puppy").isEmpty && Set(wordnet.senses("puppy")).isSubset(of: Set(wordnet.senses("puppies"))))
        #expect(Set(wordnet.senses("run")).isSubset(of: Set(wordnet.senses("ran").filter { $0.partOfSpeech == .verb }).union(wordnet.senses("run"))))
        #expect(wordnet.senses("ran").contains { $0.partOfSpeech == .verb })
        #expect(!wordnet.senses("trash can").isEmpty)
        #expect(Set(wordnet.senses("take off")).isSubset(of: Set(wordnet.senses("taking off"))))
        #expect(wordnet.senses("zzzz").isEmpty)
    }

    @Test("the index search finds the first, the last and middle lines, and no prefix of a longer lemma")
    func indexSearch() {
        let file = Data("  1 licence line\n  2 licence line\napple n 1\ncat n 2\ncattle n 3\ndog n 4\nzebra n 5\n".utf8)
        #expect(WordNet.findLine(in: file, key: Array("apple".utf8)) == "apple n 1")
        #expect(WordNet.findLine(in: file, key: Array("cat".utf8)) == "cat n 2")
        #expect(WordNet.findLine(in: file, key: Array("cattle".utf8)) == "cattle n 3")
        #expect(WordNet.findLine(in: file, key: Array("zebra".utf8)) == "zebra n 5")
        #expect(WordNet.findLine(in: file, key: Array("ca".utf8)) == nil)
        #expect(WordNet.findLine(in: file, key: Array("cow".utf8)) == nil)
        #expect(WordNet.findLine(in: file, key: Array("zz".utf8)) == nil)
        #expect(WordNet.findLine(in: Data(), key: Array("a".utf8)) == nil)
    }

    @Test("a folder without WordNet is a clear error naming the Debian package")
    func missingFolder() {
        do {
            _ = try WordNet(folder: "/nonexistent/wordnet")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("wordnet-base"))
        }
        #expect(throws: AerieError.self) { _ = try WordNet.system(environment: ["AERIE_WORDNET": "/nonexistent/wordnet"]) }
    }

    @Test("lexical signals: opposites, synonyms that cover every one-sided word, hyphenated words by their parts, particles")
    func lexicalSignals() throws {
        let wordnet = try WordNet.system()
        let opposite = PromptMatcher.lexicalSignals("a fast-moving river in a canyon", "a slow-moving river in a canyon", lexicon: wordnet)
        #expect(opposite.antonym && opposite.covered == 0)
        // A verb and its particle are one term when WordNet knows them as one: switch_on / switch_off.
        let particle = PromptMatcher.lexicalSignals("a radio switched on", "a radio switched off", lexicon: wordnet)
        #expect(particle.antonym)
        let synonyms = PromptMatcher.lexicalSignals("a sofa in a hallway", "a couch in a hallway", lexicon: wordnet)
        #expect(!synonyms.antonym && synonyms.covered == 1 && synonyms.unknown == 0)
        let same = PromptMatcher.lexicalSignals("a cat on a mat", "the cat on the mat", lexicon: wordnet)
        #expect(same.values == [0, 1, 0, 0, 0])
        let kinds = PromptMatcher.lexicalSignals("a violin on a chair", "a cello on a chair", lexicon: wordnet)
        #expect(kinds.sibling && !kinds.antonym && kinds.covered == 0)
        let unknown = PromptMatcher.lexicalSignals("a qwxzt on a chair", "a cat on a chair", lexicon: wordnet)
        #expect(unknown.unknown == 0.5)
    }
}

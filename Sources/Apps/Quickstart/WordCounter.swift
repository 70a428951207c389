import Foundation

/// Counts words the way the Quickstart app defines them: the text is NFKC-normalised and lower-cased,
/// and a word is a maximal run of letters and digits.
///
/// A character (grapheme cluster) counts as a letter or digit when its first scalar is a letter (any `L*`
/// category) or a decimal digit (`Nd`); combining marks therefore stay inside the word they belong to
/// ("naïve" written with a combining diaeresis, Devanagari vowel signs), which is what a reader means by a word.
public struct WordCounter: Sendable {
    public private(set) var counts: [String: Int] = [:]
    public private(set) var total = 0
    /// A word cut by a chunk boundary waits here for the next chunk.
    private var pending = ""

    public init() {}

    /// Counts the words of a whole text.
    public static func count(_ text: String) -> (total: Int, counts: [String: Int]) {
        var counter = WordCounter()
        counter.feed(text)
        counter.finish()
        return (counter.total, counter.counts)
    }

    /// Adds a chunk of text. Chunks must be split at character boundaries (any `String` slice is).
    public mutating func feed(_ chunk: some StringProtocol) {
        let normalized = String(chunk).precomposedStringWithCompatibilityMapping.lowercased()
        var word = pending
        pending = ""
        for character in normalized {
            if Self.isWordCharacter(character) {
                word.append(character)
            } else if !word.isEmpty {
                add(word)
                word = ""
            }
        }
        pending = word
    }

    /// Counts the word still pending at the end of the text.
    public mutating func finish() {
        if !pending.isEmpty {
            add(pending)
            pending = ""
        }
    }

    private mutating func add(_ word: String) {
        counts[word, default: 0] += 1
        total += 1
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }
}

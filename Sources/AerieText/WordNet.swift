import AerieCore
import Foundation

/// Princeton WordNet 3.0 as Debian's `wordnet-base` installs it (`/usr/share/wordnet`): which senses two English words
/// share, and whether they are opposites, one a kind of the other, or two kinds of one thing.
///
/// ``PromptMatcher`` asks it about the words one prompt writes and the other does not: MiniLM puts "opaque" as close to
/// "transparent" as "scared" to "frightened", while WordNet records the first pair as antonyms and the second as one
/// sense. Lookups read the files in place (memory-mapped): the sorted `index.<pos>` files by binary search (WordNet's
/// own `bin_search`), a synset at its byte offset in `data.<pos>`, inflections through `<pos>.exc` and the detachment
/// rules of WordNet's `morphy`. Nothing is loaded up front but the exception lists (about 6,000 lines).
public final class WordNet: Sendable {
    /// A part of speech, as the files name it.
    public enum PartOfSpeech: String, Sendable, CaseIterable {
        case noun, verb, adj, adv

        init?(symbol: Substring) {
            switch symbol {
            case "n": self = .noun
            case "v": self = .verb
            case "a", "s": self = .adj
            case "r": self = .adv
            default: return nil
            }
        }
    }

    /// One sense: a part of speech and the synset's byte offset in its data file.
    public struct Sense: Sendable, Hashable {
        public var partOfSpeech: PartOfSpeech
        public var offset: Int
    }

    /// What ``relation(_:_:)`` needs of one word, looked up once: a word met in several pairs is read once.
    public struct Entry: Sendable {
        /// Every sense of the word (``senses(_:)``); empty for a word WordNet does not know.
        public let senses: [Sense]
        /// The senses whose opposites count for the word: its senses, an adjective's cluster head, the hypernyms up to
        /// two steps and a verb's group (`$`).
        let near: Set<Sense>
        /// The antonyms (`!`) of ``near``.
        let opposites: Set<Sense>
        /// The cluster heads of its adjective senses.
        let clusterHeads: Set<Sense>
        /// Each noun sense with its hypernyms up to three steps, each verb sense with its hypernyms up to two, with
        /// their distance.
        let kinds: [(sense: Sense, above: [Sense: Int])]

        public var isKnown: Bool { !senses.isEmpty }
    }

    /// How two words relate, strongest first (the order ``relation(_:_:)`` tests them in).
    public enum Relation: String, Sendable {
        /// A sense in common ("sofa" / "couch", "grey" / "gray").
        case synonym
        /// Opposites: directly ("wide" / "narrow"), through the adjective cluster each belongs to ("translucent" /
        /// "opaque": translucent is a satellite of transparent), or through a sense at most two steps above, or in the
        /// same verb group ("departing" / "arriving": to depart is a way to leave, the opposite of to arrive).
        case antonym
        /// Adjectives in one cluster ("huge" / "large").
        case similar
        /// One noun is a kind of the other, up to three steps ("stallion" / "horse"), or one verb a manner of the other,
        /// up to two ("gnaw" / "chew").
        case hypernym
        /// Two nouns are kinds of one thing, each at most two steps below it ("violin" / "cello").
        case sibling
        /// Both known, none of the above.
        case unrelated
        /// At least one word is not in WordNet.
        case unknown
    }

    struct Synset {
        var isSatellite: Bool
        var pointers: [(symbol: Substring, target: Sense)]
    }

    private let index: [PartOfSpeech: Data]
    private let data: [PartOfSpeech: Data]
    private let exceptions: [PartOfSpeech: [String: [String]]]

    /// Where Debian installs it; `AERIE_WORDNET` names another folder with the same files.
    public static let defaultFolder = "/usr/share/wordnet"

    public init(folder: String) throws {
        var index: [PartOfSpeech: Data] = [:]
        var data: [PartOfSpeech: Data] = [:]
        var exceptions: [PartOfSpeech: [String: [String]]] = [:]
        for pos in PartOfSpeech.allCases {
            let base = URL(fileURLWithPath: folder)
            do {
                index[pos] = try Data(contentsOf: base.appendingPathComponent("index.\(pos.rawValue)"), options: .alwaysMapped)
                data[pos] = try Data(contentsOf: base.appendingPathComponent("data.\(pos.rawValue)"), options: .alwaysMapped)
            } catch {
                throw AerieError(.unavailable,
                                 "WordNet 3.0 was not found in \(folder) (no index.\(pos.rawValue) or data.\(pos.rawValue)). Imagine's prompt "
                                     + "matcher needs it: install Debian's wordnet-base (apt-get install wordnet-base) or set AERIE_WORDNET "
                                     + "to a folder holding WordNet's dict files.")
            }
            var table: [String: [String]] = [:]
            let text = (try? String(contentsOf: base.appendingPathComponent("\(pos.rawValue).exc"), encoding: .isoLatin1)) ?? ""
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count > 1 else { continue }
                table[String(fields[0]), default: []].append(contentsOf: fields.dropFirst().map(String.init))
            }
            exceptions[pos] = table
        }
        self.index = index
        self.data = data
        self.exceptions = exceptions
    }

    /// The WordNet at `AERIE_WORDNET`, else Debian's.
    public static func system(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> WordNet {
        try WordNet(folder: environment["AERIE_WORDNET"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultFolder)
    }

    // MARK: Lookups

    /// Every sense of `word` in every part of speech, through its base forms ("puppies" → "puppy", "ran" → "run").
    /// Spaces and hyphens of a compound are tried as WordNet writes collocations ("trash can" → "trash_can").
    public func senses(_ word: String) -> [Sense] {
        let key = word.lowercased().replacingOccurrences(of: " ", with: "_")
        var found: [Sense] = []
        for candidate in key.contains("-") ? [key, key.replacingOccurrences(of: "-", with: "_"), key.replacingOccurrences(of: "-", with: "")] : [key] {
            for pos in PartOfSpeech.allCases {
                for lemma in baseForms(candidate, pos) {
                    for sense in lemmaSenses(lemma, pos) where !found.contains(sense) { found.append(sense) }
                }
            }
        }
        return found
    }

    /// What ``relation(_:_:)`` needs of `word`.
    public func entry(_ word: String) -> Entry {
        let senses = senses(word)
        var near = Set(senses)
        var clusterHeads = Set<Sense>()
        var kinds: [(sense: Sense, above: [Sense: Int])] = []
        for sense in senses {
            let synset = synset(sense)
            switch sense.partOfSpeech {
            case .adj: clusterHeads.insert(clusterHead(sense, synset))
            // A noun may be a kind of another up to three steps; a verb a manner of another up to two ("gnaw" /
            // "chew", "jog" / "run"): the verb hierarchy is shallower and looser ("land" lies three steps below "take").
            case .noun: kinds.append((sense, ancestors(sense, depth: 3)))
            case .verb: kinds.append((sense, ancestors(sense, depth: 2)))
            case .adv: break
            }
            for pointer in synset?.pointers ?? [] where pointer.symbol == "$" { near.insert(pointer.target) }
        }
        near.formUnion(clusterHeads)
        for kind in kinds { near.formUnion(kind.above.filter { $0.value <= 2 }.keys) }
        let opposites = Set(near.flatMap { sense in (synset(sense)?.pointers ?? []).filter { $0.symbol == "!" }.map(\.target) })
        return Entry(senses: senses, near: near, opposites: opposites, clusterHeads: clusterHeads, kinds: kinds)
    }

    /// How `a` and `b` relate (see ``Relation``).
    public func relation(_ a: String, _ b: String) -> Relation {
        relation(entry(a), entry(b))
    }

    /// How the words of two entries relate.
    public func relation(_ left: Entry, _ right: Entry) -> Relation {
        guard left.isKnown, right.isKnown else { return .unknown }
        let rightSenses = Set(right.senses)
        if left.senses.contains(where: rightSenses.contains) { return .synonym }
        if !left.opposites.isDisjoint(with: right.near) || !right.opposites.isDisjoint(with: left.near) { return .antonym }
        if !left.clusterHeads.isDisjoint(with: right.clusterHeads) { return .similar }
        if left.kinds.contains(where: { kind in right.kinds.contains { kind.above[$0.sense] != nil } })
            || right.kinds.contains(where: { kind in left.kinds.contains { kind.above[$0.sense] != nil } }) {
            return .hypernym
        }
        // Siblings are asked of nouns only.
        let rightNouns = right.kinds.filter { $0.sense.partOfSpeech == .noun }
        for kind in left.kinds where kind.sense.partOfSpeech == .noun {
            for other in rightNouns where kind.above.contains(where: { $0.value <= 2 && (other.above[$0.key] ?? 3) <= 2 }) {
                return .sibling
            }
        }
        return .unrelated
    }

    // MARK: Files

    /// The forms `morphy` would look up: the exceptions, the word, and the word with each inflection rule undone; a
    /// collocation inflects its first word ("taking_off" → "take_off").
    private func baseForms(_ word: String, _ pos: PartOfSpeech) -> [String] {
        if let split = word.firstIndex(of: "_"), split != word.startIndex {
            let rest = word[split...]
            return [word] + baseForms(String(word[..<split]), pos).filter { $0 != String(word[..<split]) }.map { $0 + rest }
        }
        var forms = exceptions[pos]?[word] ?? []
        forms.append(word)
        let rules: [(String, String)] = switch pos {
        case .noun: [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y")]
        case .verb: [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")]
        case .adj: [("er", ""), ("est", ""), ("er", "e"), ("est", "e")]
        case .adv: []
        }
        for (suffix, ending) in rules where word.hasSuffix(suffix) && word.count > suffix.count {
            forms.append(String(word.dropLast(suffix.count)) + ending)
        }
        var unique: [String] = []
        for form in forms where !unique.contains(form) { unique.append(form) }
        return unique
    }

    /// The senses `index.<pos>` lists for a lemma (an index line: lemma, pos, synset count, pointer count, the pointer
    /// symbols, sense count, tagsense count, then the synset offsets).
    private func lemmaSenses(_ lemma: String, _ pos: PartOfSpeech) -> [Sense] {
        guard let file = index[pos], let line = Self.findLine(in: file, key: Array(lemma.utf8)) else { return [] }
        let fields = line.split(separator: " ")
        guard fields.count > 4, let synsets = Int(fields[2]), let pointers = Int(fields[3]) else { return [] }
        let first = 4 + pointers + 2
        guard fields.count >= first + synsets else { return [] }
        return fields[first..<(first + synsets)].compactMap { Int($0).map { Sense(partOfSpeech: pos, offset: $0) } }
    }

    /// The line of a sorted index file that starts with `key` and a space: binary search on byte offsets, each probe
    /// moved to the start of the next line (as WordNet's `bin_search`). Lines of the licence header start with spaces
    /// and sort first.
    static func findLine(in file: Data, key: [UInt8]) -> Substring? {
        file.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Substring? in
            let space = UInt8(ascii: " ")
            let newline = UInt8(ascii: "\n")
            func lineStart(after position: Int) -> Int {
                var p = position
                while p < bytes.count && bytes[p] != newline { p += 1 }
                return p + 1
            }
            // -1: the line's lemma sorts before key, 0: equal, 1: after.
            func compare(at start: Int) -> Int {
                var i = 0
                var p = start
                while p < bytes.count {
                    let byte = bytes[p]
                    if byte == space || byte == newline { return i == key.count ? 0 : -1 }
                    if i == key.count { return 1 }
                    if byte != key[i] { return byte < key[i] ? -1 : 1 }
                    i += 1
                    p += 1
                }
                return i == key.count ? 0 : -1
            }
            var low = 0
            var high = bytes.count
            while low < high {
                let middle = (low + high) / 2
                let start = middle == 0 ? 0 : lineStart(after: middle - 1)
                if start >= high {
                    high = middle
                    continue
                }
                switch compare(at: start) {
                case 0:
                    let end = lineStart(after: start) - 1
                    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(end, bytes.count)]), as: UTF8.self)[...]
                case -1: low = lineStart(after: start)
                default: high = middle
                }
            }
            return nil
        }
    }

    /// The synset at a sense's offset (a data line: offset, lexicographer file, type, word count in hex, words with
    /// their lex ids, pointer count, then each pointer as symbol, offset, part of speech, source/target).
    func synset(_ sense: Sense) -> Synset? {
        guard let file = data[sense.partOfSpeech], sense.offset >= 0, sense.offset < file.count else { return nil }
        let line: Substring = file.withUnsafeBytes { bytes in
            var end = sense.offset
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[sense.offset..<end]), as: UTF8.self)[...]
        }
        let fields = line.split(separator: " ")
        guard fields.count > 4, let words = Int(fields[3], radix: 16) else { return nil }
        let countField = 4 + 2 * words
        guard fields.count > countField, let count = Int(fields[countField]) else { return nil }
        var pointers: [(symbol: Substring, target: Sense)] = []
        for k in 0..<count {
            let base = countField + 1 + 4 * k
            guard base + 3 < fields.count, let offset = Int(fields[base + 1]), let pos = PartOfSpeech(symbol: fields[base + 2]) else { break }
            pointers.append((fields[base], Sense(partOfSpeech: pos, offset: offset)))
        }
        return Synset(isSatellite: fields[2] == "s", pointers: pointers)
    }

    /// An adjective's cluster head: itself, or the head a satellite points to with `&`.
    private func clusterHead(_ sense: Sense, _ synset: Synset?) -> Sense {
        guard let synset, synset.isSatellite, let head = synset.pointers.first(where: { $0.symbol == "&" }) else { return sense }
        return head.target
    }

    /// The hypernyms of a sense up to `depth` steps, with their distance (the sense itself at 0).
    private func ancestors(_ sense: Sense, depth: Int) -> [Sense: Int] {
        var distance = [sense: 0]
        var front = [sense]
        for step in 1...depth {
            var next: [Sense] = []
            for current in front {
                for pointer in synset(current)?.pointers ?? [] where (pointer.symbol == "@" || pointer.symbol == "@i") && distance[pointer.target] == nil {
                    distance[pointer.target] = step
                    next.append(pointer.target)
                }
            }
            front = next
        }
        return distance
    }
}

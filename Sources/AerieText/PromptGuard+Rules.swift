/// The part of ``PromptGuard`` that ``PromptMatcher`` keeps as hard rules — what embedding similarity cannot see —
/// and the word-class signals it hands to its learned scorer.
extension PromptGuard {
    /// Why two prompts may not share an image whatever their similarity, or `nil`:
    ///
    /// - `negation`: one says `no`, `not`, `without`, `n't`, `cannot` or a `-less` word ("a cloudless sky") and the
    ///   other does not ("a tailless cat" / "a cat without a tail" agree), or one has a word the other negates with a
    ///   prefix (`un-`, `in-`, `im-`, `il-`, `ir-`, `dis-`, `non-`, `de-`: "a locked door" / "an unlocked door");
    /// - `count`: different counts (`two`/`2`/`pair`, `herd` as many; `a`/`one` the implicit singular);
    /// - `colour`: different colours, or a colour bound to another object ("a red car and a blue truck" /
    ///   "a blue car beside a red truck");
    /// - `relation`, `attribute`: both name a spatial relation ("in front of" / "behind") or an attribute with a common
    ///   opposite ("open" / "closed") and they differ — embeddings score opposites as near-synonyms; a side that names
    ///   none is no veto ("a cat in a box" / "a cat inside a box"), the scorer weighs it (``signals(_:_:)``);
    /// - `order`: the same words in an order that swaps roles ("a dog chasing a cat" / "a cat chasing a dog"), beyond
    ///   a swap of neighbours, the two sides of an `and`, one word moved, or a clause moved to the other end
    ///   ("a market at dusk" / "at dusk, a market").
    ///
    /// Unlike ``conflict(_:_:)``, hyphenated words count as their parts ("black-and-white" / "black and white"), and
    /// styles, and relations or attributes named on one side only, are no veto: the scorer weighs them.
    public static func veto(_ a: String, _ b: String) -> String? {
        let left = Analysis(a, words: ruleWords)
        let right = Analysis(b, words: ruleWords)
        if left.negated != right.negated || prefixNegates(left.written, right.written) { return "negation" }
        if left.counts != right.counts { return "count" }
        if left.colours != right.colours || boundColoursDiffer(left.written, right.written) { return "colour" }
        if !left.relations.isEmpty, !right.relations.isEmpty, left.relations != right.relations { return "relation" }
        if !left.attributes.isEmpty, !right.attributes.isEmpty, left.attributes != right.attributes { return "attribute" }
        if !(sameOrder(left.sequence, right.sequence) || sameOrder(left.written, right.written)
            || isRotation(left.written, right.written))
        {
            return "order"
        }
        return nil
    }

    /// How two prompts differ in one word class.
    public enum Mismatch: Int, Sendable, Hashable {
        /// Same words of the class on both sides (or none).
        case none = 0
        /// Only one side has words of the class ("a cat in a box" / "a cat inside a box").
        case oneSided = 1
        /// Both have some, and they differ ("a ball in front of a box" / "a ball behind a box").
        case both = 2
    }

    /// Word-class differences the learned scorer weighs: spatial relations, styles, and attributes with common
    /// opposites (the word classes of ``compatible(_:_:)`` that are not hard rules in ``veto(_:_:)``).
    public struct Signals: Sendable, Hashable {
        public var relation: Mismatch
        public var style: Mismatch
        public var attribute: Mismatch
    }

    public static func signals(_ a: String, _ b: String) -> Signals {
        let left = Analysis(a, words: ruleWords)
        let right = Analysis(b, words: ruleWords)
        func mismatch(_ x: Set<String>, _ y: Set<String>) -> Mismatch {
            if x == y { return .none }
            return x.isEmpty || y.isEmpty ? .oneSided : .both
        }
        return Signals(relation: mismatch(left.relations, right.relations), style: mismatch(left.styles, right.styles),
                       attribute: mismatch(left.attributes, right.attributes))
    }

    /// ``words(_:)`` with a hyphenated word split into its parts ("black-and-white" → "black and white"; one the
    /// word lists name as a whole, such as "8-bit" or "low-poly", stays whole), `cannot` as `can not`, and a `-less`
    /// word as `without` and its stem ("cloudless" → "without cloud").
    static func ruleWords(_ text: String) -> [String] {
        var result: [String] = []
        for word in words(text) {
            let listed = colours[word] != nil || counts[word] != nil || styles[word] != nil || attributes[word] != nil
                || relations[word] != nil
            let parts = listed ? [word] : word.split(separator: "-").map(String.init)
            for part in parts {
                if part == "cannot" {
                    result += ["can", "not"]
                } else if part.count > 6, part.hasSuffix("less"), !notNegatingLess.contains(part) {
                    result += ["without", String(part.dropLast(4))]
                } else {
                    result.append(part)
                }
            }
        }
        return result
    }

    /// Whether a word of one side is a word of the other with a negating prefix ("unlocked" / "locked"), or both are the
    /// same stem under different prefixes ("inflated" / "deflated"). Stems shorter than three letters and the guard's
    /// listed words ("inside") do not count.
    static func prefixNegates(_ a: [String], _ b: [String]) -> Bool {
        let left = Set(a)
        let right = Set(b)
        func stem(_ word: String) -> String? {
            guard relations[word] == nil, attributes[word] == nil, styles[word] == nil else { return nil }
            for prefix in negatingPrefixes where word.hasPrefix(prefix) && word.count - prefix.count >= 3 {
                return String(word.dropFirst(prefix.count))
            }
            return nil
        }
        for x in left.subtracting(right) {
            for y in right.subtracting(left) {
                let sx = stem(x)
                let sy = stem(y)
                if sx == y || sy == x || (sx != nil && sx == sy) { return true }
            }
        }
        return false
    }

    static let negatingPrefixes = ["non", "dis", "un", "in", "im", "il", "ir", "de"]

    /// The content words (``ruleWords(_:)`` without fillers) of each prompt that are not in their longest common
    /// subsequence: what one prompt says instead of the other ("a narrow bridge" / "a wide bridge": `narrow`, `wide`).
    public static func differingWords(_ a: String, _ b: String) -> (left: [String], right: [String]) {
        let x = ruleWords(a).filter { !fillers.contains($0) }
        let y = ruleWords(b).filter { !fillers.contains($0) }
        var lengths = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            for j in stride(from: y.count - 1, through: 0, by: -1) {
                lengths[i][j] = x[i] == y[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var i = 0
        var j = 0
        var left: [String] = []
        var right: [String] = []
        while i < x.count && j < y.count {
            if x[i] == y[j] {
                i += 1
                j += 1
            } else if lengths[i + 1][j] >= lengths[i][j + 1] {
                left.append(x[i])
                i += 1
            } else {
                right.append(y[j])
                j += 1
            }
        }
        return (left + x[i...], right + y[j...])
    }

    /// `-less` words that negate nothing.
    static let notNegatingLess: Set<String> = ["unless", "regardless", "nevertheless", "nonetheless"]

    /// Whether an object both prompts colour gets different colours: each colour binds to the next content word
    /// that is neither a colour nor `and` ("a red car and a blue truck": car red, truck blue).
    static func boundColoursDiffer(_ a: [String], _ b: [String]) -> Bool {
        func bindings(_ words: [String]) -> [String: Set<String>] {
            var result: [String: Set<String>] = [:]
            for (index, word) in words.enumerated() {
                guard let colour = colours[word] else { continue }
                guard let object = words[(index + 1)...].first(where: { colours[$0] == nil && $0 != "and" && $0 != "or" }) else { continue }
                result[object, default: []].insert(colour)
            }
            return result
        }
        let left = bindings(a)
        let right = bindings(b)
        return left.contains { object, colours in right[object].map { $0 != colours } ?? false }
    }

    /// Whether `b` is `a` with a leading run of words moved to the end ("street market at dusk" / "at dusk street
    /// market"): a clause moved, which keeps every role.
    static func isRotation(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count, a.count > 1, a != b else { return false }
        return (1..<a.count).contains { shift in Array(a[shift...] + a[..<shift]) == b }
    }
}

/// The part of ``PromptGuard`` that ``PromptMatcher`` keeps as hard rules — what embedding similarity cannot see —
/// and the word-class signals it hands to its learned scorer.
extension PromptGuard {
    /// Why two prompts may not share an image whatever their similarity, or `nil`:
    ///
    /// - `negation`: one says `no`, `not`, `without`, `n't`, `cannot` or a `-less` word ("a cloudless sky") and the
    ///   other does not ("a tailless cat" / "a cat without a tail" agree);
    /// - `count`: different counts (`two`/`2`/`pair`, `herd` as many; `a`/`one` the implicit singular);
    /// - `colour`: different colours, or a colour bound to another object ("a red car and a blue truck" /
    ///   "a blue car beside a red truck");
    /// - `order`: the same words in an order that swaps roles ("a dog chasing a cat" / "a cat chasing a dog"), beyond
    ///   a swap of neighbours, the two sides of an `and`, one word moved, or a clause moved to the other end
    ///   ("a market at dusk" / "at dusk, a market").
    ///
    /// Unlike ``conflict(_:_:)``, hyphenated words count as their parts ("black-and-white" / "black and white"), and
    /// relations, styles and attributes are no veto: the scorer weighs them (``signals(_:_:)``).
    public static func veto(_ a: String, _ b: String) -> String? {
        let left = Analysis(a, words: ruleWords)
        let right = Analysis(b, words: ruleWords)
        if left.negated != right.negated { return "negation" }
        if left.counts != right.counts { return "count" }
        if left.colours != right.colours || boundColoursDiffer(left.written, right.written) { return "colour" }
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

import AerieCore
import Foundation

/// Decides whether an image generated for one prompt may answer another: the semantic cache's hit test.
///
/// Three methods, for comparison (`aerie imagine calibrate` reports them side by side):
/// - ``Method/learned`` (the default): the hard rules of ``PromptGuard/veto(_:_:)`` (negation, counts, colours bound to
///   objects, roles swapped by word order), then a logistic regression on what MiniLM itself says about the pair
///   (``features(_:_:_:_:lexicon:)``: sentence cosine, how well each token of one prompt aligns with some token of the other,
///   the length difference, whether the prompts differ by one substituted word and how many words differ, the
///   one-sided relation, style and attribute signals of ``PromptGuard/signals(_:_:)``, and the same alignment over
///   whole content words, with whether a word was put in place of another and how close the two are) and on what
///   ``WordNet`` says of the words only one prompt writes (``lexicalSignals(_:_:lexicon:)``: opposites, synonyms,
///   kinds). A hit when its probability reaches the model's cut. The weights (`Resources/prompt-matcher.json`) are trained by
///   `scripts/train_prompt_matcher.py` on `data/imagine/matcher-features.csv`.
/// - ``Method/guarded``: cosine ≥ `threshold` and ``PromptGuard/compatible(_:_:)`` (the cache before the learned method).
/// - ``Method/similarity``: cosine ≥ `threshold` alone.
public struct PromptMatcher: Sendable {
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case learned
        case guarded
        case similarity
    }

    /// The trained weights, as `Resources/prompt-matcher.json` holds them.
    public struct Model: Sendable, Hashable, Codable {
        /// The feature names, in the order of ``weights`` (must equal ``PromptMatcher/featureNames``).
        public var features: [String]
        /// One weight per feature, on the raw feature values (standardisation folded in).
        public var weights: [Double]
        public var bias: Double
        /// The probability at or above which a pair is a hit.
        public var cut: Double
        /// Candidates less similar than this (cosine) are not scored: a miss.
        public var minimumSimilarity: Double

        enum CodingKeys: String, CodingKey {
            case features, weights, bias, cut
            case minimumSimilarity = "minimum_similarity"
        }
    }

    /// The outcome for one pair.
    public struct Decision: Sendable, Hashable {
        public var isMatch: Bool
        /// Cosine of the two sentence embeddings.
        public var similarity: Double
        /// The learned probability (nil for the other methods, a veto, or a candidate below the minimum similarity).
        public var probability: Double?
        /// The hard rule that refused the pair (``PromptGuard/veto(_:_:)``; for ``Method/guarded`` the guard's reason).
        public var veto: String?
    }

    /// The learned features, in order.
    public static let featureNames = [
        "cosine", "align_min", "align_second_min", "align_mean", "align_f1", "length_difference",
        "relation_one", "style_both", "style_one", "attribute_one", "substitution", "differing_words",
        "content_min", "content_mean", "mutual_substitution", "substitution_similarity", "unaligned_words",
        "lexical_antonym", "lexical_covered", "lexical_hypernym", "lexical_sibling", "lexical_unknown",
    ]

    public var method: Method
    /// The cosine threshold of ``Method/guarded`` and ``Method/similarity``.
    public var threshold: Double
    public let model: Model
    /// What the learned method asks about the words only one prompt writes (required by ``Method/learned``).
    public let lexicon: WordNet?

    public init(method: Method = .learned, threshold: Double = 0.90, model: Model, lexicon: WordNet?) throws {
        guard model.features == Self.featureNames, model.weights.count == Self.featureNames.count else {
            throw AerieError.invalid(
                "The prompt matcher's weights are for the features \(model.features), not \(Self.featureNames); "
                    + "retrain them with scripts/train_prompt_matcher.py.")
        }
        guard method != .learned || lexicon != nil else {
            throw AerieError.invalid("The learned prompt matcher needs WordNet (Debian's wordnet-base).")
        }
        self.method = method
        self.threshold = threshold
        self.model = model
        self.lexicon = lexicon
    }

    /// The matcher with the weights shipped in this module and the system's WordNet (``WordNet/system(environment:)``;
    /// only ``Method/learned`` needs it).
    public static func bundled(method: Method = .learned, threshold: Double = 0.90) throws -> PromptMatcher {
        try PromptMatcher(method: method, threshold: threshold, model: bundledModel(),
                          lexicon: method == .learned ? WordNet.system() : nil)
    }

    public static func bundledModel() throws -> Model {
        guard let url = Bundle.module.url(forResource: "prompt-matcher", withExtension: "json", subdirectory: "Resources") else {
            throw AerieError(.internal, "The AerieText resources hold no prompt-matcher.json; rebuild aerie from a complete checkout.")
        }
        return try JSONDecoder().decode(Model.self, from: Data(contentsOf: url))
    }

    /// Whether the image made for prompt `a` (embeddings `ea`) may answer prompt `b` (embeddings `eb`).
    public func decide(_ a: String, _ ea: TokenEmbeddings, _ b: String, _ eb: TokenEmbeddings) -> Decision {
        decide(a, b, similarity: Self.dot(ea.sentence[...], eb.sentence[...])) { (ea, eb) }
    }

    /// The decision for prompts `a` and `b` whose sentence cosine is `similarity` (as the vector index scored it);
    /// `embeddings` gives both prompts' token embeddings and is called only when the learned scorer needs them (no
    /// rule vetoed the pair and it reaches the minimum similarity), so a cache computes a candidate's tokens only then.
    public func decide(_ a: String, _ b: String, similarity: Double, embeddings: () throws -> (TokenEmbeddings, TokenEmbeddings)) rethrows
        -> Decision {
        switch method {
        case .similarity:
            return Decision(isMatch: similarity >= threshold - 1e-9, similarity: similarity)
        case .guarded:
            let conflict = PromptGuard.conflict(a, b)
            return Decision(isMatch: similarity >= threshold - 1e-9 && conflict == nil, similarity: similarity, veto: conflict)
        case .learned:
            if let veto = PromptGuard.veto(a, b) {
                return Decision(isMatch: false, similarity: similarity, veto: veto)
            }
            guard similarity >= model.minimumSimilarity else { return Decision(isMatch: false, similarity: similarity) }
            let (ea, eb) = try embeddings()
            guard let lexicon else { return Decision(isMatch: false, similarity: similarity) }
            let probability = probability(Self.features(a, ea, b, eb, lexicon: lexicon))
            return Decision(isMatch: probability >= model.cut, similarity: similarity, probability: probability)
        }
    }

    /// The logistic model's probability for a feature vector.
    public func probability(_ features: [Double]) -> Double {
        var z = model.bias
        for (weight, value) in zip(model.weights, features) { z += weight * value }
        return 1 / (1 + exp(-z))
    }

    /// The features of a pair, in the order of ``featureNames``. Each token of one prompt is matched to its most similar
    /// token of the other (cosine of the last-layer token vectors, both directions): a changed word leaves a token
    /// without a close partner, which the minimum, the second smallest, the mean and their F1 (as BERTScore) show.
    /// Embeddings without token vectors align by their sentence vector. The last five features align whole content
    /// words (``wordAlignment(_:_:)``); the five after them ask WordNet about the words one side writes alone
    /// (``lexicalSignals(_:_:lexicon:)``).
    public static func features(_ a: String, _ ea: TokenEmbeddings, _ b: String, _ eb: TokenEmbeddings, lexicon: WordNet) -> [Double] {
        let cosine = dot(ea.sentence[...], eb.sentence[...])
        let left = ea.count > 0 ? ea : TokenEmbeddings(sentence: ea.sentence, tokens: ea.sentence)
        let right = eb.count > 0 ? eb : TokenEmbeddings(sentence: eb.sentence, tokens: eb.sentence)
        var bestLeft = [Double](repeating: -1, count: left.count)
        var bestRight = [Double](repeating: -1, count: right.count)
        for i in 0..<left.count {
            let row = left.token(i)
            for j in 0..<right.count {
                let score = dot(row, right.token(j))
                bestLeft[i] = max(bestLeft[i], score)
                bestRight[j] = max(bestRight[j], score)
            }
        }
        let all = (bestLeft + bestRight).sorted()
        let meanLeft = bestLeft.reduce(0, +) / Double(max(bestLeft.count, 1))
        let meanRight = bestRight.reduce(0, +) / Double(max(bestRight.count, 1))
        let f1 = meanLeft + meanRight > 0 ? 2 * meanLeft * meanRight / (meanLeft + meanRight) : 0
        let lengths = (Double(left.count), Double(right.count))
        let signals = PromptGuard.signals(a, b)
        let differing = PromptGuard.differingWords(a, b)
        func flag(_ condition: Bool) -> Double { condition ? 1 : 0 }
        return [
            cosine, all.first ?? 0, all.count > 1 ? all[1] : (all.first ?? 0), all.reduce(0, +) / Double(max(all.count, 1)), f1,
            abs(lengths.0 - lengths.1) / max(lengths.0, lengths.1, 1),
            flag(signals.relation == .oneSided), flag(signals.style == .both), flag(signals.style == .oneSided),
            flag(signals.attribute == .oneSided),
            // A single word swapped for another ("a narrow bridge" / "a wide bridge") is more often a changed attribute
            // or object than a rephrasing, which tends to change several words.
            flag(differing.left.count == 1 && differing.right.count == 1), Double(differing.left.count + differing.right.count),
        ] + wordAlignment(left, right).values + lexicalSignals(a, b, lexicon: lexicon).values
    }

    /// What WordNet says about the content words only one prompt writes: embeddings place antonyms ("opaque" /
    /// "transparent", "narrow" / "wide") as close as synonyms, a lexicon does not.
    struct LexicalSignals {
        /// A word of one side is the opposite of a word of the other.
        var antonym: Bool
        /// The share of one-sided terms with a synonym (or, for adjectives, a word of the same cluster) on the other
        /// side; 1 when no content word is one-sided.
        var covered: Double
        /// One side's word is a kind of the other's ("stallion" / "horse"), or both are kinds of one thing ("violin"
        /// / "cello").
        var hypernym: Bool
        var sibling: Bool
        /// The share of one-sided terms WordNet does not know.
        var unknown: Double

        var values: [Double] { [antonym ? 1 : 0, covered, hypernym ? 1 : 0, sibling ? 1 : 0, unknown] }
    }

    /// One-sided terms: the content words (``PromptGuard/words(_:)``, fillers out; a hyphenated word WordNet does not
    /// know as its parts: "fast-moving" → "fast", "moving") a prompt writes and the other does not, plus any two
    /// adjacent words, particles included, that WordNet knows as one ("trash can", "switched off") and the other prompt
    /// does not write together. Every term of one side is related to every term of the other.
    static func lexicalSignals(_ a: String, _ b: String, lexicon: WordNet) -> LexicalSignals {
        func split(_ text: String) -> [String] {
            PromptGuard.words(text).flatMap { word in
                word.contains("-") && lexicon.senses(word).isEmpty ? word.split(separator: "-").map(String.init) : [word]
            }
        }
        let wordsLeft = split(a)
        let wordsRight = split(b)
        let left = wordsLeft.filter { !alignmentFillers.contains($0) }
        let right = wordsRight.filter { !alignmentFillers.contains($0) }
        func pairs(_ words: [String]) -> [String] { zip(words, words.dropFirst()).map { "\($0) \($1)" } }
        func terms(_ words: [String], all: [String], other: Set<String>, otherAll: [String]) -> [String] {
            let otherPairs = Set(pairs(otherAll))
            return words.filter { !other.contains($0) }
                + pairs(all).filter { !otherPairs.contains($0) && !lexicon.senses($0).isEmpty }
        }
        let leftTerms = terms(left, all: wordsLeft, other: Set(right), otherAll: wordsRight)
        let rightTerms = terms(right, all: wordsRight, other: Set(left), otherAll: wordsLeft)
        guard !leftTerms.isEmpty || !rightTerms.isEmpty else {
            return LexicalSignals(antonym: false, covered: 1, hypernym: false, sibling: false, unknown: 0)
        }
        // Each term is looked up once, whatever the number of pairs it is in.
        let leftEntries = leftTerms.map(lexicon.entry)
        let rightEntries = rightTerms.map(lexicon.entry)
        let relations: [[WordNet.Relation]] = leftEntries.map { x in rightEntries.map { y in lexicon.relation(x, y) } }
        let all = relations.flatMap { $0 }
        func isClose(_ relation: WordNet.Relation) -> Bool { relation == .synonym || relation == .similar }
        let coveredLeft = relations.filter { $0.contains(where: isClose) }.count
        let coveredRight = rightTerms.indices.filter { j in relations.contains { isClose($0[j]) } }.count
        let unknown = (leftEntries + rightEntries).filter { !$0.isKnown }.count
        let count = Double(leftTerms.count + rightTerms.count)
        return LexicalSignals(antonym: all.contains(.antonym), covered: Double(coveredLeft + coveredRight) / count,
                              hypernym: all.contains(.hypernym), sibling: all.contains(.sibling), unknown: Double(unknown) / count)
    }

    /// The word-level alignment of two prompts: WordPiece pieces merged back into words (mean of their vectors), the
    /// words that carry content (not articles, common prepositions or punctuation) aligned to their most similar word
    /// of the other prompt (the same word written on both sides counts as 1).
    struct WordAlignment {
        /// The lowest and the mean alignment of a content word, over both sides.
        var minimum: Double
        var mean: Double
        /// Whether the worst-aligned content word of each side aligns best with the other's worst (one word put in
        /// place of another: "sailboat" / "speedboat", "rug" / "carpet"), and then their similarity (else `minimum`):
        /// the scorer weighs how close a substituted pair is against how close synonyms are.
        var mutual: Bool
        var substitutionSimilarity: Double
        /// Content words written on one side only.
        var unaligned: Int

        var values: [Double] { [minimum, mean, mutual ? 1 : 0, substitutionSimilarity, Double(unaligned)] }
    }

    /// Words of one prompt's token embeddings: the text (empty without ``TokenEmbeddings/pieces``) and the normalised
    /// mean of its pieces' vectors.
    static func words(_ embeddings: TokenEmbeddings) -> [(text: String, vector: [Float])] {
        let pieces = embeddings.pieces.count == embeddings.count ? embeddings.pieces : []
        var words: [(text: String, vector: [Float])] = []
        for index in 0..<embeddings.count {
            let row = embeddings.token(index)
            if index < pieces.count, pieces[index].hasPrefix("##"), let last = words.indices.last {
                words[last].text += pieces[index].dropFirst(2)
                for (k, value) in zip(words[last].vector.indices, row) { words[last].vector[k] += value }
            } else {
                words.append((index < pieces.count ? pieces[index] : "", Array(row)))
            }
        }
        for index in words.indices {
            var slice = words[index].vector[...]
            TokenEmbeddings.normalize(&slice)
            words[index].vector = Array(slice)
        }
        return words
    }

    /// Words that carry no content for the alignment: articles, pronouns, common prepositions and conjunctions.
    static let alignmentFillers: Set<String> = PromptGuard.fillers.union([
        "of", "in", "on", "at", "with", "by", "to", "and", "for", "from",
    ])

    static func wordAlignment(_ a: TokenEmbeddings, _ b: TokenEmbeddings) -> WordAlignment {
        let left = words(a)
        let right = words(b)
        func isContent(_ text: String) -> Bool {
            text.isEmpty || (!alignmentFillers.contains(text) && text.contains(where: { $0.isLetter || $0.isNumber }))
        }
        var contentLeft = left.indices.filter { isContent(left[$0].text) }
        var contentRight = right.indices.filter { isContent(right[$0].text) }
        if contentLeft.isEmpty { contentLeft = Array(left.indices) }
        if contentRight.isEmpty { contentRight = Array(right.indices) }
        guard !contentLeft.isEmpty, !contentRight.isEmpty else {
            return WordAlignment(minimum: 0, mean: 0, mutual: false, substitutionSimilarity: 0, unaligned: 0)
        }
        var similarity = [[Double]](repeating: [Double](repeating: 0, count: right.count), count: left.count)
        for i in left.indices {
            for j in right.indices {
                similarity[i][j] = !left[i].text.isEmpty && left[i].text == right[j].text
                    ? 1 : dot(left[i].vector[...], right[j].vector[...])
            }
        }
        func bestRight(_ i: Int) -> Int { right.indices.max { similarity[i][$0] < similarity[i][$1] } ?? 0 }
        func bestLeft(_ j: Int) -> Int { left.indices.max { similarity[$0][j] < similarity[$1][j] } ?? 0 }
        let scoresLeft = contentLeft.map { similarity[$0][bestRight($0)] }
        let scoresRight = contentRight.map { similarity[bestLeft($0)][$0] }
        let worstLeft = contentLeft[scoresLeft.indices.min { scoresLeft[$0] < scoresLeft[$1] } ?? 0]
        let worstRight = contentRight[scoresRight.indices.min { scoresRight[$0] < scoresRight[$1] } ?? 0]
        let minimum = min(scoresLeft.min() ?? 0, scoresRight.min() ?? 0)
        let mean = (scoresLeft.reduce(0, +) / Double(scoresLeft.count) + scoresRight.reduce(0, +) / Double(scoresRight.count)) / 2
        let mutual = bestRight(worstLeft) == worstRight && bestLeft(worstRight) == worstLeft
            && (left[worstLeft].text.isEmpty || left[worstLeft].text != right[worstRight].text)
        let leftTexts = Set(left.map(\.text))
        let rightTexts = Set(right.map(\.text))
        let unaligned = contentLeft.filter { !rightTexts.contains(left[$0].text) || left[$0].text.isEmpty }.count
            + contentRight.filter { !leftTexts.contains(right[$0].text) || right[$0].text.isEmpty }.count
        return WordAlignment(minimum: minimum, mean: mean, mutual: mutual,
                             substitutionSimilarity: mutual ? similarity[worstLeft][worstRight] : minimum, unaligned: unaligned)
    }

    static func dot(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> Double {
        var sum: Float = 0
        for (a, b) in zip(x, y) { sum += a * b }
        return Double(sum)
    }
}

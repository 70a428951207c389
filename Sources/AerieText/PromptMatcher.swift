import AerieCore
import Foundation

/// Decides whether an image generated for one prompt may answer another: the semantic cache's hit test.
///
/// Three methods, for comparison (`aerie imagine calibrate` reports them side by side):
/// - ``Method/learned`` (the default): the hard rules of ``PromptGuard/veto(_:_:)`` (negation, counts, colours bound to
///   objects, roles swapped by word order), then a logistic regression on what MiniLM itself says about the pair
///   (``features(_:_:_:_:)``: sentence cosine, how well each token of one prompt aligns with some token of the other,
///   the length difference, whether the prompts differ by one substituted word and how many words differ, and the
///   one-sided relation, style and attribute signals of ``PromptGuard/signals(_:_:)``). A hit
///   when its probability reaches the model's cut. The weights (`Resources/prompt-matcher.json`) are trained by
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
    ]

    public var method: Method
    /// The cosine threshold of ``Method/guarded`` and ``Method/similarity``.
    public var threshold: Double
    public let model: Model

    public init(method: Method = .learned, threshold: Double = 0.90, model: Model) throws {
        guard model.features == Self.featureNames, model.weights.count == Self.featureNames.count else {
            throw AerieError.invalid(
                "The prompt matcher's weights are for the features \(model.features), not \(Self.featureNames); "
                    + "retrain them with scripts/train_prompt_matcher.py.")
        }
        self.method = method
        self.threshold = threshold
        self.model = model
    }

    /// The matcher with the weights shipped in this module.
    public static func bundled(method: Method = .learned, threshold: Double = 0.90) throws -> PromptMatcher {
        try PromptMatcher(method: method, threshold: threshold, model: bundledModel())
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
            let probability = probability(Self.features(a, ea, b, eb))
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
    /// Embeddings without token vectors align by their sentence vector.
    public static func features(_ a: String, _ ea: TokenEmbeddings, _ b: String, _ eb: TokenEmbeddings) -> [Double] {
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
        ]
    }

    static func dot(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> Double {
        var sum: Float = 0
        for (a, b) in zip(x, y) { sum += a * b }
        return Double(sum)
    }
}

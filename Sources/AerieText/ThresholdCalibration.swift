import Foundation

/// Precision, recall and false-hit rate of a similarity threshold on labelled prompt pairs: the
/// numbers behind `aerie imagine calibrate` and the semantic cache's default threshold.
///
/// A pair is a *hit* at threshold `t` when its similarity is `≥ t` (and, for ``Row/guarded``, when
/// ``PromptGuard/compatible(_:_:)`` also allows it). Labels say whether one image may serve both
/// prompts (`same`). Then, over the pairs:
/// - precision = correct hits / hits (1 when nothing hits),
/// - recall = correct hits / pairs labelled same (1 when none is),
/// - false-hit rate = hits on pairs labelled different / pairs labelled different (0 when none is):
///   how often a prompt that should get its own image would get someone else's.
public struct ThresholdCalibration: Sendable {
    /// One labelled, scored pair.
    public struct Pair: Sendable, Hashable, Codable {
        public var a: String
        public var b: String
        public var same: Bool
        /// An optional category (`paraphrase`, `negation`, `colour`…), for reports.
        public var kind: String
        public var similarity: Double
        /// Whether ``PromptGuard`` lets the pair share an image.
        public var compatible: Bool
        /// Whether ``PromptMatcher``'s learned method finds a match (it does not depend on the threshold).
        public var learned: Bool
        /// The learned method's probability (nil when a rule vetoed the pair or it was below the minimum similarity).
        public var probability: Double?
        /// The hard rule of ``PromptGuard/veto(_:_:)`` that refused the pair, if any.
        public var veto: String?

        public init(a: String, b: String, same: Bool, kind: String = "", similarity: Double, compatible: Bool = true,
                    learned: Bool = false, probability: Double? = nil, veto: String? = nil) {
            self.a = a
            self.b = b
            self.same = same
            self.kind = kind
            self.similarity = similarity
            self.compatible = compatible
            self.learned = learned
            self.probability = probability
            self.veto = veto
        }
    }

    /// Confusion counts and rates at one threshold.
    public struct Metrics: Sendable, Hashable, Codable {
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public var trueNegatives = 0

        public init() {}

        public var precision: Double {
            let hits = truePositives + falsePositives
            return hits == 0 ? 1 : Double(truePositives) / Double(hits)
        }

        public var recall: Double {
            let positives = truePositives + falseNegatives
            return positives == 0 ? 1 : Double(truePositives) / Double(positives)
        }

        public var falseHitRate: Double {
            let negatives = falsePositives + trueNegatives
            return negatives == 0 ? 0 : Double(falsePositives) / Double(negatives)
        }

        mutating func add(hit: Bool, same: Bool) {
            switch (hit, same) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }
    }

    /// The metrics at one threshold, by similarity alone and with the guard.
    public struct Row: Sendable, Hashable {
        public var threshold: Double
        public var plain: Metrics
        public var guarded: Metrics
    }

    public var pairs: [Pair]

    public init(pairs: [Pair]) {
        self.pairs = pairs
    }

    /// 0.70, 0.71 … 0.99.
    public static let defaultThresholds: [Double] = (70...99).map { Double($0) / 100 }

    /// Whether `pair` is a hit at `threshold`. The small tolerance keeps a similarity printed as 0.90
    /// from missing 0.90 by a rounding error.
    public static func isHit(_ pair: Pair, threshold: Double, guarded: Bool) -> Bool {
        pair.similarity >= threshold - 1e-9 && (!guarded || pair.compatible)
    }

    public func metrics(threshold: Double, guarded: Bool) -> Metrics {
        var metrics = Metrics()
        for pair in pairs {
            metrics.add(hit: Self.isHit(pair, threshold: threshold, guarded: guarded), same: pair.same)
        }
        return metrics
    }

    /// The metrics of ``PromptMatcher``'s learned method (``Pair/learned``).
    public func learnedMetrics() -> Metrics {
        var metrics = Metrics()
        for pair in pairs { metrics.add(hit: pair.learned, same: pair.same) }
        return metrics
    }

    public func rows(thresholds: [Double] = defaultThresholds) -> [Row] {
        thresholds.map { Row(threshold: $0, plain: metrics(threshold: $0, guarded: false), guarded: metrics(threshold: $0, guarded: true)) }
    }

    /// Pairs labelled different that hit at `threshold`.
    public func falseHits(threshold: Double, guarded: Bool) -> [Pair] {
        pairs.filter { !$0.same && Self.isHit($0, threshold: threshold, guarded: guarded) }
    }

    /// Pairs labelled same that miss at `threshold`.
    public func misses(threshold: Double, guarded: Bool) -> [Pair] {
        pairs.filter { $0.same && !Self.isHit($0, threshold: threshold, guarded: guarded) }
    }

    /// Cosine similarity; 0 when either vector is zero.
    public static func cosine(_ x: [Float], _ y: [Float]) -> Double {
        precondition(x.count == y.count, "vectors of different dimensions")
        var dot = 0.0
        var xx = 0.0
        var yy = 0.0
        for index in x.indices {
            dot += Double(x[index]) * Double(y[index])
            xx += Double(x[index]) * Double(x[index])
            yy += Double(y[index]) * Double(y[index])
        }
        guard xx > 0, yy > 0 else { return 0 }
        return dot / (xx.squareRoot() * yy.squareRoot())
    }
}

import AerieText
import Testing

@Suite("Threshold calibration")
struct ThresholdCalibrationTests {
    /// Six pairs computed by hand:
    ///   same:      0.95, 0.91, 0.80     different: 0.97 (guard vetoes), 0.92, 0.60
    static let calibration = ThresholdCalibration(pairs: [
        .init(a: "s1", b: "s1'", same: true, similarity: 0.95),
        .init(a: "s2", b: "s2'", same: true, similarity: 0.91),
        .init(a: "s3", b: "s3'", same: true, similarity: 0.80),
        .init(a: "d1", b: "d1'", same: false, similarity: 0.97, compatible: false),
        .init(a: "d2", b: "d2'", same: false, similarity: 0.92),
        .init(a: "d3", b: "d3'", same: false, similarity: 0.60),
    ])

    @Test func precisionRecallAndFalseHitRateAtOneThreshold() {
        // At 0.90: hits 0.95, 0.91 (same) and 0.97, 0.92 (different).
        let plain = Self.calibration.metrics(threshold: 0.90, guarded: false)
        #expect(plain.truePositives == 2)
        #expect(plain.falsePositives == 2)
        #expect(plain.falseNegatives == 1)
        #expect(plain.trueNegatives == 1)
        #expect(plain.precision == 0.5)
        #expect(plain.recall == 2.0 / 3.0)
        #expect(plain.falseHitRate == 2.0 / 3.0)
        // The guard removes the 0.97 false hit.
        let guarded = Self.calibration.metrics(threshold: 0.90, guarded: true)
        #expect(guarded.falsePositives == 1)
        #expect(guarded.precision == 2.0 / 3.0)
        #expect(guarded.falseHitRate == 1.0 / 3.0)
        #expect(Self.calibration.falseHits(threshold: 0.90, guarded: true).map(\.a) == ["d2"])
        #expect(Self.calibration.misses(threshold: 0.90, guarded: false).map(\.a) == ["s3"])
    }

    @Test func theThresholdIsInclusiveAndEdgeCasesAreDefined() {
        let exact = ThresholdCalibration(pairs: [.init(a: "x", b: "y", same: true, similarity: 0.9)])
        #expect(exact.metrics(threshold: 0.90, guarded: false).truePositives == 1)
        // Nothing hits: precision 1; nothing different: false-hit rate 0.
        let none = exact.metrics(threshold: 0.95, guarded: false)
        #expect(none.precision == 1)
        #expect(none.recall == 0)
        #expect(none.falseHitRate == 0)
    }

    @Test func rowsCoverTheDefaultThresholds() {
        let rows = Self.calibration.rows()
        #expect(rows.count == 30)
        #expect(rows.first?.threshold == 0.70)
        #expect(rows.last?.threshold == 0.99)
        #expect(rows.first?.plain.recall == 1)
        #expect(rows.last?.plain.truePositives == 0)
    }

    @Test func cosine() {
        #expect(ThresholdCalibration.cosine([1, 0], [0, 1]) == 0)
        #expect(abs(ThresholdCalibration.cosine([3, 4], [6, 8]) - 1) < 1e-12)
        #expect(ThresholdCalibration.cosine([0, 0], [1, 1]) == 0)
    }
}

import Foundation

/// A ``ConsolePanel`` with its figures read from the metrics: one entry of `GET /console/api/apps`.
struct ConsolePanelReport: Encodable {
    struct Stat: Encodable {
        var label: String
        var kind: String
        /// The metric for counters; nil for ratios.
        var metric: String?
        /// Nil while the metric is not in the registry, or a ratio's denominator is 0.
        var value: Double?
    }

    struct Histogram: Encodable {
        struct Bucket: Encodable {
            /// The bucket's upper bound; nil for `+Inf`.
            var le: Double?
            /// Observations in this bucket alone (not cumulative).
            var count: Int
        }
        var label: String
        var metric: String
        var unit: ConsolePanel.Unit
        var chart: Bool
        var count: Int
        var sum: Double
        var mean: Double?
        var p50: Double?
        var p95: Double?
        var buckets: [Bucket]
    }

    var app: String
    var title: String
    var stats: [Stat] = []
    var histograms: [Histogram] = []

    init(panel: ConsolePanel, families: MetricFamilies) {
        app = panel.app
        title = panel.title
        for item in panel.items {
            switch item {
            case .counter(let metric, let label):
                stats.append(Stat(label: label, kind: "counter", metric: metric, value: families.value(metric)))
            case .ratio(let label, let numerator, let denominator):
                let top = numerator.reduce(0) { $0 + (families.value($1) ?? 0) }
                let bottom = denominator.reduce(0) { $0 + (families.value($1) ?? 0) }
                stats.append(Stat(label: label, kind: "ratio", metric: nil, value: bottom > 0 ? top / bottom : nil))
            case .histogram(let metric, let label, let unit, let chart):
                let histogram = families.histogram(metric)
                var previous = 0.0
                let buckets = (histogram?.buckets ?? []).map { bucket in
                    defer { previous = bucket.cumulative }
                    return Histogram.Bucket(le: bucket.bound.isFinite ? bucket.bound : nil, count: Int(bucket.cumulative - previous))
                }
                let count = histogram?.count ?? 0
                let sum = histogram?.sum ?? 0
                histograms.append(Histogram(
                    label: label, metric: metric, unit: unit, chart: chart, count: Int(count), sum: sum,
                    mean: count > 0 ? sum / count : nil,
                    p50: histogram.flatMap { LatencySummary.quantile(0.5, buckets: $0.buckets) },
                    p95: histogram.flatMap { LatencySummary.quantile(0.95, buckets: $0.buckets) },
                    buckets: buckets
                ))
            }
        }
    }
}

import Foundation

/// Sample values from a Prometheus text exposition, summed over label sets: the plain samples by name, and
/// each histogram's cumulative buckets by base name. What the console's app panels read.
struct MetricFamilies {
    /// Cumulative buckets of one histogram, sorted by upper bound (the last one `+Inf`).
    struct Histogram {
        var buckets: [(bound: Double, cumulative: Double)]
        var count: Double
        var sum: Double
    }

    private var samples: [String: Double] = [:]
    private var buckets: [String: [Double: Double]] = [:]

    init(exposition: String) {
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let sample = LatencySummary.parse(line) else { continue }
            let name = String(sample.name)
            if name.hasSuffix("_bucket"), let bound = sample.labels["le"].flatMap(LatencySummary.bound) {
                buckets[String(name.dropLast("_bucket".count)), default: [:]][bound, default: 0] += sample.value
            } else {
                samples[name, default: 0] += sample.value
            }
        }
    }

    /// A counter's or gauge's value; nil when the registry has no such metric (yet).
    func value(_ name: String) -> Double? {
        samples[name]
    }

    /// A histogram; nil when the registry has no such histogram (yet).
    func histogram(_ name: String) -> Histogram? {
        guard let buckets = buckets[name] else { return nil }
        return Histogram(buckets: buckets.sorted { $0.key < $1.key }.map { (bound: $0.key, cumulative: $0.value) },
                         count: samples[name + "_count"] ?? 0, sum: samples[name + "_sum"] ?? 0)
    }
}

import Foundation

/// Per-route request counts and latency quantiles, read from the gateway's Prometheus histogram
/// (`aerie_http_request_duration_seconds`) so the console charts show exactly what `/metrics` exports.
///
/// Quantiles are estimated from the histogram buckets the way Prometheus' `histogram_quantile` does: linear
/// interpolation inside the bucket that holds the rank.
public struct LatencySummary: Sendable, Hashable, Encodable {
    /// One route and method, summed over response statuses.
    public struct Route: Sendable, Hashable, Encodable {
        public var method: String
        public var route: String
        public var count: Int
        /// Responses with a 5xx status.
        public var serverErrors: Int
        /// Responses with a 4xx status.
        public var clientErrors: Int
        public var meanMs: Double?
        public var p50Ms: Double?
        public var p95Ms: Double?
        public var p99Ms: Double?
        /// Cumulative histogram buckets: upper bound in milliseconds (nil for `+Inf`) and the count at or below it,
        /// so a client can difference two samples for the latency of a time window.
        public var buckets: [Bucket]

        public struct Bucket: Sendable, Hashable, Encodable {
            public var upperBoundMs: Double?
            public var cumulative: Int

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.unkeyedContainer()
                try container.encode(upperBoundMs)
                try container.encode(cumulative)
            }
        }

        enum CodingKeys: String, CodingKey {
            case method, route, count
            case serverErrors = "server_errors"
            case clientErrors = "client_errors"
            case meanMs = "mean_ms"
            case p50Ms = "p50_ms"
            case p95Ms = "p95_ms"
            case p99Ms = "p99_ms"
            case buckets
        }
    }

    /// Routes, most requested first.
    public var routes: [Route]
    /// Requests over all routes.
    public var total: Int

    /// The metric the gateway records request latency in.
    public static let histogramName = "aerie_http_request_duration_seconds"

    /// Summarises the histogram in a Prometheus text exposition.
    ///
    /// - Parameter excluding: Route patterns left out (the console's own polling would otherwise dominate).
    public init(exposition: String, excluding: Set<String> = []) {
        struct Accumulator {
            var buckets: [Double: Double] = [:]
            var count = 0.0
            var sum = 0.0
            var serverErrors = 0.0
            var clientErrors = 0.0
        }
        var series: [String: Accumulator] = [:]
        var keys: [String: (method: String, route: String)] = [:]

        for line in exposition.split(separator: "\n") where line.hasPrefix(Self.histogramName) {
            guard let sample = Self.parse(line) else { continue }
            let suffix = sample.name.dropFirst(Self.histogramName.count)
            guard let route = sample.labels["route"], let method = sample.labels["method"], !excluding.contains(route) else { continue }
            let key = method + " " + route
            keys[key] = (method, route)
            var accumulator = series[key] ?? Accumulator()
            switch suffix {
            case "_bucket":
                guard let bound = sample.labels["le"].flatMap(Self.bound) else { continue }
                accumulator.buckets[bound, default: 0] += sample.value
            case "_count":
                accumulator.count += sample.value
                let status = Int(sample.labels["status"] ?? "") ?? 0
                if status >= 500 { accumulator.serverErrors += sample.value }
                if (400..<500).contains(status) { accumulator.clientErrors += sample.value }
            case "_sum":
                accumulator.sum += sample.value
            default:
                continue
            }
            series[key] = accumulator
        }

        var routes: [Route] = []
        for (key, accumulator) in series {
            guard let names = keys[key], accumulator.count > 0 else { continue }
            let buckets = accumulator.buckets.sorted { $0.key < $1.key }.map { (bound: $0.key, cumulative: $0.value) }
            func quantile(_ q: Double) -> Double? { Self.quantile(q, buckets: buckets).map { $0 * 1000 } }
            routes.append(Route(
                method: names.method, route: names.route, count: Int(accumulator.count),
                serverErrors: Int(accumulator.serverErrors), clientErrors: Int(accumulator.clientErrors),
                meanMs: accumulator.sum / accumulator.count * 1000,
                p50Ms: quantile(0.5), p95Ms: quantile(0.95), p99Ms: quantile(0.99),
                buckets: buckets.map { Route.Bucket(upperBoundMs: $0.bound.isFinite ? $0.bound * 1000 : nil, cumulative: Int($0.cumulative)) }
            ))
        }
        routes.sort { ($0.count, $1.route + $1.method) > ($1.count, $0.route + $0.method) }
        self.routes = routes
        self.total = routes.reduce(0) { $0 + $1.count }
    }

    /// The `q` quantile (0…1) from cumulative buckets sorted by upper bound (the last one `+Inf`), in the
    /// histogram's unit; nil without observations.
    static func quantile(_ q: Double, buckets: [(bound: Double, cumulative: Double)]) -> Double? {
        guard let total = buckets.last?.cumulative, total > 0 else { return nil }
        let rank = q * total
        var previousBound = 0.0
        var previousCount = 0.0
        for bucket in buckets {
            if bucket.cumulative >= rank {
                // Past the last finite bound, Prometheus answers with that bound.
                guard bucket.bound.isFinite else { return previousBound }
                let inBucket = bucket.cumulative - previousCount
                guard inBucket > 0 else { return bucket.bound }
                return previousBound + (bucket.bound - previousBound) * (rank - previousCount) / inBucket
            }
            previousBound = bucket.bound
            previousCount = bucket.cumulative
        }
        return previousBound
    }

    static func bound(_ text: String) -> Double? {
        text == "+Inf" ? .infinity : Double(text)
    }

    /// One sample line: `name{a="x",b="y"} value`.
    static func parse(_ line: Substring) -> (name: Substring, labels: [String: String], value: Double)? {
        var labels: [String: String] = [:]
        let name: Substring
        let rest: Substring
        if let open = line.firstIndex(of: "{") {
            name = line[..<open]
            var index = line.index(after: open)
            // label="value" pairs, values with \" \\ \n escapes.
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "=") else { return nil }
                let label = line[index..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var cursor = line.index(after: equals)
                guard cursor < line.endIndex, line[cursor] == "\"" else { return nil }
                cursor = line.index(after: cursor)
                var value = ""
                while cursor < line.endIndex, line[cursor] != "\"" {
                    if line[cursor] == "\\" {
                        cursor = line.index(after: cursor)
                        guard cursor < line.endIndex else { return nil }
                        value.append(line[cursor] == "n" ? "\n" : line[cursor])
                    } else {
                        value.append(line[cursor])
                    }
                    cursor = line.index(after: cursor)
                }
                guard cursor < line.endIndex else { return nil }
                labels[label] = value
                index = line.index(after: cursor)
                while index < line.endIndex, line[index] == "," || line[index] == " " { index = line.index(after: index) }
            }
            guard index < line.endIndex else { return nil }
            rest = line[line.index(after: index)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) ?? bound(String(valueText)) else { return nil }
        return (name, labels, value)
    }
}

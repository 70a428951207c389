import AerieCore
import Foundation
import Prometheus
import Synchronization

/// The gateway's metrics, kept in an injected Prometheus registry (the same one `aerie serve` hands to
/// `PrometheusMetricsFactory` for swift-metrics, so what the runtime records shows up at `/metrics` too).
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "aerie", subsystem: "http", metricName: "requests", unitName: "total",
                             helpText: "HTTP requests by route pattern, method and status.")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "aerie", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                             helpText: "HTTP request latency by route pattern, method and status.")
    }
    static var queueMessages: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "aerie", subsystem: "queue", metricName: "messages", unitName: "count",
                             helpText: "Messages per queue and state, read at scrape time.")
    }

    /// The counter and histogram of each route, method and status seen, so a request does not look them up in the
    /// registry (name and label checks under the registry's lock) every time.
    private let series = Mutex<[String: (requests: Counter, latency: DurationHistogram)]>([:])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Counts a request and records its latency, labelled by route pattern, method and status.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(method) \(status) \(route)"
        let found = series.withLock { $0[key] } ?? {
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let made = (registry.makeCounter(descriptor: Self.requests, labels: labels),
                        registry.makeDurationHistogram(descriptor: Self.latency, labels: labels, buckets: Self.latencyBuckets))
            series.withLock { $0[key] = made }
            return made
        }()
        found.requests.increment()
        found.latency.record(duration)
    }

    /// Sets the queue depth gauges from `queues.stats` (called at scrape time).
    func recordQueues(_ queues: any QueueStore) async {
        guard let configurations = try? await queues.listQueues() else { return }
        for configuration in configurations {
            guard let stats = try? await queues.stats(configuration.name) else { continue }
            for (state, value) in [("visible", stats.visible), ("in_flight", stats.inFlight), ("delayed", stats.delayed), ("dead", stats.deadLetters)] {
                registry.makeGauge(descriptor: Self.queueMessages, labels: [("queue", configuration.name), ("state", state)]).set(Double(value))
            }
        }
    }

    /// The Prometheus text exposition of everything in the registry.
    func exposition() -> String {
        registry.emitToString()
    }
}

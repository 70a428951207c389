import AerieHTTP
import CoreMetrics
import Foundation

/// The app's metrics (shown on `/metrics` through the platform's Prometheus registry):
/// `imagine_cache_hits_total`, `imagine_cache_misses_total`, `imagine_cache_bypass_total`,
/// `imagine_cache_similarity` (the best similarity each lookup found), `imagine_generation_seconds`,
/// `imagine_step_seconds` and `imagine_queue_wait_seconds`.
public struct ImagineMetrics: Sendable {
    let hits: Counter
    let misses: Counter
    let bypasses: Counter
    let similarity: Recorder
    let generation: CoreMetrics.Timer
    let step: CoreMetrics.Timer
    let queueWait: CoreMetrics.Timer

    /// Metrics from `factory`, or from the process's bootstrapped metrics system when nil.
    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        hits = Counter(label: "imagine_cache_hits_total", factory: factory)
        misses = Counter(label: "imagine_cache_misses_total", factory: factory)
        bypasses = Counter(label: "imagine_cache_bypass_total", factory: factory)
        similarity = Recorder(label: "imagine_cache_similarity", dimensions: [], aggregate: true, factory: factory)
        generation = CoreMetrics.Timer(label: "imagine_generation_seconds", factory: factory)
        step = CoreMetrics.Timer(label: "imagine_step_seconds", factory: factory)
        queueWait = CoreMetrics.Timer(label: "imagine_queue_wait_seconds", factory: factory)
    }

    /// Records a lookup's best similarity, clamped to 1: float rounding puts an exact repeat a hair above 1, which
    /// would land in the histogram's +Inf bucket.
    func recordSimilarity(_ similarity: Float) {
        self.similarity.record(min(Double(similarity), 1))
    }

    /// Histogram buckets by metric label for a Prometheus factory's `valueHistogramBuckets`: the similarity (0…1).
    public static let valueBuckets: [String: [Double]] = [
        "imagine_cache_similarity": [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1.0],
    ]
    /// Histogram buckets by metric label for a Prometheus factory's `durationHistogramBuckets`: generation and
    /// queue wait last up to minutes with a real model.
    public static let durationBuckets: [String: [Duration]] = {
        let long: [Duration] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            .seconds(10), .seconds(20), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        ]
        return ["imagine_generation_seconds": long, "imagine_queue_wait_seconds": long]
    }()

    /// The console panel showing these metrics.
    static let consolePanels = [
        ConsolePanel(title: "Imagine: prompt cache and generation", items: [
            .counter("imagine_cache_hits_total", label: "cache hits"),
            .counter("imagine_cache_misses_total", label: "cache misses"),
            .counter("imagine_cache_bypass_total", label: "cache bypasses"),
            .ratio(label: "hit ratio", numerator: ["imagine_cache_hits_total"],
                   denominator: ["imagine_cache_hits_total", "imagine_cache_misses_total"]),
            .histogram("imagine_cache_similarity", label: "best similarity per lookup", unit: .plain, chart: true),
            .histogram("imagine_generation_seconds", label: "generation", unit: .seconds),
            .histogram("imagine_step_seconds", label: "diffusion step", unit: .seconds),
            .histogram("imagine_queue_wait_seconds", label: "queue wait", unit: .seconds),
        ]),
    ]
}

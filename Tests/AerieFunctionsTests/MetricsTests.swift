import AerieCore
@testable import AerieFunctions
import CoreMetrics
import Foundation
import Logging
import Synchronization
import Testing

/// A metrics backend that remembers counter totals and the last gauge values by label and dimensions.
final class RecordingMetrics: MetricsFactory, Sendable {
    final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        let key: String
        let metrics: RecordingMetrics
        init(key: String, metrics: RecordingMetrics) {
            self.key = key
            self.metrics = metrics
        }
        func increment(by amount: Int64) { metrics.values.withLock { $0[key, default: 0] += Double(amount) } }
        func reset() { metrics.values.withLock { $0[key] = 0 } }
        func record(_ value: Int64) { metrics.values.withLock { $0[key] = Double(value) } }
        func record(_ value: Double) { metrics.values.withLock { $0[key] = value } }
        func recordNanoseconds(_ duration: Int64) { metrics.values.withLock { $0[key + "#count", default: 0] += 1 } }
    }

    let values = Mutex<[String: Double]>([:])

    func value(_ label: String, _ dimensions: [(String, String)]) -> Double? {
        values.withLock { $0[Self.key(label, dimensions)] }
    }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Handler(key: Self.key(label, dimensions), metrics: self) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { Handler(key: Self.key(label, dimensions), metrics: self) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Handler(key: Self.key(label, dimensions), metrics: self) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

@Suite struct MetricsTests {
    @Test(arguments: Storage.allCases) func invocationsColdStartsDurationsAndInFlightAreReported(_ storage: Storage) async throws {
        try await storage.with { (primitives: Primitives) async throws in
            let metrics = RecordingMetrics()
            var configuration = TestRuntime.configuration
            configuration.metricsFactory = metrics
            let runtime = FunctionRuntime(primitives: primitives, configuration: configuration, logger: Logger(label: "test"))
            try runtime.register(Echo())
            _ = try await runtime.invoke("echo", input: body(#"{"text":"a"}"#), trigger: .http, owner: nil)
            _ = try await runtime.invoke("echo", input: body(#"{"text":"b"}"#), trigger: .http, owner: nil)
            _ = try? await runtime.invoke("echo", input: body(#"{"text":"fail"}"#), trigger: .http, owner: nil)
            #expect(metrics.value("aerie_invocations_total", [("function", "echo"), ("status", "succeeded")]) == 2)
            #expect(metrics.value("aerie_invocations_total", [("function", "echo"), ("status", "failed")]) == 1)
            #expect(metrics.value("aerie_cold_starts_total", [("function", "echo")]) == 1)
            #expect(metrics.values.withLock { $0["aerie_invocation_duration_seconds|function=echo#count"] } == 3)
            #expect(metrics.value("aerie_function_in_flight", [("function", "echo")]) == 0)
            let stats = try #require(await runtime.function("echo")?.stats)
            #expect(stats.invocations == 3)
            #expect(stats.errors == 1)
            #expect(stats.p50Ms != nil)
            #expect(stats.p95Ms != nil)
        }
    }
}

import AerieCore
import AerieHTTPTesting
import AerieFunctions
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@testable import AerieHTTP

/// An app that declares a console panel over metrics named `stub_*`, as Imagine does over `imagine_*`.
private struct MeteredApp: AerieHTTPApp {
    static let name = "metered"

    func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {}
    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] { [] }

    func consolePanels() -> [ConsolePanel] {
        [ConsolePanel(title: "Stub cache", items: [
            .counter("stub_hits_total", label: "hits"),
            .counter("stub_misses_total", label: "misses"),
            .counter("stub_never_total", label: "never recorded"),
            .ratio(label: "hit ratio", numerator: ["stub_hits_total"], denominator: ["stub_hits_total", "stub_misses_total"]),
            .histogram("stub_similarity", label: "similarity", unit: .plain, chart: true),
            .histogram("stub_seconds", label: "work", unit: .seconds),
            .histogram("stub_absent_seconds", label: "absent", unit: .seconds),
        ])]
    }
}

@Suite("Console app panels")
struct ConsolePanelTests {
    /// A descriptor whose full name is `name`, as swift-metrics labels become in the registry.
    static func named(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: "")
    }

    @Test("an app's panel reports its counters, ratio and histogram summaries from the registry")
    func panelFigures() async throws {
        let harness = try await GatewayHarness.make(apps: [MeteredApp()])
        let hits = harness.registry.makeCounter(descriptor: Self.named("stub_hits_total"))
        hits.increment(by: Int64(3))
        harness.registry.makeCounter(descriptor: Self.named("stub_misses_total")).increment()
        let similarity = harness.registry.makeValueHistogram(descriptor: Self.named("stub_similarity"), buckets: [0.5, 0.9, 1.0])
        for value in [0.4, 0.95, 0.97, 0.99] { similarity.record(value) }
        let work = harness.registry.makeDurationHistogram(descriptor: Self.named("stub_seconds"), buckets: [.seconds(1), .seconds(2), .seconds(4)])
        work.record(.milliseconds(500))
        work.record(.milliseconds(1500))

        try await harness.test { client in
            let response = try await client.send(.get, "/console/api/apps", token: harness.adminToken)
            #expect(response.status == .ok)
            let body = try response.json()
            guard case .array(let panels)? = body["panels"], panels.count == 1, let panel = panels.first else {
                Issue.record("expected one panel in \(response.text)")
                return
            }
            #expect(panel["app"] == .string("metered"))
            #expect(panel["title"] == .string("Stub cache"))
            guard case .array(let stats)? = panel["stats"], case .array(let histograms)? = panel["histograms"] else {
                Issue.record("expected stats and histograms in \(response.text)")
                return
            }
            func stat(_ label: String) -> JSONValue? { stats.first { $0["label"] == .string(label) }?["value"] }
            #expect(stat("hits")?.numberValue == 3)
            #expect(stat("misses")?.numberValue == 1)
            #expect(stat("never recorded") == .null || stat("never recorded") == nil)
            #expect(stat("hit ratio")?.numberValue == 0.75)

            func histogram(_ label: String) -> JSONValue? { histograms.first { $0["label"] == .string(label) } }
            let similarityReport = try #require(histogram("similarity"))
            #expect(similarityReport["count"]?.numberValue == 4)
            #expect(similarityReport["chart"] == .bool(true))
            // Per-bucket counts (not cumulative): ≤0.5, ≤0.9, ≤1.0, +Inf.
            guard case .array(let buckets)? = similarityReport["buckets"] else {
                Issue.record("expected buckets in \(response.text)")
                return
            }
            #expect(buckets.map { $0["count"]?.numberValue } == [1, 0, 3, 0])
            #expect(buckets.last?["le"] == .null || buckets.last?["le"] == nil)
            let p50 = try #require(similarityReport["p50"]?.numberValue)
            #expect(p50 > 0.9 && p50 <= 1.0)

            let workReport = try #require(histogram("work"))
            #expect(workReport["count"]?.numberValue == 2)
            #expect(workReport["unit"] == .string("seconds"))
            let mean = try #require(workReport["mean"]?.numberValue)
            #expect(abs(mean - 1.0) < 1e-9)
            let p95 = try #require(workReport["p95"]?.numberValue)
            #expect(p95 > 1 && p95 <= 2)

            let absent = try #require(histogram("absent"))
            #expect(absent["count"]?.numberValue == 0)
            #expect(absent["p50"] == .null || absent["p50"] == nil)
        }
    }

    @Test("the panels endpoint is for admins only, and the Apps page is in the console's navigation")
    func adminOnly() async throws {
        let harness = try await GatewayHarness.make(apps: [MeteredApp()])
        try await harness.test { client in
            let anonymous = try await client.send(.get, "/console/api/apps")
            #expect(anonymous.status == .unauthorized)
            let user = try await client.send(.get, "/console/api/apps", token: harness.userToken)
            #expect(user.status == .forbidden)
            let page = try await client.send(.get, "/console/apps", token: harness.adminToken)
            #expect(page.status == .ok)
            #expect(page.text.contains("id=\"app-panels\""))
            #expect(page.text.contains("href=\"/console/apps\""))
        }
    }

    @Test("without apps that declare panels the endpoint answers an empty list")
    func noPanels() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.test { client in
            let response = try await client.send(.get, "/console/api/apps", token: harness.adminToken)
            #expect(response.status == .ok)
            #expect(try response.json()["panels"] == .array([]))
        }
    }
}

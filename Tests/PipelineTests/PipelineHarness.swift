import AerieCore
import AerieHTTPTesting
import AerieTesting
import Foundation
import HummingbirdTesting
import Pipeline
import Testing

/// The shared gateway harness with the Pipeline app, an admin (`admin`) and two users (`ann`, `bob`).
enum PipelineHarness {
    static func make(limits: PipelineLimits = PipelineLimits()) async throws -> GatewayHarness {
        try await GatewayHarness.make(
            configure: { $0.maxBodySize = 1 << 20; $0.maxJSONBodySize = 64 * 1024 },
            apps: [PipelineApp(limits: limits)], users: ["ann", "bob"])
    }
}

extension GatewayHarness {
    var annToken: String { token("ann") }
    var bobToken: String { token("bob") }
}

enum Fixture {
    static func text(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }
}

extension TestClientProtocol {
    /// Uploads CSV text as the body of `POST /v1/apps/pipeline/datasets?<query>`.
    func upload(_ csv: String, query: String, token: String?) async throws -> TestResponse {
        try await send(.post, "/v1/apps/pipeline/datasets?\(query)", token: token, body: Data(csv.utf8), contentType: "text/csv")
    }

    /// Polls the dataset until its latest version is ready or failed, and returns it.
    func finished(_ name: String, token: String, version: Int? = nil) async throws -> JSONValue {
        var last = JSONValue.null
        try await eventually("dataset \(name) to finish") {
            let response = try await send(.get, "/v1/apps/pipeline/datasets/\(name)", token: token)
            guard response.status == .ok else { return false }
            last = try response.json()
            if let version, last["version"]?.numberValue != Double(version) { return false }
            let stage = last["stage"]?.stringValue
            return stage == "ready" || stage == "failed"
        }
        return last
    }
}

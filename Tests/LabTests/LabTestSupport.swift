import AerieCore
import AerieHTTPTesting
import AerieTesting
import Foundation
import HummingbirdTesting
import Testing

@testable import Lab

/// The shared gateway harness with the Lab app, an admin and two users (`ann`, `bob`).
enum LabHarness {
    static func make(primitives: Primitives = .memory(), app: LabApp = LabApp()) async throws -> GatewayHarness {
        try await GatewayHarness.make(primitives: primitives, configure: { $0.maxJSONBodySize = 256 * 1024 },
                                      apps: [app], users: ["ann", "bob"])
    }
}

extension TestClientProtocol {
    /// Sends a training request and returns the opaque id of the new draft (expecting 202).
    func train(_ body: JSONValue, token: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let response = try await send(.post, "/v1/apps/lab/experiments", token: token, jsonValue: body)
        #expect(response.status == .accepted, "body: \(response.text)", sourceLocation: sourceLocation)
        let json = try response.json()
        #expect(json["status"]?.stringValue == "queued", sourceLocation: sourceLocation)
        #expect(json["state"]?.stringValue == "draft", sourceLocation: sourceLocation)
        return try #require(json["id"]?.stringValue, sourceLocation: sourceLocation)
    }

    /// Polls the experiment until its status is one of `statuses`, and returns it.
    func experiment(_ id: String, token: String, reaching statuses: Set<String>) async throws -> JSONValue {
        var last = JSONValue.null
        try await eventually("experiment to reach \(statuses.sorted())", limit: .seconds(120), poll: .milliseconds(20)) {
            let response = try await send(.get, "/v1/apps/lab/experiments/\(id)", token: token)
            guard response.status == .ok else { return false }
            last = try response.json()
            return statuses.contains(last["status"]?.stringValue ?? "")
        }
        return last
    }

    /// Trains, then evaluates, and returns the evaluated experiment.
    func trainAndEvaluate(_ body: JSONValue, token: String) async throws -> (id: String, experiment: JSONValue) {
        let id = try await train(body, token: token)
        let trained = try await experiment(id, token: token, reaching: ["trained", "failed"])
        #expect(trained["status"]?.stringValue == "trained", "\(trained)")
        #expect(trained["metrics"] == .null)
        let evaluate = try await send(.post, "/v1/apps/lab/experiments/\(id)/evaluate", token: token)
        #expect(evaluate.status == .accepted, "\(evaluate.text)")
        return (id, try await experiment(id, token: token, reaching: ["evaluated", "failed"]))
    }
}

extension JSONValue {
    var errorsList: [JSONValue] { self["errors"]?.arrayValue ?? [] }
    var rules: [String] { errorsList.compactMap { $0["rule"]?.stringValue } }
}

import AerieAuth
import AerieCore
import AerieHTTPTesting
import AerieFunctions
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AerieHTTP

/// Opens once; every waiter before and after passes.
actor Gate {
    private var open = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if open { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        open = true
        waiters.forEach { $0.resume() }
        waiters.removeAll()
    }
}

struct EchoFunction: Function {
    static let name = "echo"
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { input }
}

struct FailingFunction: Function {
    struct Boom: Error, CustomStringConvertible { var description: String { "the model exploded" } }
    static let name = "fail"
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { throw Boom() }
}

struct SlowFunction: Function {
    static let name = "slow"
    var configuration: FunctionConfiguration { FunctionConfiguration(timeout: .milliseconds(50), retries: 0) }
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        try await Task.sleep(for: .seconds(30))
        return .null
    }
}

struct WaitingFunction: Function {
    static let name = "wait"
    var configuration: FunctionConfiguration { FunctionConfiguration(timeout: .seconds(60), retries: 0) }
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        try await Task.sleep(for: .seconds(60))
        return .null
    }
}

struct GatedFunction: Function {
    static let name = "gated"
    let gate: Gate
    var configuration: FunctionConfiguration { FunctionConfiguration(concurrency: 1, maxWaiting: 0) }
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        await gate.wait()
        return "opened"
    }
}

/// An app's internal function: its input names data of any user, so only admins invoke it directly.
struct InternalFunction: Function {
    static let name = "internal"
    var configuration: FunctionConfiguration { FunctionConfiguration(adminOnly: true) }
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { ["ran": true] }
}

struct ReportingFunction: Function {
    static let name = "report"
    func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue {
        await context.progress(0.5, "half way")
        await context.log("hello from report")
        return ["done": true]
    }
}

/// A gateway with a running function runtime and the test functions registered.
func withFunctions(_ configure: (inout GatewayConfiguration) -> Void = { _ in },
                   _ test: @Sendable (any TestClientProtocol, GatewayHarness, Gate) async throws -> Void) async throws {
    let gate = Gate()
    let harness = try await GatewayHarness.make(configure: configure, functions: { runtime in
        try runtime.register(EchoFunction())
        try runtime.register(FailingFunction())
        try runtime.register(SlowFunction())
        try runtime.register(WaitingFunction())
        try runtime.register(GatedFunction(gate: gate))
        try runtime.register(ReportingFunction())
        try runtime.register(InternalFunction())
    })
    try await harness.test { client in
        do {
            try await test(client, harness, gate)
        } catch {
            await gate.release()
            throw error
        }
        await gate.release()
    }
}

/// Polls until `condition` holds (at most ~10 s), for state that changes in the background.
func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
    for _ in 0..<1000 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition did not become true in time")
}

@Suite("Functions and invocations over HTTP")
struct FunctionRoutesTests {
    @Test("an admin-only function answers 403 to users (sync and async) and runs for admins; the listing says which")
    func adminOnlyFunctions() async throws {
        try await withFunctions { client, harness, _ in
            try await client.send(.post, "/v1/functions/internal/invoke", token: harness.userToken, json: "{}").expectProblem("forbidden", status: 403)
            try await client.send(.post, "/v1/functions/internal/invocations", token: harness.userToken, json: "{}").expectProblem("forbidden", status: 403)
            let ran = try await client.send(.post, "/v1/functions/internal/invoke", token: harness.adminToken, json: "{}")
            #expect(ran.status == .ok)
            #expect(try ran.json()["ran"] == true)
            #expect(try await client.send(.post, "/v1/functions/echo/invoke", token: harness.userToken, json: "{}").status == .ok)
            #expect(try await client.send(.get, "/v1/functions/internal", token: harness.userToken).json()["admin_only"] == true)
            #expect(try await client.send(.get, "/v1/functions/echo", token: harness.userToken).json()["admin_only"] == false)
        }
    }

    @Test("List and describe functions with stats; unknown function is 404")
    func listFunctions() async throws {
        try await withFunctions { client, harness, _ in
            let list = try await client.send(.get, "/v1/functions", token: harness.userToken)
            #expect(list.status == .ok)
            let names = try list.json()["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Set(names).isSuperset(of: ["echo", "fail", "report"]))
            let one = try await client.send(.get, "/v1/functions/echo", token: harness.userToken).json()
            #expect(one["name"] == "echo")
            #expect(one["stats"]?["invocations"] != nil)
            try await client.send(.get, "/v1/functions/nope", token: harness.userToken).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/functions", token: nil).expectProblem("unauthenticated", status: 401)
        }
    }

    @Test("Sync invoke returns the output with the invocation id; failures map to 502, 504, 400, 415, 404")
    func syncInvoke() async throws {
        try await withFunctions { client, harness, _ in
            let ok = try await client.send(.post, "/v1/functions/echo/invoke", token: harness.userToken, json: #"{"hello": "world"}"#)
            #expect(ok.status == .ok)
            #expect(try ok.json() == ["hello": "world"])
            let id = try #require(ok.headers[.invocationId])
            try await eventually { try await harness.runtime.invocation(id) != nil }
            #expect(try await harness.runtime.invocation(id)?.owner == "ann")

            let failed = try await client.send(.post, "/v1/functions/fail/invoke", token: harness.userToken, json: "{}")
            try failed.expectProblem("function-failed", status: 502)
            #expect(failed.headers[.invocationId] != nil)
            try await client.send(.post, "/v1/functions/slow/invoke", token: harness.userToken, json: "{}").expectProblem("timed-out", status: 504)
            try await client.send(.post, "/v1/functions/echo/invoke", token: harness.userToken, json: "{oops").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "/v1/functions/echo/invoke", token: harness.userToken, json: "{}", headers: [.contentType: "text/plain"])
                .expectProblem("unsupported-media-type", status: 415)
            try await client.send(.post, "/v1/functions/nope/invoke", token: harness.userToken, json: "{}").expectProblem("not-found", status: 404)
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains(#"aerie_invocations_total{function="echo",status="succeeded"}"#), "runtime metrics missing from /metrics")
            #expect(metrics.contains(#"route="/v1/functions/{name}/invoke""#))
            let key = try await harness.gateway.auth.createKey(name: "objects", owner: "ann", scopes: [APIKeyScope.objectsRead])
            try await client.send(.post, "/v1/functions/echo/invoke", token: key.key, json: "{}").expectProblem("forbidden", status: 403)
        }
    }

    @Test("A full waiting line is 429 with Retry-After")
    func busy() async throws {
        try await withFunctions { client, harness, gate in
            let first = Task { try await client.send(.post, "/v1/functions/gated/invoke", token: harness.userToken, json: "{}") }
            try await eventually { await harness.runtime.function("gated")?.stats.inFlight == 1 }
            let second = try await client.send(.post, "/v1/functions/gated/invoke", token: harness.userToken, json: "{}")
            try second.expectProblem("rate-limited", status: 429)
            #expect(second.headers[.retryAfter].flatMap(Int.init).map { $0 >= 1 } == true)
            await gate.release()
            let response = try await first.value
            #expect(response.status == .ok)
            #expect(try response.json() == "opened")
        }
    }

    @Test("Async invoke: 202 with Location, idempotency key returns the first, record, SSE events, logs")
    func asyncInvoke() async throws {
        try await withFunctions { client, harness, _ in
            let accepted = try await client.send(.post, "/v1/functions/report/invocations", token: harness.userToken, json: #"{"x": 1}"#,
                                                 headers: [.idempotencyKey: "k-1"])
            #expect(accepted.status == .accepted)
            let id = try #require(try accepted.json()["id"]?.stringValue)
            #expect(accepted.headers[.location] == "/v1/invocations/\(id)")
            let again = try await client.send(.post, "/v1/functions/report/invocations", token: harness.userToken, json: #"{"x": 1}"#,
                                              headers: [.idempotencyKey: "k-1"])
            #expect(again.status == .ok || again.status == .accepted)
            #expect(try again.json()["id"] == .string(id))

            try await eventually {
                let record = try await client.send(.get, "/v1/invocations/\(id)", token: harness.userToken).json()
                return record["status"] == "succeeded"
            }
            let record = try await client.send(.get, "/v1/invocations/\(id)", token: harness.userToken).json()
            #expect(record["owner"] == "ann")
            #expect(record["function"] == "report")
            #expect(record["output"] == ["done": true])
            #expect(record["created_at"]?.stringValue?.hasSuffix("Z") == true)

            let stream = try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.userToken)
            #expect(stream.status == .ok)
            #expect(stream.headers[.contentType] == "text/event-stream")
            let text = stream.text
            #expect(text.contains("event: progress\n"))
            #expect(text.contains("event: log\n"))
            #expect(text.contains("event: result\n"))
            #expect(text.contains("id: 1\n"))
            #expect(text.contains("half way"))
            let resumed = try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.userToken, headers: [.lastEventId: "1"]).text
            #expect(!resumed.contains("id: 1\n"))
            #expect(resumed.contains("event: result\n"))
            let pastTheEnd = try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.userToken, headers: [.lastEventId: "999"])
            #expect(pastTheEnd.status == .ok)
            #expect(pastTheEnd.text.isEmpty)
            try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.userToken, headers: [.lastEventId: "soon"])
                .expectProblem("invalid-argument", status: 400)

            let logs = try await client.send(.get, "/v1/invocations/\(id)/logs", token: harness.userToken).json()
            #expect(logs["items"]?.arrayValue?.contains { $0["data"]?["message"] == "hello from report" || $0["data"] == "hello from report" } == true)

            let list = try await client.send(.get, "/v1/invocations?function=report", token: harness.userToken).json()
            #expect(list["items"]?.arrayValue?.contains { $0["id"] == .string(id) } == true)
            try await client.send(.get, "/v1/invocations?status=bogus", token: harness.userToken).expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("Invocations are private to their owner: another user gets 404, admins see them")
    func ownership() async throws {
        try await withFunctions { client, harness, _ in
            _ = try await harness.gateway.auth.createUser("bob", password: "bob-password")
            let bob = try await harness.gateway.auth.issueToken(for: "bob").token
            let accepted = try await client.send(.post, "/v1/functions/echo/invocations", token: harness.userToken, json: "1")
            let id = try #require(try accepted.json()["id"]?.stringValue)
            try await client.send(.get, "/v1/invocations/\(id)", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/invocations/\(id)/events", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/invocations/\(id)/logs", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.delete, "/v1/invocations/\(id)", token: bob).expectProblem("not-found", status: 404)
            let bobs = try await client.send(.get, "/v1/invocations", token: bob).json()
            #expect(bobs["items"]?.arrayValue?.isEmpty == true)
            #expect(try await client.send(.get, "/v1/invocations/\(id)", token: harness.adminToken).status == .ok)
            let all = try await client.send(.get, "/v1/invocations", token: harness.adminToken).json()
            #expect(all["items"]?.arrayValue?.contains { $0["id"] == .string(id) } == true)
        }
    }

    @Test("A quiet event stream carries keep-alive comments and ends with the error event when cancelled")
    func keepAlive() async throws {
        try await withFunctions({ $0.eventStreamKeepAlive = .milliseconds(10) }) { client, harness, _ in
            let accepted = try await client.send(.post, "/v1/functions/wait/invocations", token: harness.userToken, json: "{}")
            let id = try #require(try accepted.json()["id"]?.stringValue)
            try await eventually { try await harness.runtime.invocation(id)?.status == .running }
            let follower = Task { try await client.send(.get, "/v1/invocations/\(id)/events", token: harness.userToken).text }
            // Give the follower time to receive a few keep-alives (no timing is asserted).
            try await Task.sleep(for: .milliseconds(300))
            _ = try await harness.runtime.cancel(id)
            let text = try await follower.value
            #expect(text.contains(": keep-alive\n\n"))
            #expect(text.contains("event: error\n"))
        }
    }

    @Test("Cancel a running invocation; cancelling a finished one is 409")
    func cancel() async throws {
        try await withFunctions { client, harness, _ in
            let accepted = try await client.send(.post, "/v1/functions/wait/invocations", token: harness.userToken, json: "{}")
            let id = try #require(try accepted.json()["id"]?.stringValue)
            try await eventually { try await harness.runtime.invocation(id)?.status == .running }
            let cancelled = try await client.send(.delete, "/v1/invocations/\(id)", token: harness.userToken)
            #expect(cancelled.status == .ok)
            #expect(try cancelled.json()["status"] == "cancelled")
            try await client.send(.delete, "/v1/invocations/\(id)", token: harness.userToken).expectProblem("conflict", status: 409)
            try await client.send(.delete, "/v1/invocations/unknown-id", token: harness.userToken).expectProblem("not-found", status: 404)
        }
    }
}

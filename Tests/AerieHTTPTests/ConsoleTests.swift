import AerieAuth
import AerieCore
import Logging
import AerieFunctions
import AerieHTTPTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AerieHTTP

/// The gateway harness's admin (`admin` / `admin-password`) and plain user (`ann` / `ann-password`), for the console tests.
private struct ConsoleHarness {
    let harness: GatewayHarness
    var primitives: Primitives { harness.primitives }

    static func make() async throws -> ConsoleHarness {
        ConsoleHarness(harness: try await GatewayHarness.make())
    }

    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await harness.test { client in try await test(client) }
    }
}

@Suite("Console pages")
struct ConsoleTests {
    @Test("The sign-in page renders a form that posts to /console/login and keeps the page to return to")
    func loginPage() async throws {
        try await ConsoleHarness.make().run { client in
            let page = try await client.get("/console/login?next=%2Fconsole%2Fqueues")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let html = page.text
            #expect(html.contains(#"<form class="card login" method="post" action="/console/login">"#))
            #expect(html.contains(#"name="username""#) && html.contains(#"type="password""#))
            #expect(html.contains(#"name="next" value="/console/queues""#))
            #expect(!html.contains("login-error"))
            // An off-site `next` is dropped.
            let offsite = try await client.get("/console/login?next=%2F%2Fevil.example")
            #expect(offsite.text.contains(#"name="next" value="/console""#))
        }
    }

    @Test("A wrong password sets no cookie and lands on the form again with an error and 401")
    func badPassword() async throws {
        try await ConsoleHarness.make().run { client in
            let failed = try await client.postLogin("username=admin&password=wrong-password")
            #expect(failed.headers[.setCookie] == nil)
            let location = try #require(failed.headers[.location])
            let page = try await client.get(location)
            #expect(page.status == .unauthorized)
            #expect(page.text.contains("The user name or password is wrong"))
            #expect(page.text.contains(#"id="login-error""#))
        }
    }

    @Test("A good sign-in sets an HttpOnly, SameSite=Lax session cookie and redirects to the console")
    func goodLogin() async throws {
        try await ConsoleHarness.make().run { client in
            let response = try await client.postLogin("username=admin&password=admin-password")
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/console")
            let session = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("aerie_session=") })
            #expect(session.contains("HttpOnly"))
            #expect(session.lowercased().contains("samesite=lax"))
        }
    }

    @Test("Console pages redirect to the sign-in page without a session and render every area with one")
    func pagesNeedSession() async throws {
        try await ConsoleHarness.make().run { client in
            let anonymous = try await client.get("/console/functions")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/console/login?next=/console/functions")
            let withQuery = try await client.get("/console/invocations?function=wordcount")
            #expect(withQuery.headers[.location] == "/console/login?next=/console/invocations%3Ffunction%3Dwordcount")

            let session = try await client.signIn("admin", "admin-password")
            let pages = [("/console", "overview"), ("/console/functions", "functions"), ("/console/invocations", "invocations"),
                         ("/console/invocations/inv-1", "invocation"), ("/console/queues", "queues"), ("/console/topics", "topics"),
                         ("/console/objects", "objects"), ("/console/users", "users")]
            for (path, name) in pages {
                let page = try await client.get(path, session: session)
                #expect(page.status == .ok, "\(path)")
                let html = page.text
                #expect(html.contains(#"<body data-page="\#(name)">"#), "\(path)")
                #expect(html.contains(#"<meta name="csrf-token" content="\#(session.csrf)">"#), "\(path)")
                #expect(html.contains(#"<script src="/kit/kit.js?v="#), "\(path)")
                #expect(html.contains(#"<script src="/console/static/console.js?v="#), "\(path)")
                #expect(html.contains(#"<span class="who">admin</span>"#), "\(path)")
                #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            }
            let functions = try await client.get("/console/functions", session: session).text
            #expect(functions.contains(#"<a href="/console/functions" class="active" aria-current="page">Functions</a>"#))
            let users = try await client.get("/console/users", session: session).text
            for scope in APIKeyScope.all { #expect(users.contains(#"value="\#(scope)""#)) }
        }
    }

    @Test("Values in pages are HTML-escaped")
    func escaping() async throws {
        try await ConsoleHarness.make().run { client in
            let session = try await client.signIn("admin", "admin-password")
            let page = try await client.get("/console/invocations/%3Cscript%3Ealert(1)%3C%2Fscript%3E", session: session)
            #expect(page.status == .ok)
            #expect(!page.text.contains("<script>alert"))
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }

    @Test("A signed-in user who is not an admin gets a 403 page")
    func plainUserForbidden() async throws {
        try await ConsoleHarness.make().run { client in
            let session = try await client.signIn("ann", "ann-password")
            let page = try await client.get("/console/queues", session: session)
            #expect(page.status == .forbidden)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("Admins only"))
            #expect(page.text.contains("<strong>ann</strong>"))
            // In the kit's layout, without the console in the top bar (it is for admins).
            #expect(page.text.contains(#"<span class="who">ann</span>"#))
            #expect(!page.text.contains(#"data-app="console""#))
            let latency = try await client.get("/console/api/latency", session: session)
            #expect(latency.status == .forbidden)
        }
    }

    @Test("With the session cookie, a state-changing API call needs X-CSRF-Token; reads do not")
    func csrfOnAPI() async throws {
        try await ConsoleHarness.make().run { client in
            let session = try await client.signIn("admin", "admin-password")
            let body = ByteBuffer(string: #"{"name": "jobs"}"#)
            let refused = try await client.executeRequest(uri: "/v1/queues", method: .post,
                                                          headers: [.cookie: session.cookieHeader, .contentType: "application/json"], body: body)
            #expect(refused.status == .forbidden)
            let wrong = try await client.executeRequest(uri: "/v1/queues", method: .post,
                                                        headers: [.cookie: session.cookieHeader, .contentType: "application/json", .csrfToken: "nope"], body: body)
            #expect(wrong.status == .forbidden)
            let accepted = try await client.executeRequest(uri: "/v1/queues", method: .post,
                                                           headers: [.cookie: session.cookieHeader, .contentType: "application/json", .csrfToken: session.csrf],
                                                           body: body)
            #expect(accepted.status == .created)
            let list = try await client.get("/v1/queues", session: session)
            #expect(list.status == .ok)
            #expect(list.text.contains(#""name":"jobs""#))
        }
    }

    @Test("The console's script and stylesheet are served with their types and an ETag")
    func staticFiles() async throws {
        try await ConsoleHarness.make().run { client in
            let script = try await client.get("/console/static/console.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            // The console's script uses the page kit's helpers instead of its own copies.
            #expect(script.text.contains("= aerie;"))
            #expect(!script.text.contains("X-CSRF-Token"))
            let etag = try #require(script.headers[.eTag])
            let again = try await client.get("/console/static/console.js", headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            let style = try await client.get("/console/static/console.css")
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
            #expect(try await client.get("/console/static/missing.js").status == .notFound)
        }
    }

    @Test("The latency endpoint summarises the gateway's request histogram per route; anonymous callers get 401")
    func latencyEndpoint() async throws {
        try await ConsoleHarness.make().run { client in
            #expect(try await client.get("/console/api/latency").status == .unauthorized)
            for _ in 0..<3 { _ = try await client.get("/health") }
            let session = try await client.signIn("admin", "admin-password")
            let response = try await client.get("/console/api/latency", session: session)
            #expect(response.status == .ok)
            let body = try JSONValue.parse(Data(response.text.utf8))
            guard case .array(let routes)? = body["routes"] else {
                Issue.record("no routes in \(response.text)")
                return
            }
            let health = try #require(routes.first { $0["route"] == "/health" })
            #expect(health["method"] == "GET")
            #expect(health["count"] == .number(3))
            #expect(health["p50_ms"]?.numberValue != nil)
            #expect(health["p95_ms"]?.numberValue != nil)
            #expect(health["buckets"] != nil)
            // The console's own polling is left out.
            #expect(!routes.contains { $0["route"] == "/console/api/latency" })
        }
    }

    @Test("GET /v1/nodes lists every node's heartbeat, live or silent, to admins only; a stopped node leaves the list")
    func nodesEndpoint() async throws {
        let harness = try await ConsoleHarness.make()
        let a = NodeHeartbeat(tables: harness.primitives.tables, runtime: harness.harness.runtime, roles: ["gateway"],
                              address: "http://10.0.0.1:8080", logger: Logger(label: "test"))
        let b = NodeHeartbeat(tables: harness.primitives.tables, runtime: harness.harness.runtime, roles: ["worker"],
                              address: "http://10.0.0.2:8081", logger: Logger(label: "test"))
        try await NodeHeartbeat.ensureTable(harness.primitives.tables)
        try await a.beat()
        try await b.beat(now: Date().addingTimeInterval(-30))  // missed its last heartbeats
        try await harness.run { client in
            #expect(try await client.send(.get, "/v1/nodes").status == .unauthorized)
            let session = try await client.signIn("ann", "ann-password")
            #expect(try await client.get("/v1/nodes", session: session).status == .forbidden)
            let admin = try await client.signIn("admin", "admin-password")
            let response = try await client.get("/v1/nodes", session: admin)
            #expect(response.status == .ok)
            let body = try JSONValue.parse(Data(response.text.utf8))
            guard case .array(let nodes)? = body["items"] else {
                Issue.record("no items in \(response.text)")
                return
            }
            let byAddress = Dictionary(uniqueKeysWithValues: nodes.compactMap { node in node["address"]?.stringValue.map { ($0, node) } })
            #expect(byAddress["http://10.0.0.1:8080"]?["alive"] == .bool(true))
            #expect(byAddress["http://10.0.0.1:8080"]?["roles"] == .array(["gateway"]))
            #expect(byAddress["http://10.0.0.2:8081"]?["alive"] == .bool(false))
            #expect(byAddress["http://10.0.0.2:8081"]?["heartbeat_at"]?.stringValue != nil, "\(response.text)")
        }
        // Expired rows (a minute past the last heartbeat) leave the list.
        #expect(try await harness.primitives.tables.purgeExpired(now: Date().addingTimeInterval(120)) == 2)
        #expect(try await NodeHeartbeat.nodes(tables: harness.primitives.tables).isEmpty)
    }

    @Test("The topics endpoint lists each topic's next offset and its consumer groups with their lag")
    func topicsEndpoint() async throws {
        let harness = try await ConsoleHarness.make()
        _ = try await harness.primitives.events.append(topic: "orders", [OutgoingEvent(key: nil, payload: Data("{}".utf8)),
                                                                          OutgoingEvent(key: nil, payload: Data("{}".utf8)),
                                                                          OutgoingEvent(key: nil, payload: Data("{}".utf8))])
        try await harness.primitives.events.commit(group: "billing", topic: "orders", offset: 1)
        try await harness.run { client in
            let session = try await client.signIn("admin", "admin-password")
            let body = try JSONValue.parse(Data(try await client.get("/console/api/topics", session: session).text.utf8))
            guard case .array(let topics)? = body["items"], let orders = topics.first else {
                Issue.record("no topics in \(body)")
                return
            }
            #expect(orders["name"] == "orders")
            #expect(orders["next_offset"] == .number(3))
            guard case .array(let consumers)? = orders["consumers"], let billing = consumers.first else {
                Issue.record("no consumers in \(orders)")
                return
            }
            #expect(billing["group"] == "billing")
            #expect(billing["offset"] == .number(1))
            #expect(billing["lag"] == .number(2))
        }
    }

    @Test("Latency quantiles interpolate inside histogram buckets like histogram_quantile")
    func latencyQuantiles() {
        let exposition = """
        # TYPE aerie_http_request_duration_seconds histogram
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="200",le="0.01"} 50
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="200",le="0.1"} 90
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="200",le="+Inf"} 100
        aerie_http_request_duration_seconds_count{route="/a",method="GET",status="200"} 100
        aerie_http_request_duration_seconds_sum{route="/a",method="GET",status="200"} 3.0
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="500",le="0.01"} 0
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="500",le="0.1"} 0
        aerie_http_request_duration_seconds_bucket{route="/a",method="GET",status="500",le="+Inf"} 0
        aerie_http_request_duration_seconds_count{route="/a",method="GET",status="500"} 0
        aerie_http_request_duration_seconds_bucket{route="/b",method="POST",status="201",le="0.01"} 1
        aerie_http_request_duration_seconds_bucket{route="/b",method="POST",status="201",le="0.1"} 1
        aerie_http_request_duration_seconds_bucket{route="/b",method="POST",status="201",le="+Inf"} 1
        aerie_http_request_duration_seconds_count{route="/b",method="POST",status="201"} 1
        aerie_http_request_duration_seconds_sum{route="/b",method="POST",status="201"} 0.004
        aerie_http_requests_total{route="/a",method="GET",status="200"} 100
        """
        let summary = LatencySummary(exposition: exposition)
        #expect(summary.total == 101)
        #expect(summary.routes.map(\.route) == ["/a", "/b"])
        let a = summary.routes[0]
        #expect(a.count == 100)
        #expect(a.serverErrors == 0)
        #expect(abs((a.p50Ms ?? 0) - 10) < 1e-9)       // rank 50 is the top of the first bucket
        #expect(abs((a.p95Ms ?? 0) - 100) < 1e-9)      // rank 95 lies past the last finite bound
        #expect(abs((a.meanMs ?? 0) - 30) < 1e-9)
        let b = summary.routes[1]
        #expect(abs((b.p50Ms ?? 0) - 5) < 1e-9)        // half-way into (0, 10 ms]
        #expect(b.buckets.last?.upperBoundMs == nil)
        #expect(LatencySummary(exposition: exposition, excluding: ["/a"]).routes.map(\.route) == ["/b"])
        #expect(LatencySummary(exposition: "garbage\n{{{").routes.isEmpty)
    }
}

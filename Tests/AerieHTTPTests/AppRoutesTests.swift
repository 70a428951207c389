import AerieCore
import AerieHTTPTesting
import AerieFunctions
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AerieHTTP

/// An app with one API route and one page, to check that apps plug into the gateway.
private struct EchoApp: AerieHTTPApp {
    static let name = "echo"
    var extraPath: String?

    func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {}

    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        var routes = [
            GatewayRoute(.get, "/v1/apps/echo/whoami", summary: "The caller's name", tag: "echo",
                         access: .authenticated(keyScope: nil), response: .json("Echo")) { _, context in
                try Response.json(JSONValue.object(["user": .string(context.identity?.username ?? "")]))
            },
            GatewayRoute(.get, "/echo/", summary: "Echo page", tag: "echo", access: .anyone) { request, context in
                guard context.identity != nil else { return PageAssets.signInRedirect(for: request) }
                return PageAssets.html("<p>echo</p>")
            },
        ]
        if let extraPath {
            routes.append(GatewayRoute(.get, extraPath, summary: "Stray", tag: "echo", access: .anyone) { _, _ in Response.empty(.ok) })
        }
        return routes
    }
}

@Suite("App routes")
struct AppRoutesTests {
    @Test("an app's API route runs behind the gateway's auth and appears in the OpenAPI document")
    func apiRoute() async throws {
        let harness = try await GatewayHarness.make(apps: [EchoApp()])
        try await harness.test { client in
            let anonymous = try await client.send(.get, "/v1/apps/echo/whoami")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.contentType] == "application/problem+json")
            let signedIn = try await client.send(.get, "/v1/apps/echo/whoami", token: harness.userToken)
            #expect(signedIn.status == .ok)
            #expect(signedIn.text.contains("\"ann\""))
            let document = try await client.send(.get, "/openapi.json")
            #expect(document.text.contains("/v1/apps/echo/whoami"))
        }
    }

    @Test("an app's page redirects to sign-in without a session")
    func pageRedirect() async throws {
        let harness = try await GatewayHarness.make(apps: [EchoApp()])
        try await harness.test { client in
            let page = try await client.send(.get, "/echo/")
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console/login?next=/echo/")
        }
    }

    @Test("a route outside the app's prefixes is refused when the gateway is built")
    func strayRoute() async throws {
        let error = await #expect(throws: AerieError.self) {
            _ = try await GatewayHarness.make(apps: [EchoApp(extraPath: "/v1/buckets/steal")])
        }
        #expect(error?.message.contains("outside its prefixes") == true)
    }
}

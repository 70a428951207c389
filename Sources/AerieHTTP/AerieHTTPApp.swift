import AerieAuth
import AerieCore
import AerieFunctions
import Logging

/// An app that also serves HTTP: its API under `/v1/apps/<name>/` and its pages under `/<name>/`.
///
/// The gateway asks every enabled app that conforms for its routes once, at build time, after the app's
/// `setUp`. The routes go through the same middleware as the platform's (request ids, problem+json, auth,
/// rate limit, metrics) and appear in `/openapi.json`. A page is a template and a short script of the app's own
/// (``PageAssets``) rendered inside the page kit's layout with ``AppGatewayContext/pageKit``; its script calls the
/// app's API through `aerie.api` (kit.js), with the page session (cookie plus `X-CSRF-Token`).
public protocol AerieHTTPApp: AerieApp {
    /// The app's routes; every path must start with `/v1/apps/<name>/` or `/<name>/` (or be `/<name>`).
    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute]
    /// JSON schemas (by name) that the routes' `BodySpec.json(name)` refer to, for `/openapi.json`.
    func openAPISchemas() -> [String: JSONValue]
    /// Panels for the console's Apps page, read from the metrics the app records (none by default).
    func consolePanels() -> [ConsolePanel]
    /// The app's pages in the top bar of every page (none by default); each path lies under `/<name>/`.
    func pageLinks() -> [PageLink]
}

/// A platform feature built outside AerieHTTP that adds routes under `/v1/` (not under an app's prefix), for example
/// deployed functions (`AerieRuntimes`). The gateway asks for its routes once, at build time.
public protocol GatewayExtension: Sendable {
    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute]
    /// JSON schemas (by name) that the routes' `BodySpec.json(name)` refer to, for `/openapi.json`.
    func openAPISchemas() -> [String: JSONValue]
}

/// What the gateway lends an app's routes.
public struct AppGatewayContext: Sendable {
    public let primitives: Primitives
    public let runtime: FunctionRuntime
    public let configuration: GatewayConfiguration
    /// Users, for apps that show names or check roles beyond ``Access``.
    public let auth: AuthService
    /// The layout, stylesheet and script every page uses; render the app's pages with it.
    public let pageKit: PageKit
    /// Every server-sent event stream takes a lease from it (a per-user limit).
    public let eventStreams: EventStreamLimiter
    public let logger: Logger
}

extension AerieHTTPApp {
    public func openAPISchemas() -> [String: JSONValue] { [:] }
    public func consolePanels() -> [ConsolePanel] { [] }
    public func pageLinks() -> [PageLink] { [] }

    /// The app's console panels, marked with its name.
    func namedConsolePanels() -> [ConsolePanel] {
        consolePanels().map { panel in
            var panel = panel
            panel.app = Self.name
            return panel
        }
    }

    /// The app's top-bar links, marked with its name and checked to lie under its page prefix.
    func checkedPageLinks() throws -> [PageLink] {
        try pageLinks().map { link in
            guard link.path == "/\(Self.name)" || link.path.hasPrefix("/\(Self.name)/") else {
                throw AerieError(.internal, "App \"\(Self.name)\" declares the page link \(link.path) outside its pages under /\(Self.name)/; move it there.")
            }
            var link = link
            link.app = Self.name
            return link
        }
    }

    /// The prefixes this app's routes may use.
    static var routePrefixes: [String] { ["/v1/apps/\(name)/", "/\(name)/"] }

    /// The app's routes, checked to lie under its own prefixes.
    func checkedRoutes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        let routes = try routes(gateway: gateway)
        for route in routes where route.path != "/\(Self.name)" && !Self.routePrefixes.contains(where: route.path.hasPrefix) {
            throw AerieError(.internal, "App \"\(Self.name)\" declares the route \(route.method) \(route.path) outside its prefixes \(Self.routePrefixes.joined(separator: " and ")); move it under one of them.")
        }
        return routes
    }
}

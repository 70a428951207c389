import AerieAuth
import AerieCore
import HTTPTypes
import Hummingbird

/// Who may call a route.
public enum Access: Sendable, Hashable {
    /// Anyone, without credentials.
    case anyone
    /// Any signed-in user (token or page session); an API key needs `keyScope` (or `admin`) when one is given.
    case authenticated(keyScope: String?)
    /// Raw platform routes: admins, or API keys with this scope (or `admin`).
    case platform(scope: String)
    /// Admins only (admin users, or API keys with the `admin` scope).
    case admin

    /// Throws 401 without an identity, 403 when the identity may not call the route.
    public func check(_ identity: Identity?) throws {
        guard self != .anyone else { return }
        guard let identity else {
            throw AerieError(.unauthenticated, "This route needs credentials: send `Authorization: Bearer <token>` with a token from POST /v1/auth/login or an API key.")
        }
        let allowed: Bool
        switch self {
        case .anyone: allowed = true
        case .authenticated(let scope):
            allowed = identity.scopes == nil || scope.map { identity.has(scope: $0) } ?? true
        case .platform(let scope): allowed = identity.has(scope: scope)
        case .admin: allowed = identity.isAdmin
        }
        guard allowed else {
            throw AerieError(.forbidden, "\(identity.describe) may not call this route; it needs \(requirement). Ask an admin for access or an API key with that scope.")
        }
    }

    /// A phrase naming what the route needs, for errors and the OpenAPI document.
    public var requirement: String {
        switch self {
        case .anyone: "no credentials"
        case .authenticated(let scope?): "a signed-in user, or an API key with scope `\(scope)`"
        case .authenticated(nil): "a signed-in user or an API key"
        case .platform(let scope): "the admin role or an API key with scope `\(scope)`"
        case .admin: "the admin role"
        }
    }
}

/// How a route's request or response body looks, for the OpenAPI document.
public enum BodySpec: Sendable, Hashable {
    /// A JSON body described by `#/components/schemas/<name>`.
    case json(String)
    /// Raw bytes of any media type (object content, function output).
    case binary
    /// A `text/event-stream` of server-sent events.
    case eventStream
    /// Prometheus text exposition.
    case text
    /// An HTML form post (`application/x-www-form-urlencoded`).
    case form
    /// An HTML page; its error statuses are HTML pages too (a browser is shown them), besides problem+json.
    case html
}

/// One route: its declaration (what the OpenAPI document shows) and its handler.
public struct GatewayRoute: Sendable {
    public typealias Handler = @Sendable (Request, AerieRequestContext) async throws -> Response

    public var method: HTTPRequest.Method
    /// The path in router syntax: `{name}` captures a segment, a trailing `**` the rest of the path.
    public var path: String
    public var summary: String
    public var tag: String
    public var access: Access
    public var request: BodySpec?
    /// Status of the success response.
    public var status: Int
    public var response: BodySpec?
    /// Query parameters (name, description) for the document.
    public var query: [(name: String, description: String)]
    /// Statuses the route answers besides `status` and those every route of its kind may answer
    /// (``documentedStatuses``): another success (a `200` beside a `201`) or a route-specific problem (`409`, `422`).
    public var statuses: [Int]
    public var handler: Handler

    public init(_ method: HTTPRequest.Method, _ path: String, summary: String, tag: String, access: Access,
                request: BodySpec? = nil, status: Int = 200, response: BodySpec? = nil,
                query: [(name: String, description: String)] = [], statuses: [Int] = [], handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.summary = summary
        self.tag = tag
        self.access = access
        self.request = request
        self.status = status
        self.response = response
        self.query = query
        self.statuses = statuses
        self.handler = handler
    }

    /// Every status the route can answer, for the OpenAPI document: its success, the declared ``statuses``, and those
    /// its shape implies (400/413/415 for a JSON body, 400 for query parameters, 401/403/429 behind authentication,
    /// 404 for a path parameter, 507 for a write when the disk is full, 500 always).
    public var documentedStatuses: [Int] {
        var result: Set<Int> = [status, 500]
        if [.post, .put, .patch, .delete].contains(method) { result.insert(507) }
        result.formUnion(statuses)
        if case .json = request { result.formUnion([400, 413, 415]) }
        if request == .binary { result.insert(413) }
        if !query.isEmpty { result.insert(400) }
        if !pathParameters.isEmpty { result.insert(404) }
        switch access {
        case .anyone: break
        case .authenticated(nil): result.formUnion([401, 429])
        default: result.formUnion([401, 403, 429])
        }
        return result.sorted()
    }

    /// The path as OpenAPI writes it: `**` becomes `{key}`.
    public var openAPIPath: String { GatewayRoute.openAPIPath(path) }

    /// Converts a router path (`/v1/buckets/{bucket}/objects/**`) to its OpenAPI form (`…/objects/{key}`).
    public static func openAPIPath(_ routerPath: String) -> String {
        let parts = routerPath.split(separator: "/", omittingEmptySubsequences: true).map { $0 == "**" ? "{key}" : String($0) }
        return "/" + parts.joined(separator: "/")
    }

    /// Names of the path parameters, in order.
    public var pathParameters: [String] {
        openAPIPath.split(separator: "/").compactMap { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
        }
    }

    /// Whether a request path (percent-encoded, no query) matches this route's pattern.
    func matches(path requestPath: String) -> Bool {
        let pattern = path.split(separator: "/", omittingEmptySubsequences: true)
        let parts = requestPath.split(separator: "/", omittingEmptySubsequences: true)
        for (index, element) in pattern.enumerated() {
            if element == "**" { return parts.count > index }
            guard index < parts.count else { return false }
            if element.hasPrefix("{") || element == "*" { continue }
            if element != parts[index] { return false }
        }
        return pattern.count == parts.count
    }
}

/// The routes of the gateway: registered on the router and described by the OpenAPI document from the same list.
public struct RouteTable: Sendable {
    public private(set) var routes: [GatewayRoute] = []

    public init() {}

    public mutating func add(_ route: GatewayRoute) {
        routes.append(route)
    }

    public mutating func add(contentsOf routes: [GatewayRoute]) {
        self.routes.append(contentsOf: routes)
    }

    /// The methods that some route accepts at this path (for `405` and `Allow`).
    public func allowedMethods(forPath path: String) -> [HTTPRequest.Method] {
        var seen = Set<String>()
        return routes.filter { $0.matches(path: path) }.map(\.method).filter { seen.insert($0.rawValue).inserted }
    }
}

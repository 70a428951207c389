import AerieAuth
import AerieCore
import AerieFunctions
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The gateway: every route of Aerie's HTTP API under one port, with request ids, problem+json errors,
/// authentication, rate limits, CORS and metrics.
///
/// ```swift
/// let gateway = try await AerieGateway.build(primitives: primitives, runtime: runtime, configuration: configuration,
///                                            registry: registry, logger: logger)
/// let app = gateway.makeApplication(configuration: .init(address: .hostname("0.0.0.0", port: 8080)))
/// try await app.runService()   // or add it to a ServiceGroup
/// ```
/// Tests drive `gateway.makeApplication()` with `app.test(.router) { client in … }`. The runtime is a separate
/// service: run it next to the application (the same `ServiceGroup`, or `makeApplication(services: [runtime])`).
public struct AerieGateway: Sendable {
    public let primitives: Primitives
    public let runtime: FunctionRuntime
    public let configuration: GatewayConfiguration
    /// Users, tokens, keys and sessions; the CLI can open its own on the same tables.
    public let auth: AuthService
    public let metrics: GatewayMetrics
    public let logger: Logger
    /// Every route, as registered on the router and described at `/openapi.json`.
    public let routeTable: RouteTable
    let limiter: RateLimiter?
    /// Open server-sent event streams per user.
    public let eventStreams: EventStreamLimiter

    /// Prepares the auth tables and signing secret, creates the first admin on first start, and assembles the routes.
    ///
    /// - Parameters:
    ///   - registry: The Prometheus registry `/metrics` exposes; hand the same one to `PrometheusMetricsFactory`
    ///     when bootstrapping swift-metrics so the runtime's metrics appear there too.
    ///   - apps: The enabled apps, already set up; those that are ``AerieHTTPApp``s add their routes and pages.
    public static func build(primitives: Primitives, runtime: FunctionRuntime, configuration: GatewayConfiguration,
                             registry: PrometheusCollectorRegistry, apps: [any AerieApp] = [],
                             extensions: [any GatewayExtension] = [],
                             logger: Logger) async throws -> AerieGateway {
        let auth = try await AuthService.open(
            tables: primitives.tables,
            options: .init(bcryptCost: configuration.bcryptCost, tokenLifetime: configuration.tokenLifetime,
                           sessionLifetime: configuration.cookies.lifetime),
            logger: logger,
            changes: try configuration.authChanges ?? configuration.dataDirectory.map { try FileAuthChangeCounter(directory: $0) } ?? LocalAuthChangeCounter()
        )
        try await auth.bootstrapAdmin(password: configuration.adminPassword, dataDirectory: configuration.dataDirectory)
        let httpApps = apps.compactMap { $0 as? any AerieHTTPApp }
        // The top bar lists every enabled app's pages, so the kit exists before any app builds its routes.
        let pageKit = PageKit(appLinks: try httpApps.flatMap { try $0.checkedPageLinks() })
        let eventStreams = EventStreamLimiter(maxPerUser: configuration.maxEventStreamsPerUser)
        let context = AppGatewayContext(primitives: primitives, runtime: runtime, configuration: configuration, auth: auth,
                                        pageKit: pageKit, eventStreams: eventStreams, logger: logger)
        var appRoutes: [GatewayRoute] = []
        var appSchemas: [String: JSONValue] = [:]
        var appPanels: [ConsolePanel] = []
        for app in httpApps {
            appRoutes += try app.checkedRoutes(gateway: context)
            appSchemas.merge(app.openAPISchemas()) { first, _ in first }
            appPanels += app.namedConsolePanels()
        }
        for gatewayExtension in extensions {
            appRoutes += try gatewayExtension.routes(gateway: context)
            appSchemas.merge(gatewayExtension.openAPISchemas()) { first, _ in first }
        }
        return AerieGateway(primitives: primitives, runtime: runtime, configuration: configuration, auth: auth,
                            metrics: GatewayMetrics(registry: registry), pageKit: pageKit, appRoutes: appRoutes, appSchemas: appSchemas,
                            appPanels: appPanels, eventStreams: eventStreams, logger: logger)
    }

    init(primitives: Primitives, runtime: FunctionRuntime, configuration: GatewayConfiguration, auth: AuthService,
         metrics: GatewayMetrics, pageKit: PageKit = PageKit(appLinks: []), appRoutes: [GatewayRoute] = [],
         appSchemas: [String: JSONValue] = [:], appPanels: [ConsolePanel] = [], eventStreams: EventStreamLimiter? = nil, logger: Logger) {
        self.primitives = primitives
        self.runtime = runtime
        self.configuration = configuration
        self.auth = auth
        self.metrics = metrics
        self.logger = logger
        self.limiter = configuration.rateLimit.map { RateLimiter(limit: $0) }
        let eventStreams = eventStreams ?? EventStreamLimiter(maxPerUser: configuration.maxEventStreamsPerUser)
        self.eventStreams = eventStreams

        var table = RouteTable()
        table.add(contentsOf: SystemRoutes(metrics: metrics, primitives: primitives).routes)
        table.add(contentsOf: AuthRoutes(auth: auth, configuration: configuration, throttle: LoginThrottle(limits: configuration.loginThrottle)).routes)
        table.add(contentsOf: FunctionRoutes(runtime: runtime, configuration: configuration, eventStreams: eventStreams).routes)
        table.add(contentsOf: ObjectRoutes(objects: primitives.objects, owners: BucketOwners(tables: primitives.tables),
                                           configuration: configuration).routes)
        table.add(contentsOf: S3CredentialRoutes(auth: auth, configuration: configuration).routes)
        table.add(contentsOf: QueueRoutes(queues: primitives.queues, configuration: configuration).routes)
        table.add(contentsOf: TableRoutes(tables: primitives.tables, configuration: configuration).routes)
        table.add(contentsOf: TopicRoutes(events: primitives.events, configuration: configuration).routes)
        table.add(contentsOf: VectorRoutes(vectors: primitives.vectors, appResources: primitives.appResources, configuration: configuration).routes)
        table.add(contentsOf: pageKit.routes)
        table.add(contentsOf: ConsoleRoutes(metrics: metrics, events: primitives.events, configuration: configuration,
                                            pageKit: pageKit, appPanels: appPanels).routes)
        table.add(contentsOf: appRoutes)

        // The document describes every route, itself included.
        var openAPI = GatewayRoute(.get, "/openapi.json", summary: "This API's OpenAPI 3.1 document", tag: "system",
                                   access: .anyone, response: .json("OpenAPI")) { _, _ in Response.empty(.ok) }
        let document = OpenAPIDocument(routes: table.routes + [openAPI], schemas: appSchemas).json().encoded()
        openAPI.handler = { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        table.add(openAPI)
        self.routeTable = table
    }

    /// The router with every middleware and route.
    public func makeRouter() -> Router<AerieRequestContext> {
        let router = Router(context: AerieRequestContext.self)
        router.add(middleware: RequestObservationMiddleware(metrics: metrics))
        router.add(middleware: CORSPolicyMiddleware(origins: Set(configuration.corsOrigins)))
        router.add(middleware: ProblemMiddleware(routes: routeTable))
        router.add(middleware: AuthenticationMiddleware(auth: auth, cookies: configuration.cookies))
        if let limiter {
            router.add(middleware: RateLimitMiddleware(limiter: limiter))
        }
        for route in routeTable.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                try route.access.check(context.identity)
                if context.identity?.credential == .session, Self.isUnsafe(request.method), route.request != .form,
                   !context.csrfHeaderVerified {
                    throw AerieError(.forbidden, "Requests made with a page session must send the CSRF token (the `aerie_csrf` cookie) in `X-CSRF-Token`.")
                }
                return try await route.handler(request, context)
            }
        }
        return router
    }

    /// The Hummingbird application serving the gateway; `services` run alongside it (for example the runtime).
    public func makeApplication(configuration: ApplicationConfiguration = ApplicationConfiguration(),
                                services: [any Service] = []) -> some ApplicationProtocol {
        Application(router: makeRouter(), configuration: configuration, services: services, logger: logger)
    }

    static func isUnsafe(_ method: HTTPRequest.Method) -> Bool {
        method == .post || method == .put || method == .patch || method == .delete
    }
}

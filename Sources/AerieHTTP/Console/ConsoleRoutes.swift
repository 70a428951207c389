import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The console at `/console`: server-rendered pages (Mustache) for admins inside the page kit's layout, whose script
/// (`console.js`, on top of kit.js) fills them from the JSON API with the page session cookie, plus the JSON endpoints
/// the API lacks (latency from the metrics, app panels, topics with their consumer groups) and the console's static files.
///
/// Signing in and out are the gateway's form routes `POST /console/login` and `POST /console/logout`.
/// A page request without a session is redirected to the sign-in page; a signed-in user who is not an admin
/// gets a 403 page.
///
/// Register with `table.add(contentsOf: ConsoleRoutes(…).routes)`.
struct ConsoleRoutes {
    let metrics: GatewayMetrics
    let events: any EventLog
    let configuration: GatewayConfiguration
    let pageKit: PageKit
    let assets: Result<PageAssets, AerieError>
    /// The enabled apps' panels for the Apps page.
    let appPanels: [ConsolePanel]

    init(metrics: GatewayMetrics, events: any EventLog, configuration: GatewayConfiguration, pageKit: PageKit,
         appPanels: [ConsolePanel] = []) {
        self.metrics = metrics
        self.pageKit = pageKit
        self.appPanels = appPanels
        self.events = events
        self.configuration = configuration
        do {
            assets = .success(try PageAssets.loadModule("console"))
        } catch let error as AerieError {
            assets = .failure(error)
        } catch {
            assets = .failure(AerieError(.internal, "The console's assets did not load: \(error)."))
        }
    }

    /// A page of the console: its path, template, title and navigation label.
    struct Page: Sendable {
        var path: String
        var template: String
        var title: String
        /// Nil for pages not in the console's navigation bar.
        var navigation: String?
        /// Whether the template has its own `<h1>` (else the layout's shows the title).
        var ownHeading = false
    }

    static let pages: [Page] = [
        Page(path: "/console", template: "overview", title: "Overview", navigation: "Overview"),
        Page(path: "/console/functions", template: "functions", title: "Functions", navigation: "Functions"),
        Page(path: "/console/invocations", template: "invocations", title: "Invocations", navigation: "Invocations"),
        Page(path: "/console/invocations/{id}", template: "invocation", title: "Invocation", navigation: nil, ownHeading: true),
        Page(path: "/console/queues", template: "queues", title: "Queues", navigation: "Queues"),
        Page(path: "/console/topics", template: "topics", title: "Topics", navigation: "Topics"),
        Page(path: "/console/objects", template: "objects", title: "Objects", navigation: "Objects"),
        Page(path: "/console/users", template: "users", title: "Users and API keys", navigation: "Users & keys"),
        Page(path: "/console/apps", template: "apps", title: "Apps", navigation: "Apps"),
    ]

    /// Routes left out of the latency charts: the console's own polling and files, and event streams (their
    /// "latency" is how long a client kept listening).
    static let unchartedRoutes: Set<String> = ["/console/api/latency", "/console/api/apps", "/console/static/{file}", "/kit/{file}", "/metrics", "/v1/invocations/{id}/events"]

    var routes: [GatewayRoute] {
        var routes = Self.pages.map { page in
            GatewayRoute(.get, page.path, summary: "Console page: \(page.title) (HTML; signs in first when there is no session; 403 page for non-admins)",
                         tag: "console", access: .anyone, response: .html, statuses: [403]) { [self] request, context in
                try renderPage(page, request: request, context: context)
            }
        }
        routes.append(contentsOf: [
            GatewayRoute(.get, "/console/login", summary: "Console sign-in form (HTML)", tag: "console", access: .anyone, response: .html) { [self] request, context in
                try renderLogin(request: request, context: context)
            },
            GatewayRoute(.get, "/console/static/{file}", summary: "The console's stylesheet and script", tag: "console", access: .anyone,
                         response: .binary) { [self] request, context in
                try assets.get().staticFile(try context.pathParameter("file"), request: request)
            },
            GatewayRoute(.get, "/console/api/latency", summary: "Request counts and p50/p95/p99 latency per route, from the metrics",
                         tag: "console", access: .admin) { [metrics] _, _ in
                let summary = LatencySummary(exposition: metrics.exposition(), excluding: Self.unchartedRoutes)
                return try Response.json(LatencyBody(summary: summary, time: Date()))
            },
            GatewayRoute(.get, "/console/api/apps", summary: "The enabled apps' console panels with their figures, from the metrics",
                         tag: "console", access: .admin) { [metrics, appPanels] _, _ in
                let families = MetricFamilies(exposition: metrics.exposition())
                return try Response.json(AppPanelsBody(panels: appPanels.map { ConsolePanelReport(panel: $0, families: families) }, time: Date()))
            },
            GatewayRoute(.get, "/console/api/topics", summary: "Topics with their next offset and every consumer group's committed offset and lag",
                         tag: "console", access: .platform(scope: APIKeyScope.topics)) { [events] _, _ in
                var items: [TopicOverview] = []
                for topic in try await events.topics() {
                    let consumers = try await events.consumerOffsets(topic: topic.name).map { offset in
                        TopicOverview.Consumer(group: offset.group, offset: offset.offset, lag: max(0, topic.nextOffset - offset.offset),
                                               updatedAt: offset.updatedAt)
                    }
                    items.append(TopicOverview(name: topic.name, nextOffset: topic.nextOffset, consumers: consumers.sorted { $0.group < $1.group }))
                }
                return try Response.json(ListBody(items: items.sorted { $0.name < $1.name }, nextCursor: nil))
            },
        ])
        return routes
    }

    // MARK: Pages

    /// The console's areas, the bar under the page kit's top bar.
    static func section(active: String) -> PageKit.Section {
        PageKit.Section(label: "Console", links: pages.compactMap { page in page.navigation.map { PageLink($0, path: page.path) } },
                        active: active)
    }

    func renderPage(_ page: Page, request: Request, context: AerieRequestContext) throws -> Response {
        let assets = try assets.get()
        guard let identity = context.identity else {
            return PageAssets.signInRedirect(for: request)
        }
        guard identity.isAdmin else {
            return try pageKit.render(PageKit.Page(template: "forbidden", title: "Not allowed", heading: "Admins only", sessionOnly: false),
                                      assets: assets, request: request, context: context, status: .forbidden)
        }
        var values: [String: Any] = [:]
        if page.path.contains("{id}") {
            values["id"] = try context.pathParameter("id")
        }
        if page.template == "users" {
            values["scopes"] = APIKeyScope.all.map { ["scope": $0] }
        }
        let active = page.template == "invocation" ? "/console/invocations" : page.path
        let kitPage = PageKit.Page(template: page.template, title: page.title, heading: page.ownHeading ? nil : page.title,
                                   scripts: [try assets.versionedPath("console.js", under: "/console/static/")],
                                   styles: [try assets.versionedPath("console.css", under: "/console/static/")],
                                   section: Self.section(active: active), sessionOnly: false)
        return try pageKit.render(kitPage, assets: assets, values: values, request: request, context: context)
    }

    func renderLogin(request: Request, context: AerieRequestContext) throws -> Response {
        let assets = try assets.get()
        let failed = request.uri.queryParameters.get("error") != nil
        let next = request.uri.queryParameters.get("next").flatMap { AuthRoutes.localRedirect(String($0)) } ?? "/console"
        var values: [String: Any] = ["title": "Sign in", "next": next, "kitCSS": try pageKit.stylesheetURL()]
        if failed {
            values["error"] = "The user name or password is wrong, or the user is disabled."
        }
        if let identity = context.identity {
            values["signedIn"] = identity.username
        }
        let cookies = SessionCookies(configuration: configuration.cookies)
        let token = SessionCookies.newLoginCSRFToken()
        values["csrf"] = token
        // The failed sign-in lands here (POST /console/login redirects with ?error=1): answer 401 with the form.
        var response = PageAssets.html(try assets.render("login", values), status: failed ? .unauthorized : .ok)
        cookies.setLoginCSRF(token, on: &response)
        return response
    }

    // MARK: Bodies

    struct LatencyBody: Encodable {
        var summary: LatencySummary
        var time: Date

        enum CodingKeys: String, CodingKey { case routes, total, time }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(summary.routes, forKey: .routes)
            try container.encode(summary.total, forKey: .total)
            try container.encode(time, forKey: .time)
        }
    }

    struct AppPanelsBody: Encodable {
        var panels: [ConsolePanelReport]
        var time: Date
    }

    struct TopicOverview: Encodable {
        struct Consumer: Encodable {
            var group: String
            var offset: Int64
            /// Events appended after the committed offset.
            var lag: Int64
            var updatedAt: Date
            enum CodingKeys: String, CodingKey {
                case group, offset, lag
                case updatedAt = "updated_at"
            }
        }
        var name: String
        var nextOffset: Int64
        var consumers: [Consumer]
        enum CodingKeys: String, CodingKey {
            case name, consumers
            case nextOffset = "next_offset"
        }
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

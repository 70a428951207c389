import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird

/// The page kit: the one layout, stylesheet and script of the console and every app page.
///
/// - The **layout** is a top bar (Aerie, the console for admins and each enabled app's ``PageLink``s, the signed-in
///   user, a sign-out button that posts the CSRF token), an optional second bar for a section's own pages (the
///   console's areas), an optional `<h1>`, the message box `#flash`, then the page's content.
/// - **kit.css** (`/kit/kit.css`) holds the colour variables and the shared look: top bar, cards, tables, forms,
///   buttons, badges, messages, charts.
/// - **kit.js** (`/kit/kit.js`) defines the global `aerie`: `aerie.api(method, path, body)` (JSON over the page
///   session with `X-CSRF-Token`; a 401 goes to the sign-in page; a problem+json answer becomes an error whose
///   message is its detail, which `aerie.fail` shows in `#flash`), DOM helpers (`aerie.el`, `aerie.$`), formatting
///   (`aerie.ms`, `aerie.bytes`, …) and small SVG charts (`aerie.charts.line`, `.bar`, `.histogram`, `.matrix`).
///   The file's head lists the whole API.
///
/// Both files are linked with their content version (`?v=`), so the browser fetches them once for all pages and
/// keeps them until they change. Pages keep the gateway's Content-Security-Policy (`script-src 'self'`): no inline
/// scripts or styles, so a page's script is a static file of its own, loaded after kit.js.
///
/// An app page is then a template and a short script of the app's (its ``PageAssets``):
///
/// ```swift
/// let page = PageKit.Page(template: "gallery", title: "Gallery", scripts: [try assets.versionedPath("gallery.js", under: "/gallery/static/")])
/// GatewayRoute(.get, "/gallery/", summary: "The Gallery page", tag: "gallery", access: .anyone) { request, context in
///     try gateway.pageKit.render(page, assets: assets, values: ["albums": 3], request: request, context: context)
/// }
/// ```
/// with `templates/gallery.mustache` holding only the page's content (the layout wraps it; `username`, `csrf`,
/// `title` and `isAdmin` are there for the template too), the app's ``AerieHTTPApp/pageLinks()`` putting the page in
/// the top bar, and `static/gallery.js` starting with `const { api, el, $, fail } = aerie;`.
public struct PageKit: Sendable {
    /// What one page adds to the layout.
    public struct Page: Sendable {
        /// The page's template in its ``PageAssets`` (content only: the layout wraps it).
        public var template: String
        /// The document title ("<title> · Aerie").
        public var title: String
        /// The `<h1>` above the content; nil for none (the page's template may have its own).
        public var heading: String?
        /// `data-page` of `<body>`, for the page's script; the template's name unless set.
        public var name: String
        /// The page's own scripts, run after kit.js (paths; prefer ``PageAssets/versionedPath(_:under:)``).
        public var scripts: [String]
        /// The page's own stylesheets, applied after kit.css.
        public var styles: [String]
        /// A second bar with the pages of a section (the console's areas); nil for none.
        public var section: Section?
        /// Whether only a page session may open the page (a bearer token or API key is sent to sign in): a page whose
        /// script calls the API needs the session cookie and its CSRF token.
        public var sessionOnly: Bool

        public init(template: String, title: String, heading: String? = nil, name: String? = nil, scripts: [String] = [],
                    styles: [String] = [], section: Section? = nil, sessionOnly: Bool = true) {
            self.template = template
            self.title = title
            self.heading = heading
            self.name = name ?? template
            self.scripts = scripts
            self.styles = styles
            self.section = section
            self.sessionOnly = sessionOnly
        }
    }

    /// A section's own navigation under the top bar.
    public struct Section: Sendable {
        /// The navigation's accessible name.
        public var label: String
        public var links: [PageLink]
        /// The path of the link to mark as the current page.
        public var active: String?

        public init(label: String, links: [PageLink], active: String? = nil) {
            self.label = label
            self.links = links
            self.active = active
        }
    }

    /// Where the kit's files are served.
    public static let stylesheetPath = "/kit/kit.css"
    public static let scriptPath = "/kit/kit.js"

    /// The console's entry of the top bar, first and for admins only.
    static let consoleLink: PageLink = {
        var link = PageLink("Console", path: "/console", adminOnly: true)
        link.app = "console"
        return link
    }()

    let assets: Result<PageAssets, AerieError>
    /// The top bar's links: the console's, then the enabled apps' in the order the apps were enabled.
    let links: [PageLink]

    /// The kit with the enabled apps' links; a missing resource bundle surfaces when a page is rendered.
    init(appLinks: [PageLink]) {
        self.links = [Self.consoleLink] + appLinks
        do {
            assets = .success(try PageAssets.loadModule("kit"))
        } catch let error as AerieError {
            assets = .failure(error)
        } catch {
            assets = .failure(AerieError(.internal, "The page kit's assets did not load: \(error)."))
        }
    }

    /// Renders `page`'s template from `assets` with `values` inside the layout, for the signed-in caller.
    ///
    /// Without a session (or, for a ``Page/sessionOnly`` page, with another credential) the answer is the redirect to
    /// the sign-in page, which comes back here after. The template also sees `username`, `csrf`, `title` and
    /// `isAdmin`; `values` may override them.
    public func render(_ page: Page, assets: PageAssets, values: [String: Any] = [:], request: Request,
                       context: AerieRequestContext, status: HTTPResponse.Status = .ok) throws -> Response {
        guard let identity = context.identity, !page.sessionOnly || identity.credential == .session else {
            return PageAssets.signInRedirect(for: request)
        }
        let csrf = context.expectedCSRFToken ?? ""
        var templateValues: [String: Any] = [
            "username": identity.username, "csrf": csrf, "title": page.title, "isAdmin": identity.isAdmin,
        ]
        templateValues.merge(values) { _, new in new }
        let content = try assets.render(page.template, templateValues)
        let html = try layout(page, content: content, identity: identity, csrf: csrf, path: request.uri.path)
        return PageAssets.html(html, status: status)
    }

    /// The layout around rendered `content` (HTML, inserted as it is) for `identity` on the page at `path`.
    func layout(_ page: Page, content: String, identity: Identity, csrf: String, path: String) throws -> String {
        let kit = try assets.get()
        let visible = links.filter { !$0.adminOnly || identity.isAdmin }
        let current = visible.filter { Self.path(path, isUnder: $0.path) }.max { $0.path.count < $1.path.count }
        var values: [String: Any] = [
            "title": page.title,
            "page": page.name,
            "username": identity.username,
            "csrf": csrf,
            "kitCSS": try stylesheetURL(),
            "kitJS": try kit.versionedPath("kit.js", under: "/kit/"),
            "styles": page.styles,
            "scripts": page.scripts,
            "home": visible.first?.path ?? "/console",
            "links": visible.map { link -> [String: Any] in
                ["label": link.label, "href": link.path, "app": link.app, "active": link == current]
            },
            "content": content,
        ]
        if let heading = page.heading {
            values["heading"] = heading
        }
        if let section = page.section {
            values["section"] = [
                "label": section.label,
                "links": section.links.map { link -> [String: Any] in
                    ["label": link.label, "href": link.path, "active": link.path == section.active]
                },
            ] as [String: Any]
        }
        return try kit.render("layout", values)
    }

    /// The versioned URL of kit.css, for pages outside the layout (the sign-in form).
    func stylesheetURL() throws -> String {
        try assets.get().versionedPath("kit.css", under: "/kit/")
    }

    /// Whether `path` is the page `linkPath` or lies below it.
    static func path(_ path: String, isUnder linkPath: String) -> Bool {
        if path == linkPath { return true }
        let folder = linkPath.hasSuffix("/") ? linkPath : linkPath + "/"
        return path.hasPrefix(folder) || path + "/" == folder
    }

    /// The route serving kit.css and kit.js.
    var routes: [GatewayRoute] {
        [
            GatewayRoute(.get, "/kit/{file}", summary: "The page kit's stylesheet and script (kit.css, kit.js) every page loads",
                         tag: "pages", access: .anyone, response: .binary) { [assets] request, context in
                try assets.get().staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

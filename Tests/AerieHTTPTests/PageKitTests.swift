import AerieCore
import AerieHTTPTesting
import AerieFunctions
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AerieHTTP

/// An app whose page is what the page kit asks of a later app: a template and a short script of its own.
private struct NotesApp: AerieHTTPApp {
    static let name = "notes"
    /// Its resources: `templates/notes.mustache` and `static/notes.js`, written by the test.
    var folder: URL
    var links = [PageLink("Notes", path: "/notes/")]

    func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {}

    func pageLinks() -> [PageLink] { links }

    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] {
        let assets = try PageAssets.load(from: folder)
        let page = PageKit.Page(template: "notes", title: "Notes", heading: "My notes",
                                scripts: [try assets.versionedPath("notes.js", under: "/notes/static/")])
        return [
            GatewayRoute(.get, "/notes/", summary: "Notes page", tag: "notes", access: .anyone) { request, context in
                try gateway.pageKit.render(page, assets: assets, values: ["count": 3], request: request, context: context)
            },
            GatewayRoute(.get, "/notes/static/{file}", summary: "Notes script", tag: "notes", access: .anyone) { request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }

    /// A folder with the app's template and script.
    static func resources() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-notes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("templates"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("static"), withIntermediateDirectories: true)
        try #"<p id="notes">{{username}} has {{count}} notes</p>"#.write(
            to: folder.appendingPathComponent("templates/notes.mustache"), atomically: true, encoding: .utf8)
        try "const { api } = aerie;\n".write(to: folder.appendingPathComponent("static/notes.js"), atomically: true, encoding: .utf8)
        return folder
    }
}

/// An app with no page: nothing of it in the top bar.
private struct HeadlessApp: AerieHTTPApp {
    static let name = "headless"
    func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {}
    func routes(gateway: AppGatewayContext) throws -> [GatewayRoute] { [] }
}

@Suite("Page kit")
struct PageKitTests {
    @Test("kit.css and kit.js are served with their types and an ETag; a 304 when the browser has them; a year's cache at their version")
    func assets() async throws {
        try await withGateway { client, _ in
            let script = try await client.get("/kit/kit.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.text.contains("window.aerie"))
            #expect(script.text.contains("X-CSRF-Token"))
            #expect(script.headers[.cacheControl] == "no-cache")
            let etag = try #require(script.headers[.eTag])
            let again = try await client.get("/kit/kit.js", headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            #expect(again.headers[.eTag] == etag)
            #expect(try await client.get("/kit/kit.js", headers: [.ifNoneMatch: "\"other\""]).status == .ok)

            let version = String(etag.dropFirst().dropLast())
            let current = try await client.get("/kit/kit.js?v=\(version)")
            #expect(current.headers[.cacheControl] == "public, max-age=31536000, immutable")
            let stale = try await client.get("/kit/kit.js?v=0000")
            #expect(stale.status == .ok)
            #expect(stale.headers[.cacheControl] == "no-cache")

            let style = try await client.get("/kit/kit.css")
            #expect(style.status == .ok)
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
            #expect(style.text.contains("--accent"))
            #expect(style.headers[.eTag] != nil && style.headers[.eTag] != etag)
            #expect(try await client.get("/kit/missing.js").status == .notFound)
        }
    }

    @Test("the layout's top bar lists the console for admins, every enabled app's pages, the user and a sign-out form")
    func topBar() async throws {
        let harness = try await GatewayHarness.make(apps: [NotesApp(folder: try NotesApp.resources()), HeadlessApp()])
        try await harness.test { client in
            let admin = try await client.signIn("admin", "admin-password")
            let page = try await client.get("/notes/", session: admin)
            #expect(page.status == .ok)
            let html = page.text
            #expect(html.contains(#"<a href="/console" data-app="console">Console</a>"#))
            #expect(html.contains(#"<a href="/notes/" data-app="notes" class="active" aria-current="page">Notes</a>"#))
            #expect(!html.contains("headless"))
            #expect(html.contains(#"<span class="who">admin</span>"#))
            #expect(html.contains(#"<form class="signout" method="post" action="/console/logout">"#))
            #expect(html.contains(#"<input type="hidden" name="csrf_token" value="\#(admin.csrf)">"#))
            #expect(html.contains(#"<meta name="csrf-token" content="\#(admin.csrf)">"#))

            // The console's pages have the same bar, with the console marked, and the console's areas under it.
            let console = try await client.get("/console/queues", session: admin).text
            #expect(console.contains(#"<a href="/console" data-app="console" class="active" aria-current="page">Console</a>"#))
            #expect(console.contains(#"<a href="/notes/" data-app="notes">Notes</a>"#))
            #expect(console.contains(#"<nav class="subnav" aria-label="Console">"#))

            // A plain user sees the apps but not the console.
            let ann = try await client.signIn("ann", "ann-password")
            let theirs = try await client.get("/notes/", session: ann).text
            #expect(theirs.contains(#"<span class="who">ann</span>"#))
            #expect(theirs.contains(#"data-app="notes""#))
            #expect(!theirs.contains(#"data-app="console""#))
        }
    }

    @Test("an app page is its template inside the layout, with kit.css and kit.js once, then its own script; CSP allows no inline script")
    func appPage() async throws {
        let harness = try await GatewayHarness.make(apps: [NotesApp(folder: try NotesApp.resources())])
        try await harness.test { client in
            let anonymous = try await client.get("/notes/")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/console/login?next=/notes/")
            // A page script calls the API with the session and its CSRF token, so a bearer token alone is sent to sign in.
            let bearer = try await client.send(.get, "/notes/", token: harness.userToken)
            #expect(bearer.status == .seeOther)

            let session = try await client.signIn("ann", "ann-password")
            let page = try await client.get("/notes/", session: session)
            #expect(page.status == .ok)
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            let html = page.text
            #expect(html.contains(#"<title>Notes · Aerie</title>"#))
            #expect(html.contains(#"<body data-page="notes">"#))
            #expect(html.contains(#"<h1>My notes</h1>"#))
            #expect(html.contains(#"<p class="flash error" id="flash" role="alert" hidden></p>"#))
            #expect(html.contains(#"<p id="notes">ann has 3 notes</p>"#))
            #expect(html.components(separatedBy: "/kit/kit.js").count == 2)
            #expect(html.components(separatedBy: "/kit/kit.css").count == 2)
            let kit = try #require(html.range(of: #"<script src="/kit/kit.js?v="#))
            let own = try #require(html.range(of: #"<script src="/notes/static/notes.js?v="#))
            #expect(kit.lowerBound < own.lowerBound)
            // Every script is a file of the site: none inline.
            #expect(html.components(separatedBy: "<script").count - 1 == html.components(separatedBy: #"<script src="/"#).count - 1)

            // The linked version is the one served.
            let etag = try #require(try await client.get("/kit/kit.js").headers[.eTag])
            #expect(html.contains("/kit/kit.js?v=\(etag.dropFirst().dropLast())"))
        }
    }

    @Test("a page link outside the app's pages is refused when the gateway is built")
    func strayLink() async throws {
        let error = await #expect(throws: AerieError.self) {
            _ = try await GatewayHarness.make(apps: [NotesApp(folder: try NotesApp.resources(), links: [PageLink("Steal", path: "/console/users")])])
        }
        #expect(error?.message.contains("outside its pages") == true)
    }

    @Test("the top bar marks the link of the page shown, and only a page at or under the link's path")
    func activeLink() {
        #expect(PageKit.path("/console", isUnder: "/console"))
        #expect(PageKit.path("/console/queues", isUnder: "/console"))
        #expect(!PageKit.path("/consoles", isUnder: "/console"))
        #expect(PageKit.path("/imagine/", isUnder: "/imagine/"))
        #expect(PageKit.path("/imagine", isUnder: "/imagine/"))
        #expect(!PageKit.path("/imagined/", isUnder: "/imagine/"))
    }
}

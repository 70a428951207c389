import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Mustache templates and static files of a set of pages, read once from a folder holding `templates/` and
/// `static/`: the page kit's (`Resources/kit` of this module), the console's (`Resources/console`) and each app's
/// pages (their own resources). Pages render inside the kit's layout with ``PageKit``.
public struct PageAssets: Sendable {
    /// A static file, ready to serve.
    public struct StaticFile: Sendable {
        var contentType: String
        var body: ByteBuffer
        /// Quoted strong validator for `ETag`.
        var etag: String
        /// The validator without its quotes, for `?v=` in URLs.
        var version: String { String(etag.dropFirst().dropLast()) }
    }

    let library: MustacheLibrary
    let files: [String: StaticFile]

    /// Loads one folder of this module's resources (`console`, `kit`); the error names what was looked for.
    static func loadModule(_ folder: String) throws -> PageAssets {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The gateway's resource bundle (AerieHTTP's Resources folder) is missing; reinstall Aerie so the `aerie_AerieHTTP.resources` folder sits next to the binary.")
        }
        return try load(from: resources.appendingPathComponent(folder))
    }

    /// Loads the assets from a folder holding `templates/` and `static/`.
    public static func load(from folder: URL) throws -> PageAssets {
        let manager = FileManager.default
        let templates = folder.appendingPathComponent("templates")
        var library = MustacheLibrary()
        let names = (try? manager.contentsOfDirectory(atPath: templates.path)) ?? []
        for name in names where name.hasSuffix(".mustache") {
            let url = templates.appendingPathComponent(name)
            guard let data = manager.contents(atPath: url.path) else { continue }
            do {
                try library.register(String(decoding: data, as: UTF8.self), named: String(name.dropLast(".mustache".count)))
            } catch {
                throw AerieError(.internal, "The page template \(url.path) does not parse: \(error).")
            }
        }
        guard !names.filter({ $0.hasSuffix(".mustache") }).isEmpty else {
            throw AerieError(.internal, "No page templates in \(templates.path); reinstall Aerie with its resources.")
        }

        var files: [String: StaticFile] = [:]
        let staticFolder = folder.appendingPathComponent("static")
        for name in (try? manager.contentsOfDirectory(atPath: staticFolder.path)) ?? [] {
            guard let data = manager.contents(atPath: staticFolder.appendingPathComponent(name).path) else { continue }
            let digest = Secrets.sha256Hex(String(decoding: data, as: UTF8.self)).prefix(16)
            files[name] = StaticFile(contentType: contentType(of: name), body: ByteBuffer(bytes: data), etag: "\"\(digest)\"")
        }
        return PageAssets(library: library, files: files)
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
    }

    /// Renders a template; throws when it is missing.
    public func render(_ template: String, _ values: [String: Any]) throws -> String {
        guard let text = library.render(values, withTemplate: template) else {
            throw AerieError(.internal, "The page template \"\(template)\" is missing; reinstall Aerie with its resources.")
        }
        return text
    }

    /// The path of a static file with its content version, `<prefix><name>?v=<version>`, for pages to link: the
    /// browser may keep that URL for a year without asking again, since a changed file gets another URL.
    /// Throws when there is no such file.
    public func versionedPath(_ name: String, under prefix: String) throws -> String {
        guard let file = files[name] else {
            throw AerieError(.internal, "The page asset \"\(name)\" is missing; reinstall Aerie with its resources.")
        }
        return "\(prefix)\(name)?v=\(file.version)"
    }

    /// Serves a static file by name with its ETag (304 when the client already has it, 404 when there is none).
    ///
    /// Requested with its current version (`?v=`, see ``versionedPath(_:under:)``) it may be cached for a year
    /// (`immutable`); without it, or with an old version, the browser asks again each time (`no-cache`) and gets a 304.
    public func staticFile(_ name: String, request: Request) throws -> Response {
        guard let file = files[name] else {
            throw AerieError.notFound("No file named \"\(name)\".")
        }
        let current = request.uri.queryParameters.get("v") == file.version
        let cacheControl = current ? "public, max-age=31536000, immutable" : "no-cache"
        if request.headers[.ifNoneMatch] == file.etag {
            return Response.empty(.notModified, headers: [.eTag: file.etag, .cacheControl: cacheControl])
        }
        return Response(status: .ok, headers: [.contentType: file.contentType, .eTag: file.etag, .cacheControl: cacheControl],
                        body: .init(byteBuffer: file.body))
    }

    /// An HTML page with headers that keep it out of caches and frames and allow only Aerie's own scripts.
    public static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "same-origin",
        ], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The answer to a page request without a session: `303` to the sign-in form, which comes back here after.
    public static func signInRedirect(for request: Request) -> Response {
        var target = request.uri.path
        if let query = request.uri.query, !query.isEmpty { target += "?" + query }
        let next = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_.~"))) ?? "/console"
        return Response.empty(.seeOther, headers: [.location: "/console/login?next=\(next)", .cacheControl: "no-store"])
    }
}

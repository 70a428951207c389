import AerieCore
import Foundation
import Mustache
import NIOCore

/// The console's Mustache templates and static files, read once from the module's resources
/// (`Resources/console/templates/*.mustache`, `Resources/console/static/*`).
struct ConsoleAssets: Sendable {
    /// A static file, ready to serve.
    struct StaticFile: Sendable {
        var contentType: String
        var body: ByteBuffer
        /// Quoted strong validator for `ETag`.
        var etag: String
    }

    let library: MustacheLibrary
    let files: [String: StaticFile]

    /// Loads the assets from the module bundle; the error names the folder that was looked for.
    static func load() throws -> ConsoleAssets {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The console's resource bundle (AerieHTTP's Resources folder) is missing; reinstall Aerie so the `aerie_AerieHTTP.resources` folder sits next to the binary.")
        }
        return try load(from: resources.appendingPathComponent("console"))
    }

    /// Loads the assets from a folder holding `templates/` and `static/`.
    static func load(from folder: URL) throws -> ConsoleAssets {
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
                throw AerieError(.internal, "The console template \(url.path) does not parse: \(error).")
            }
        }
        guard library.getTemplate(named: "layout") != nil else {
            throw AerieError(.internal, "No console templates in \(templates.path); reinstall Aerie with its resources.")
        }

        var files: [String: StaticFile] = [:]
        let staticFolder = folder.appendingPathComponent("static")
        for name in (try? manager.contentsOfDirectory(atPath: staticFolder.path)) ?? [] {
            guard let data = manager.contents(atPath: staticFolder.appendingPathComponent(name).path) else { continue }
            let digest = AuthService.sha256Hex(String(decoding: data, as: UTF8.self)).prefix(16)
            files[name] = StaticFile(contentType: contentType(of: name), body: ByteBuffer(bytes: data), etag: "\"\(digest)\"")
        }
        return ConsoleAssets(library: library, files: files)
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
    func render(_ template: String, _ values: [String: Any]) throws -> String {
        guard let text = library.render(values, withTemplate: template) else {
            throw AerieError(.internal, "The console template \"\(template)\" is missing; reinstall Aerie with its resources.")
        }
        return text
    }
}

import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/gallery/`: a grid of the caller's thumbnails with their tags, a search box, drag-and-drop upload of
/// several files with progress, delete, share and the duplicate view, inside the page kit's layout. Its script
/// (`gallery.js`, on top of kit.js) calls the app's API with the page session; thumbnails load lazily from their
/// signed URLs.
struct GalleryPage {
    let assets: PageAssets

    static let link = PageLink("Gallery", path: "/gallery/")

    static func load() throws -> GalleryPage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Gallery app's resource bundle is missing; reinstall Aerie so the `aerie_Gallery.resources` folder sits next to the binary.")
        }
        return GalleryPage(assets: try PageAssets.load(from: resources.appendingPathComponent("gallery")))
    }

    func routes(kit: PageKit) throws -> [GatewayRoute] {
        let page = PageKit.Page(template: "gallery", title: "Gallery",
                                scripts: [try assets.versionedPath("gallery.js", under: "/gallery/static/")],
                                styles: [try assets.versionedPath("gallery.css", under: "/gallery/static/")])
        return [
            GatewayRoute(.get, "/gallery/", summary: "The Gallery page: upload, grid, search, duplicates", tag: "gallery",
                         access: .anyone, response: .html) { [assets] request, context in
                try kit.render(page, assets: assets, request: request, context: context)
            },
            GatewayRoute(.get, "/gallery/static/{file}", summary: "The Gallery page's script and styles", tag: "gallery",
                         access: .anyone, response: .html) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

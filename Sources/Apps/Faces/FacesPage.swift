import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/faces/`: your people with their faces (enrol by drag and drop), recognize with boxes and names drawn
/// on the photo, clusters of unknown faces to name, and watches; inside the page kit's layout. Its script
/// (`faces.js`, on top of kit.js) calls the app's API with the page session; crops load with the session cookie.
struct FacesPage {
    let assets: PageAssets

    static let link = PageLink("Faces", path: "/faces/")

    static func load() throws -> FacesPage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Faces app's resource bundle is missing; reinstall Aerie so the `aerie_Faces.resources` folder sits next to the binary.")
        }
        return FacesPage(assets: try PageAssets.load(from: resources.appendingPathComponent("faces")))
    }

    func routes(kit: PageKit) throws -> [GatewayRoute] {
        let page = PageKit.Page(template: "faces", title: "Faces",
                                scripts: [try assets.versionedPath("faces.js", under: "/faces/static/")],
                                styles: [try assets.versionedPath("faces.css", under: "/faces/static/")])
        return [
            GatewayRoute(.get, "/faces/", summary: "The Faces page: people, enrol, recognize, clusters, watches", tag: "faces",
                         access: .anyone, response: .html) { [assets] request, context in
                try kit.render(page, assets: assets, request: request, context: context)
            },
            GatewayRoute(.get, "/faces/static/{file}", summary: "The Faces page's script and styles", tag: "faces",
                         access: .anyone, response: .html) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

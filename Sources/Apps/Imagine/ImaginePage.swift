import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/imagine/`: the prompt form, live step progress and the results grid, inside the page kit's layout.
/// Its script (`imagine.js`, on top of kit.js) calls the app's API with the page session.
struct ImaginePage {
    let assets: PageAssets

    /// The page's entry in the top bar.
    static let link = PageLink("Imagine", path: "/imagine/")

    /// Loads the page's template and static files from this module's resources.
    static func load() throws -> ImaginePage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Imagine app's resource bundle is missing; reinstall Aerie so the `aerie_Imagine.resources` folder sits next to the binary.")
        }
        return ImaginePage(assets: try PageAssets.load(from: resources.appendingPathComponent("imagine")))
    }

    func routes(holder: ImagineApp.Holder, kit: PageKit) throws -> [GatewayRoute] {
        let page = PageKit.Page(template: "imagine", title: "Imagine",
                                scripts: [try assets.versionedPath("imagine.js", under: "/imagine/static/")],
                                styles: [try assets.versionedPath("imagine.css", under: "/imagine/static/")])
        return [
            GatewayRoute(.get, "/imagine/", summary: "The Imagine page: prompt, live progress, results with their cache badge", tag: "imagine",
                         access: .anyone, response: .html) { [assets] request, context in
                var values: [String: Any] = [:]
                if let service = try? holder.service() {
                    values["defaults"] = ["steps": 20, "guidance": 7.5, "size": service.generator.sampleSize * 8]
                }
                return try kit.render(page, assets: assets, values: values, request: request, context: context)
            },
            GatewayRoute(.get, "/imagine/static/{file}", summary: "The Imagine page's script and styles", tag: "imagine",
                         access: .anyone, response: .html) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

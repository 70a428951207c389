import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/pipeline/`: upload a CSV and watch its stages, the models with their metrics and confusion matrix,
/// and a predict form built from the chosen model's schema, inside the page kit's layout. Its script
/// (`pipeline.js`, on top of kit.js) calls the app's API with the page session.
struct PipelinePage {
    let assets: PageAssets

    /// The page's entry in the top bar.
    static let link = PageLink("Pipeline", path: "/pipeline/")

    /// Loads the page's template and static files from this module's resources.
    static func load() throws -> PipelinePage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Pipeline app's resource bundle is missing; reinstall Aerie so the `aerie_Pipeline.resources` folder sits next to the binary.")
        }
        return PipelinePage(assets: try PageAssets.load(from: resources.appendingPathComponent("pipeline")))
    }

    func routes(kit: PageKit) throws -> [GatewayRoute] {
        let page = PageKit.Page(template: "pipeline", title: "Pipeline",
                                scripts: [try assets.versionedPath("pipeline.js", under: "/pipeline/static/")],
                                styles: [try assets.versionedPath("pipeline.css", under: "/pipeline/static/")])
        return [
            GatewayRoute(.get, "/pipeline/", summary: "The Pipeline page: upload, stages, models, predict", tag: "pipeline",
                         access: .anyone, response: .html) { [assets] request, context in
                try kit.render(page, assets: assets, request: request, context: context)
            },
            GatewayRoute(.get, "/pipeline/static/{file}", summary: "The Pipeline page's script and styles", tag: "pipeline",
                         access: .anyone, response: .html) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/pipeline/`: upload a CSV and watch its stages, the models with their metrics and confusion matrix,
/// and a predict form built from the chosen model's schema. The page's script calls the app's API with the page
/// session (cookie plus `X-CSRF-Token`).
struct PipelinePage {
    let assets: PageAssets

    /// Loads the page's templates and static files from this module's resources.
    static func load() throws -> PipelinePage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Pipeline app's resource bundle is missing; reinstall Aerie so the `aerie_Pipeline.resources` folder sits next to the binary.")
        }
        return PipelinePage(assets: try PageAssets.load(from: resources.appendingPathComponent("pipeline")))
    }

    var routes: [GatewayRoute] {
        [
            GatewayRoute(.get, "/pipeline/", summary: "The Pipeline page: upload, stages, models, predict", tag: "pipeline",
                         access: .anyone) { [assets] request, context in
                guard let identity = context.identity, identity.credential == .session else {
                    return PageAssets.signInRedirect(for: request)
                }
                let html = try assets.render("pipeline", ["username": identity.username, "csrf": context.expectedCSRFToken ?? ""])
                return PageAssets.html(html)
            },
            GatewayRoute(.get, "/pipeline/static/{file}", summary: "The Pipeline page's script and styles", tag: "pipeline",
                         access: .anyone) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

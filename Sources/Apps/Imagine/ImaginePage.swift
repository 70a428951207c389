import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The page `/imagine/`: the prompt form, live step progress and the results grid. Its script calls the app's API
/// with the page session (cookie plus `X-CSRF-Token`).
struct ImaginePage {
    let assets: PageAssets

    /// Loads the page's templates and static files from this module's resources.
    static func load() throws -> ImaginePage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Imagine app's resource bundle is missing; reinstall Aerie so the `aerie_Imagine.resources` folder sits next to the binary.")
        }
        return ImaginePage(assets: try PageAssets.load(from: resources.appendingPathComponent("imagine")))
    }

    func routes(holder: ImagineApp.Holder) -> [GatewayRoute] {
        [
            GatewayRoute(.get, "/imagine/", summary: "The Imagine page: prompt, live progress, results with their cache badge", tag: "imagine",
                         access: .anyone) { [assets] request, context in
                guard let identity = context.identity, identity.credential == .session else {
                    return PageAssets.signInRedirect(for: request)
                }
                var values: [String: Any] = ["username": identity.username, "csrf": context.expectedCSRFToken ?? ""]
                if let service = try? holder.service() {
                    values["defaults"] = ["steps": 20, "guidance": 7.5, "size": service.generator.sampleSize * 8]
                }
                return PageAssets.html(try assets.render("imagine", values))
            },
            GatewayRoute(.get, "/imagine/static/{file}", summary: "The Imagine page's script and styles", tag: "imagine",
                         access: .anyone) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

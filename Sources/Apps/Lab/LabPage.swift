import AerieCore
import AerieHTTP
import Foundation
import Hummingbird

/// The pages `/lab/` (catalog, a training form generated from it, drafts with metrics and confusion matrices,
/// committed experiments compared in a chart) and `/lab/admin` (behavioural records, consumer offsets, rewind and
/// re-emit; admins only), inside the page kit's layout. Their scripts call the Lab API with the page session.
struct LabPage {
    let assets: PageAssets

    static let link = PageLink("Lab", path: "/lab/")
    static let adminLink = PageLink("Lab admin", path: "/lab/admin", adminOnly: true)

    static func load() throws -> LabPage {
        guard let resources = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw AerieError(.internal, "The Lab app's resource bundle is missing; reinstall Aerie so the `aerie_Lab.resources` folder sits next to the binary.")
        }
        return LabPage(assets: try PageAssets.load(from: resources.appendingPathComponent("lab")))
    }

    func routes(kit: PageKit) throws -> [GatewayRoute] {
        let styles = [try assets.versionedPath("lab.css", under: "/lab/static/")]
        let page = PageKit.Page(template: "lab", title: "Lab", scripts: [try assets.versionedPath("lab.js", under: "/lab/static/")], styles: styles)
        let admin = PageKit.Page(template: "admin", title: "Lab admin", name: "lab-admin",
                                 scripts: [try assets.versionedPath("lab-admin.js", under: "/lab/static/")], styles: styles)
        return [
            GatewayRoute(.get, "/lab/", summary: "The Lab page: catalog, training form, drafts, committed experiments", tag: "lab",
                         access: .anyone, response: .html) { [assets] request, context in
                try kit.render(page, assets: assets, request: request, context: context)
            },
            GatewayRoute(.get, "/lab/admin", summary: "The Lab admin page: behavioural records, consumer offsets, rewind and re-emit (admins)", tag: "lab",
                         access: .anyone, response: .html, statuses: [403]) { [assets] request, context in
                if let identity = context.identity, !identity.isAdmin {
                    throw AerieError(.forbidden, "The Lab admin page is for admins; your experiments are on /lab/.")
                }
                return try kit.render(admin, assets: assets, request: request, context: context)
            },
            GatewayRoute(.get, "/lab/static/{file}", summary: "The Lab pages' scripts and styles", tag: "lab",
                         access: .anyone, response: .html) { [assets] request, context in
                try assets.staticFile(try context.pathParameter("file"), request: request)
            },
        ]
    }
}

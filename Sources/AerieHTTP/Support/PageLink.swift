/// An entry of the page kit's top bar: a link to one of an app's pages.
///
/// Apps declare theirs in ``AerieHTTPApp/pageLinks()``; the top bar of every page (the console's and each app's)
/// lists the enabled apps' links, after the console's (shown to admins only).
public struct PageLink: Sendable, Hashable {
    /// The link's text in the top bar.
    public var label: String
    /// The page's path; it must lie under the app's `/<name>/` (or be `/<name>`).
    public var path: String
    /// Whether only admins see the link.
    public var adminOnly: Bool
    /// The app that declared the link; the gateway fills it in.
    public internal(set) var app: String = ""

    public init(_ label: String, path: String, adminOnly: Bool = false) {
        self.label = label
        self.path = path
        self.adminOnly = adminOnly
    }
}

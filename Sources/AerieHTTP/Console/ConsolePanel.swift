/// A panel an app adds to the console's Apps page (`/console/apps`): figures read from the same Prometheus
/// registry `/metrics` exports, so the console needs to know nothing about the app.
///
/// Declare panels in ``AerieHTTPApp/consolePanels()``; the console reports them at `GET /console/api/apps`
/// (counters and ratios as numbers, histograms as count, mean, p50 and p95 estimated from the buckets, plus
/// the per-bucket counts it draws as a bar chart).
public struct ConsolePanel: Sendable, Hashable {
    /// The panel's heading.
    public var title: String
    public var items: [Item]
    /// The app that declared the panel; the gateway fills it in.
    var app = ""

    public init(title: String, items: [Item]) {
        self.title = title
        self.items = items
    }

    /// One figure of a panel. Metric names are as `/metrics` shows them; values are summed over label sets.
    public enum Item: Sendable, Hashable {
        /// A counter's (or gauge's) value.
        case counter(_ metric: String, label: String)
        /// The sum of `numerator` over the sum of `denominator` (0…1); none while the denominator is 0.
        case ratio(label: String, numerator: [String], denominator: [String])
        /// A histogram's count, mean, p50 and p95; with `chart`, its buckets as a bar chart.
        case histogram(_ metric: String, label: String, unit: Unit, chart: Bool = false)
    }

    /// How the console formats a histogram's values.
    public enum Unit: String, Sendable, Hashable, Encodable {
        case seconds
        case plain
    }
}

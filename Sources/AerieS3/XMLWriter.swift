import Foundation

/// Writes the small XML documents S3 answers with (`ListBucketResult`, `Error`…): elements in order, text escaped.
public struct XMLWriter: Sendable {
    public private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    public init() {}

    /// Opens an element; the S3 namespace is put on the root element when `namespaced`.
    public mutating func open(_ name: String, namespaced: Bool = false) {
        text += namespaced ? "<\(name) xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" : "<\(name)>"
    }

    public mutating func close(_ name: String) { text += "</\(name)>" }

    /// Appends markup as it is (a constant tag with attributes, such as a `Grantee`'s `xsi:type`); never user data.
    public mutating func raw(_ markup: String) { text += markup }

    public mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    /// An S3 user as `<name><ID>…</ID><DisplayName>…</DisplayName></name>` (`Owner`, `Initiator`); Aerie's user
    /// name serves as both.
    public mutating func user(_ name: String, _ username: String) {
        open(name)
        element("ID", username)
        element("DisplayName", username)
        close(name)
    }

    /// The `CommonPrefixes` entries of a listing.
    public mutating func commonPrefixes(_ prefixes: [String], encoded: (String) -> String) {
        for prefix in prefixes {
            open("CommonPrefixes")
            element("Prefix", encoded(prefix))
            close("CommonPrefixes")
        }
    }

    /// Escapes `& < > " '` and writes characters XML 1.0 cannot hold (controls) as character references.
    public static func escape(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case "\r": result += "&#13;"
            default:
                if scalar.value < 0x20 { result += "&#\(scalar.value);" } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}

/// S3's time format in XML: `2013-05-24T00:00:00.000Z`.
public enum S3Time {
    public static func iso8601(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: date)
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0,
                      c.hour ?? 0, c.minute ?? 0, c.second ?? 0, max(0, millis))
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 7231 date (`Fri, 24 May 2013 00:00:00 GMT`) for `Last-Modified`.
    public static func httpDate(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: date)
        return String(format: "%@, %02d %@ %04d %02d:%02d:%02d GMT", weekdays[(c.weekday ?? 1) - 1], c.day ?? 0,
                      months[(c.month ?? 1) - 1], c.year ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// Parses an RFC 7231 date.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        (components.year, components.month, components.day) = (year, monthIndex + 1, day)
        (components.hour, components.minute, components.second) = (time[0], time[1], time[2])
        return Calendar(identifier: .gregorian).date(from: components)
    }
}

import Foundation

/// A plain-text email, rendered as an RFC 5322 message with MIME headers.
public struct MailMessage: Sendable, Hashable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// Extra headers (name → value), for example `X-Aerie-Watch`; values are checked for line breaks when rendered.
    public var headers: [String: String]

    public init(from: String, to: [String], subject: String, body: String, headers: [String: String] = [:]) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.headers = headers
    }

    /// The message as sent after DATA: CRLF line ends, non-ASCII subjects as RFC 2047 encoded words, the body in
    /// base64 when it is not plain ASCII, and lines starting with "." doubled (RFC 5321 §4.5.2). Without the final
    /// "." line.
    public func rendered(date: Date = Date(), messageID: String) -> String {
        var lines = [
            "From: <\(from)>",
            "To: " + to.map { "<\($0)>" }.joined(separator: ", "),
            "Subject: \(Self.encodedWord(subject))",
            "Date: \(Self.rfc5322(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
        ]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            lines.append("\(name): \(clean)")
        }
        let normalized = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if normalized.unicodeScalars.allSatisfy({ $0.isASCII }) {
            lines += ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit", ""]
            lines += normalized.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        } else {
            lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            let encoded = Data(normalized.utf8).base64EncodedString()
            var index = encoded.startIndex
            while index < encoded.endIndex {
                let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
                lines.append(String(encoded[index..<end]))
                index = end
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// An RFC 2047 encoded word for a non-ASCII header value; ASCII values as they are (line breaks removed).
    static func encodedWord(_ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard !clean.unicodeScalars.allSatisfy({ $0.isASCII }) else { return clean }
        return "=?UTF-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    static func rfc5322(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(format: "%@, %02d %@ %04d %02d:%02d:%02d +0000", days[(parts.weekday ?? 1) - 1], parts.day ?? 1,
                      months[(parts.month ?? 1) - 1], parts.year ?? 1970, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }
}

import AerieCore
import Foundation

/// Where and how Aerie sends email: `smtp://USER:PASS@HOST:PORT` (STARTTLS when the server offers it) or
/// `smtps://…` (TLS from the first byte), with the sender address.
///
/// Query options: `tls=starttls` (require STARTTLS), `tls=none` (plain text, for a local relay only), `ca_file=PATH`
/// (trust this PEM certificate or CA instead of the system's), `timeout=SECONDS` (each reply, default 30).
/// Credentials are sent only over TLS unless `tls=none` says the link is trusted.
public struct SMTPConfiguration: Sendable, Hashable {
    public enum Security: String, Sendable, Hashable {
        /// STARTTLS when the server offers it, plain text otherwise (credentials then refused).
        case opportunistic
        /// STARTTLS, or fail.
        case starttls
        /// TLS from the connection's start (`smtps://`, port 465).
        case implicit
        /// Never TLS.
        case none
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    public var caFile: String?
    public var from: String
    public var replyTimeout: TimeAmountSeconds
    /// The name this client gives in EHLO.
    public var clientName: String

    public typealias TimeAmountSeconds = Double

    public init(host: String, port: Int = 587, username: String? = nil, password: String? = nil, security: Security = .opportunistic,
                caFile: String? = nil, from: String, replyTimeout: Double = 30, clientName: String = "aerie.localhost") {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.caFile = caFile
        self.from = from
        self.replyTimeout = replyTimeout
        self.clientName = clientName
    }

    /// The configuration of `--smtp-url` and `--smtp-from`; a malformed URL or address is an error naming the option.
    public static func parse(url text: String, from: String) throws -> SMTPConfiguration {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty else {
            throw AerieError.invalid("--smtp-url must look like smtp://user:password@host:587 or smtps://host:465, not \(Self.redacted(text)).",
                                     field: "smtp-url")
        }
        guard MailAddress.isValid(from) else {
            throw AerieError.invalid("--smtp-from must be an email address such as aerie@example.com, not \"\(from)\".", field: "smtp-from")
        }
        var configuration = SMTPConfiguration(host: host, port: components.port ?? (scheme == "smtps" ? 465 : 587),
                                              username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding },
                                              password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding },
                                              security: scheme == "smtps" ? .implicit : .opportunistic, from: from)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "tls":
                guard scheme == "smtp", let value = item.value, let security = Security(rawValue: value), security != .implicit, security != .opportunistic else {
                    throw AerieError.invalid("--smtp-url's tls is starttls or none (use smtps:// for TLS from the start).", field: "smtp-url")
                }
                configuration.security = security
            case "ca_file":
                guard let path = item.value, FileManager.default.isReadableFile(atPath: path) else {
                    throw AerieError.invalid("--smtp-url's ca_file \(item.value ?? "") is not a readable file.", field: "smtp-url")
                }
                configuration.caFile = path
            case "timeout":
                guard let value = item.value.flatMap(Double.init), value > 0 else {
                    throw AerieError.invalid("--smtp-url's timeout is a positive number of seconds.", field: "smtp-url")
                }
                configuration.replyTimeout = value
            default:
                throw AerieError.invalid("--smtp-url has an unknown option \(item.name) (known: tls, ca_file, timeout).", field: "smtp-url")
            }
        }
        return configuration
    }

    /// The URL with its password replaced, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "(unprintable URL)"
    }

    /// Where mail goes, without credentials: `smtp://host:port`.
    public var description: String {
        "\(security == .implicit ? "smtps" : "smtp")://\(host):\(port)"
    }
}

/// Email address checks, deliberately simple: one `@`, a non-empty local part, a domain with a dot or `localhost`, no
/// spaces, angle brackets or line breaks (which could inject SMTP commands or headers).
public enum MailAddress {
    public static func isValid(_ address: String) -> Bool {
        guard address.utf8.count <= 254, !address.contains(where: { $0.isWhitespace || "<>\r\n,;\"()".contains($0) }) else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, !parts[1].isEmpty else { return false }
        let domain = parts[1]
        return (domain.contains(".") || domain == "localhost") && !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }
}

import AerieCore
import Foundation
import Logging

/// A swift-log backend writing the Lab seed's human line format to standard error:
///
/// `| DATE: 07/12/2026 | TIME: 03:20:41 | [ REST @ handle(_:context:) ] INFO aerie.http: request finished status=200`
///
/// The flow is `REST` for a line about an HTTP request (it carries `request_id`), `TASK` for functions and apps,
/// `EVENT` for the rest (triggers, services); the function is the Swift function that logged. Times are UTC.
/// `aerie serve --log-format human` bootstraps it; `json` (``JSONLogHandler``) is the default.
public struct HumanLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, metadataProvider: metadataProvider) { line in
            StandardError.write(line)
        }
    }

    /// A handler handing each line (with its trailing newline) to `write` (for tests).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        merged.removeValue(forKey: "hb.request.id")
        write(Self.line(date: Date(), level: event.level, label: label, function: event.function, message: event.message.description,
                        metadata: merged, error: event.error))
    }

    /// One line, with its trailing newline.
    static func line(date: Date, level: Logger.Level, label: String, function: String, message: String,
                     metadata: Logger.Metadata, error: (any Error)?) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.day, .month, .year, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let flow: String
        if metadata["request_id"] != nil || label.hasPrefix("aerie.http") {
            flow = "REST"
        } else if label.hasPrefix("aerie.functions") || label.hasPrefix("aerie.apps") || metadata["function"] != nil {
            flow = "TASK"
        } else {
            flow = "EVENT"
        }
        var text = "| DATE: \(two(c.day))/\(two(c.month))/\(String(format: "%04d", c.year ?? 0)) | TIME: \(two(c.hour)):\(two(c.minute)):\(two(c.second)) "
            + "| [ \(flow) @ \(function) ] \(level.rawValue.uppercased()) \(label): \(message)"
        for key in metadata.keys.sorted() {
            text += " \(key)=\(metadata[key].map { "\($0)" } ?? "")"
        }
        if let error { text += " error=\(error)" }
        return text + "\n"
    }
}

import AerieCore
import Foundation
import Logging

/// A swift-log backend writing one JSON object per line to standard error:
/// `{"time":…,"level":"info","label":…,"message":…,"request_id":…,…metadata}`.
///
/// `aerie serve` bootstraps it: `LoggingSystem.bootstrap { JSONLogHandler(label: $0) }`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    /// A handler writing to standard error.
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
        var object: [String: JSONValue] = [:]
        for (key, value) in merged { object[key] = Self.json(value) }
        object["time"] = .string(RFC3339.string(from: Date()))
        object["level"] = .string(event.level.rawValue)
        object["label"] = .string(label)
        object["message"] = .string(event.message.description)
        if let error = event.error { object["error"] = .string(String(describing: error)) }
        if event.level >= .error { object["source"] = .string("\(event.file):\(event.line)") }
        write(String(decoding: JSONValue.object(object).encoded(), as: UTF8.self) + "\n")
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let value): .string(value.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(values.mapValues(json))
        }
    }
}

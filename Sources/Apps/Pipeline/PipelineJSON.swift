import AerieCore
import Foundation

/// Moves the app's Codable records in and out of table items and JSON objects (shared coders: RFC 3339 times,
/// sorted keys; the records spell their keys in snake_case themselves).
enum PipelineJSON {
    static func value(_ value: some Encodable) throws -> JSONValue {
        try JSONValue.parse(JSONCoding.encode(value))
    }

    static func object(_ value: some Encodable) throws -> [String: JSONValue] {
        guard let object = try self.value(value).objectValue else {
            throw AerieError(.internal, "A pipeline record did not encode as a JSON object.")
        }
        return object
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONCoding.decoder.decode(type, from: value.encoded())
    }
}

import Foundation

/// Base64 with the URL-safe alphabet and no padding, for opaque cursors that travel in query strings.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    /// Encodes a list of strings as one cursor.
    public static func encodeCursor(_ parts: [String]) -> String {
        encode((try? JSONEncoder().encode(parts)) ?? Data())
    }

    /// Decodes a cursor made by ``encodeCursor(_:)`` with `count` parts, or nil if it is not one.
    public static func decodeCursor(_ cursor: String, count: Int) -> [String]? {
        guard let data = decode(cursor), let parts = try? JSONDecoder().decode([String].self, from: data),
              parts.count == count else { return nil }
        return parts
    }
}

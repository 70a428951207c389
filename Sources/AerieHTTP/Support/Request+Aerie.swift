import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// Reads the whole body, refusing more than `limit` bytes with 413 (up front when `Content-Length` says so).
    public func collectData(limit: Int) async throws -> Data {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw HTTPProblem(.tooLarge, "The body is \(length) bytes; this route accepts at most \(limit) bytes.")
        }
        var data = Data()
        for try await buffer in body {
            guard data.count + buffer.readableBytes <= limit else {
                throw HTTPProblem(.tooLarge, "The body is larger than the \(limit) bytes this route accepts.")
            }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    /// Whether the request's `Content-Type` is JSON (`application/json` or `…+json`); a missing one counts as JSON.
    var hasJSONContentType: Bool {
        guard let type = headers[.contentType] else { return true }
        let media = type.split(separator: ";").first.map { $0.trimmingHeaderBlanks().lowercased() } ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }

    /// Decodes a JSON body: 415 for a non-JSON `Content-Type`, 413 beyond `limit`, 400 naming the field for
    /// malformed JSON or a wrong type.
    public func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        guard hasJSONContentType else {
            throw HTTPProblem(.unsupportedMediaType, "This route takes a JSON body; send it with `Content-Type: application/json` (got \(headers[.contentType] ?? "")).")
        }
        let data = try await collectData(limit: limit)
        guard !data.isEmpty else {
            throw AerieError.invalid("The request body is empty; send a JSON object.", field: "/")
        }
        return try JSONCoding.decode(T.self, from: data)
    }

    /// Decodes a JSON body when there is one, else returns `empty`.
    public func decodeOptionalJSON<T: Decodable>(_ type: T.Type, limit: Int, empty: T) async throws -> T {
        if headers[.contentLength] == "0" { return empty }
        guard hasJSONContentType else {
            throw HTTPProblem(.unsupportedMediaType, "This route takes a JSON body; send it with `Content-Type: application/json`.")
        }
        let data = try await collectData(limit: limit)
        if data.isEmpty { return empty }
        return try JSONCoding.decode(T.self, from: data)
    }

    /// A query parameter (percent-decoded once), or nil.
    public func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }

    /// An integer query parameter within `range`, or `defaultValue` when absent; 400 otherwise.
    public func queryInt(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = query(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw AerieError.invalid("Query parameter \(name) must be an integer from \(range.lowerBound) to \(range.upperBound).", field: name)
        }
        return value
    }
}

extension AerieRequestContext {
    /// A path parameter, percent-decoded once; 400 when its encoding is broken.
    public func pathParameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name) else {
            throw AerieError.invalid("The path parameter \(name) is missing.", field: name)
        }
        guard let decoded = PercentDecoding.decode(raw) else {
            throw AerieError.invalid("The path parameter \(name) has a broken percent-encoding.", field: name)
        }
        return decoded
    }

    /// The caller, or 401 (routes declared with an access rule always have one).
    public func requireIdentity() throws -> Identity {
        guard let identity else {
            throw AerieError(.unauthenticated, "This route needs credentials: send `Authorization: Bearer <token or API key>`.")
        }
        return identity
    }
}

/// `{"items": […], "next_cursor": …}`, the shape of every list.
public struct ListBody<Item: Encodable>: Encodable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

extension StringProtocol {
    /// Without the spaces and tabs around it (HTTP's optional white space). Foundation's `trimmingCharacters`
    /// goes through NSString on Linux, which showed in the request path's profile.
    func trimmingHeaderBlanks() -> SubSequence {
        let isBlank = { (character: Character) in character == " " || character == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

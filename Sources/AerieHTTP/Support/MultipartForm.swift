import AerieCore
import Foundation

/// A `multipart/form-data` body (RFC 7578) read into its parts: a browser form's files and text fields (Pipeline's
/// CSV upload, Gallery's and Faces' photos, Lab's datasets).
///
/// The parser is ours, small, on purpose: MultipartKit 4.7.1 (the version here) indexes a 128-entry table with each
/// byte of a part's header name, so one upload with a byte over 0x7F in a header name crashed the whole server
/// (found by the multipart fuzz target; `e2e/test_limits.py` sends that body). Nothing else of MultipartKit was used.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        public var name: String
        public var filename: String?
        /// The part's own `Content-Type`, if it sent one.
        public var contentType: String?
        public var data: Data
    }

    public var parts: [Part]

    /// The parts named `name`, in order.
    public func parts(named name: String) -> [Part] {
        parts.filter { $0.name == name }
    }

    /// The boundary of a `multipart/form-data` content type, or nil for other types.
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            return unquoted(piece.dropFirst("boundary=".count))
        }
        return nil
    }

    public init(data: Data, boundary: String) throws {
        let bytes = [UInt8](data)
        let delimiter = Array("--\(boundary)".utf8)
        // The first delimiter opens the body (anything before it is a preamble to ignore); each part runs to the
        // next delimiter, which follows a CRLF that belongs to it; "--" after a delimiter closes the body.
        guard !boundary.isEmpty, var delimiterAt = Self.firstDelimiter(delimiter, in: bytes) else {
            throw Self.malformed("it has no parts delimited by its boundary")
        }
        var parts: [Part] = []
        while true {
            var cursor = delimiterAt + delimiter.count
            if bytes[cursor...].starts(with: Self.dashes) { break }
            while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") || bytes[cursor] == UInt8(ascii: "\t") { cursor += 1 }
            guard bytes[cursor...].starts(with: Self.crlf) else { throw Self.malformed("a boundary line does not end with CRLF") }
            // Headers: lines up to an empty one. With no header at all, the empty line follows the boundary's CRLF.
            guard let blank = Self.find(Self.crlf + Self.crlf, in: bytes, from: cursor) else {
                throw Self.malformed("a part's headers never end (no empty line)")
            }
            let headers = try Self.headers(bytes[(cursor + 2)..<max(cursor + 2, blank)])
            let contentStart = blank + 4
            guard let next = Self.closingDelimiter(delimiter, in: bytes, from: contentStart - 2) else {
                throw Self.malformed("a part is not closed by the boundary")
            }
            let content = next >= contentStart ? Data(bytes[contentStart..<next]) : Data()
            guard let disposition = headers["content-disposition"], let name = Self.parameter("name", in: disposition) else {
                throw AerieError.invalid("A part of the multipart body has no name in its Content-Disposition.", field: "file")
            }
            parts.append(Part(name: name, filename: Self.parameter("filename", in: disposition), contentType: headers["content-type"],
                              data: content))
            delimiterAt = next + 2
        }
        guard !parts.isEmpty else { throw Self.malformed("it has no parts delimited by its boundary") }
        self.parts = parts
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let dashes: [UInt8] = [UInt8(ascii: "-"), UInt8(ascii: "-")]

    static func malformed(_ why: String) -> AerieError {
        AerieError.invalid("The multipart body does not parse: \(why). Send it as a browser form does (FormData) or use curl -F.",
                           field: "file")
    }

    /// The first `--boundary` at the very start of the body or at the start of a line.
    private static func firstDelimiter(_ delimiter: [UInt8], in bytes: [UInt8]) -> Int? {
        if bytes.starts(with: delimiter) { return 0 }
        return find(crlf + delimiter, in: bytes, from: 0).map { $0 + 2 }
    }

    /// The CRLF of the next delimiter line at or after `start`: CRLF, `--boundary`, then `--` or optional spaces and
    /// CRLF. Content that merely contains CRLF `--boundary` followed by something else is content.
    private static func closingDelimiter(_ delimiter: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        var from = start
        while let candidate = find(crlf + delimiter, in: bytes, from: from) {
            var after = candidate + 2 + delimiter.count
            if bytes[after...].starts(with: dashes) { return candidate }
            while after < bytes.count, bytes[after] == UInt8(ascii: " ") || bytes[after] == UInt8(ascii: "\t") { after += 1 }
            if bytes[after...].starts(with: crlf) { return candidate }
            from = candidate + 1
        }
        return nil
    }

    /// Where `needle` first occurs in `bytes` at or after `start`.
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, start >= 0, needle.count <= bytes.count else { return nil }
        var index = start
        let last = bytes.count - needle.count
        while index <= last {
            guard let candidate = bytes[index...last].firstIndex(of: first) else { return nil }
            if bytes[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// A part's header lines, by lower-cased name: `Name: value`, the name a token of visible ASCII (RFC 9110).
    private static func headers(_ block: ArraySlice<UInt8>) throws -> [String: String] {
        var headers: [String: String] = [:]
        guard !block.isEmpty else { return headers }
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = block.startIndex
        var index = block.startIndex
        while index < block.endIndex {
            if block[index] == 13, index + 1 < block.endIndex, block[index + 1] == 10 {
                lines.append(block[lineStart..<index])
                index += 2
                lineStart = index
            } else {
                index += 1
            }
        }
        lines.append(block[lineStart..<block.endIndex])
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw malformed("a part header is not \"Name: value\" with a visible ASCII name")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            headers[name] = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        return headers
    }

    /// A parameter of a `Content-Disposition` value (`name="file"; filename="d.csv"`).
    static func parameter(_ name: String, in line: String) -> String? {
        let prefix = "\(name)="
        for piece in line.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where piece.lowercased().hasPrefix(prefix) {
            return unquoted(piece.dropFirst(prefix.count))
        }
        return nil
    }

    private static func unquoted(_ value: Substring) -> String {
        value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : String(value)
    }
}

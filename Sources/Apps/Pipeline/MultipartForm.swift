import AerieCore
import Foundation

/// A `multipart/form-data` body (RFC 7578) read into its parts: enough for a CSV upload with a few text fields.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var data: Data
    }

    var parts: [Part]

    /// The boundary of a `multipart/form-data` content type, or nil for other types.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            let value = piece.dropFirst("boundary=".count)
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? String(value.dropFirst().dropLast()) : String(value)
        }
        return nil
    }

    init(data: Data, boundary: String) throws {
        let delimiter = Data("--\(boundary)".utf8)
        let bytes = [UInt8](data)
        var positions: [Int] = []
        var search = 0
        let needle = [UInt8](delimiter)
        while let found = Self.find(needle, in: bytes, from: search) {
            positions.append(found)
            search = found + needle.count
        }
        guard positions.count >= 2 else {
            throw AerieError.invalid("The multipart body has no parts delimited by its boundary; send it as a browser form does (FormData) or use curl -F.", field: "file")
        }
        var parts: [Part] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var partStart = start + needle.count
            // The line break after the delimiter.
            if partStart + 1 < bytes.count, bytes[partStart] == 13, bytes[partStart + 1] == 10 { partStart += 2 }
            var partEnd = end
            if partEnd >= 2, bytes[partEnd - 2] == 13, bytes[partEnd - 1] == 10 { partEnd -= 2 }
            guard partStart <= partEnd else { continue }
            let part = Array(bytes[partStart..<partEnd])
            guard let split = Self.find([13, 10, 13, 10], in: part, from: 0) else {
                throw AerieError.invalid("A part of the multipart body has no header block.", field: "file")
            }
            let headerText = String(decoding: part[0..<split], as: UTF8.self)
            var name: String?
            var filename: String?
            for line in headerText.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                name = Self.parameter("name", in: line)
                filename = Self.parameter("filename", in: line)
            }
            guard let name else {
                throw AerieError.invalid("A part of the multipart body has no name in its Content-Disposition.", field: "file")
            }
            parts.append(Part(name: name, filename: filename, data: Data(part[(split + 4)...])))
        }
        self.parts = parts
    }

    static func parameter(_ name: String, in line: String) -> String? {
        for piece in line.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let prefix = "\(name)="
            guard piece.lowercased().hasPrefix(prefix) else { continue }
            let value = piece.dropFirst(prefix.count)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { return String(value.dropFirst().dropLast()) }
            return String(value)
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var matched = true
                for j in 1..<needle.count where haystack[i + j] != needle[j] {
                    matched = false
                    break
                }
                if matched { return i }
            }
            i += 1
        }
        return nil
    }
}

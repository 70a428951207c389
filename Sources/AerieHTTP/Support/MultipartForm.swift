import AerieCore
import Foundation
import MultipartKit
import NIOCore

/// A `multipart/form-data` body (RFC 7578) read into its parts with MultipartKit's parser: a browser form's files
/// and text fields (Pipeline's CSV upload, Gallery's photos).
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
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var disposition: String?
        var partType: String?
        var body = ByteBuffer()
        var failure: AerieError?
        parser.onHeader = { name, value in
            if name.lowercased() == "content-disposition" { disposition = value }
            if name.lowercased() == "content-type" { partType = value }
        }
        parser.onBody = { chunk in body.writeBuffer(&chunk) }
        parser.onPartComplete = {
            defer {
                disposition = nil
                partType = nil
                body.clear()
            }
            guard let disposition, let name = Self.parameter("name", in: disposition) else {
                failure = failure ?? AerieError.invalid("A part of the multipart body has no name in its Content-Disposition.", field: "file")
                return
            }
            parts.append(Part(name: name, filename: Self.parameter("filename", in: disposition), contentType: partType,
                              data: Data(buffer: body)))
        }
        do {
            try parser.execute(ByteBuffer(data: data))
        } catch {
            throw AerieError.invalid("The multipart body does not parse (\(error)); send it as a browser form does (FormData) or use curl -F.", field: "file")
        }
        if let failure { throw failure }
        guard !parts.isEmpty else {
            throw AerieError.invalid("The multipart body has no parts delimited by its boundary; send it as a browser form does (FormData) or use curl -F.", field: "file")
        }
        self.parts = parts
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

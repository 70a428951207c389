import Foundation

/// The listing algorithm every ``ObjectStore`` driver with sorted metadata shares: the driver fetches batches of rows
/// in UTF-8 byte order of their keys from ``lower`` (a key, and whether that key itself is included) and feeds them to
/// ``consume(_:key:info:)`` until it returns false; ``listing`` is then the page.
///
/// Keys sharing a prefix up to the delimiter roll up into one common prefix, and the scan jumps over the rest of a
/// rolled-up prefix instead of reading it. The cursor is the last entry returned (key or common prefix), so a page
/// boundary stays put while keys are added and removed.
///
/// ```swift
/// var scan = try ObjectListingScan(request)
/// while scan.consume(try fetch(scan.lower, limit: ObjectListingScan.batch), key: \.key, info: \.info) {}
/// return scan.listing
/// ```
public struct ObjectListingScan: Sendable {
    /// Rows to fetch per batch.
    public static let batch = 256

    /// Where the next batch starts.
    public private(set) var lower: (key: String, inclusive: Bool)
    /// The page so far; complete once ``consume(_:key:info:)`` returned false.
    public private(set) var listing = ObjectListing(objects: [], commonPrefixes: [], nextCursor: nil)

    private let request: ListObjectsRequest
    private let prefix: [UInt8]
    private let delimiter: [UInt8]?
    private let after: [UInt8]?
    private var count = 0
    private var last: [UInt8]?

    /// Checks the cursor (`.invalidArgument` for one this store did not return).
    public init(_ request: ListObjectsRequest) throws {
        self.request = request
        prefix = Array(request.prefix.utf8)
        delimiter = request.delimiter.map { Array($0.utf8) }
        var after: [UInt8]?
        if let cursor = request.cursor {
            guard let data = Base64URL.decode(cursor), String(data: data, encoding: .utf8) != nil else {
                throw AerieError.invalid("The cursor is not one this store returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
            }
            after = Array(data)
        }
        self.after = after
        lower = (request.prefix, true)
        if let after, after.lexicographicallyPrecedes(prefix) == false, let text = String(validating: after, as: UTF8.self) {
            lower = (text, false)
        }
    }

    /// Takes one batch of rows (at most ``batch``, in key order from ``lower``); returns whether to fetch another.
    public mutating func consume<Row>(_ rows: [Row], key: (Row) -> String, info: (Row) throws -> ObjectInfo) rethrows -> Bool {
        for row in rows {
            let rowKey = key(row)
            let bytes = Array(rowKey.utf8)
            guard bytes.starts(with: prefix) else { return false }
            var entry = bytes
            var isPrefix = false
            if let delimiter, let range = bytes[prefix.count...].firstRange(of: delimiter) {
                entry = Array(bytes[..<range.upperBound])
                isPrefix = true
            }
            let skipped = (after.map { !$0.lexicographicallyPrecedes(entry) } ?? false) || last == entry
            if !skipped {
                if count == request.limit {
                    listing.nextCursor = last.map { Base64URL.encode(Data($0)) }
                    return false
                }
                if isPrefix {
                    listing.commonPrefixes.append(String(decoding: entry, as: UTF8.self))
                } else {
                    listing.objects.append(try info(row))
                }
                last = entry
                count += 1
            }
            // Jump over every other key under a common prefix rather than reading them.
            if isPrefix, let next = Self.successor(of: entry) {
                lower = (next, true)
                return true
            }
            lower = (rowKey, false)
        }
        return rows.count == Self.batch
    }

    /// The smallest string greater than every string starting with `prefix`, when the prefix ends in an ASCII
    /// byte below DEL (as common delimiters do); nil otherwise.
    private static func successor(of prefix: [UInt8]) -> String? {
        guard let lastByte = prefix.last, lastByte < 0x7F else { return nil }
        var bytes = prefix
        bytes[bytes.count - 1] = lastByte + 1
        return String(validating: bytes, as: UTF8.self)
    }
}

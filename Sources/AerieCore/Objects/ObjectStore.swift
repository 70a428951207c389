import Foundation
import Synchronization

/// A bucket as listed.
public struct BucketInfo: Sendable, Hashable, Codable {
    public var name: String
    public var createdAt: Date
    public init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}

/// An object's metadata, as HEAD returns it.
public struct ObjectInfo: Sendable, Hashable, Codable {
    public var bucket: String
    public var key: String
    public var size: Int64
    /// Quoted hex MD5 of the content, as S3 (`"9e107d9d372bb6826bd81d3542a419d6"`).
    public var etag: String
    public var contentType: String
    /// User metadata (`X-Aerie-Meta-*` on HTTP), names lower-cased.
    public var metadata: [String: String]
    public var lastModified: Date

    public init(bucket: String, key: String, size: Int64, etag: String, contentType: String, metadata: [String: String], lastModified: Date) {
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.lastModified = lastModified
    }
}

/// What to write with an object besides its bytes.
public struct ObjectAttributes: Sendable, Hashable {
    public var contentType: String
    public var metadata: [String: String]
    /// Metadata the body itself supplies at its end (an S3 aws-chunked trailer's checksum); nil for most puts.
    public var trailing: TrailingMetadata?
    /// A condition on the object as it stands (a conditional PUT), checked by the driver atomically with the write.
    public var precondition: WritePrecondition?

    public init(contentType: String = "application/octet-stream", metadata: [String: String] = [:], trailing: TrailingMetadata? = nil,
                precondition: WritePrecondition? = nil) {
        self.contentType = contentType
        self.metadata = metadata
        self.trailing = trailing
        self.precondition = precondition
    }

    /// The metadata to store: `metadata` with the trailing values added. Drivers read it once the body is consumed.
    public var completedMetadata: [String: String] {
        guard let trailing else { return metadata }
        return metadata.merging(trailing.values) { _, late in late }
    }
}

/// A put's condition on the object it replaces (S3's `If-Match` / `If-None-Match` on PutObject): the driver calls
/// ``check(_:)`` with the current object (nil when there is none) after the body is stored and before it commits, in
/// the same transaction (or actor turn) as the write, so two conditional puts racing for one key cannot both win.
/// `check` throws to refuse the write; nothing is stored then and its error reaches the caller.
public final class WritePrecondition: Sendable, Hashable {
    private let condition: @Sendable (ObjectInfo?) throws -> Void

    public init(_ condition: @escaping @Sendable (ObjectInfo?) throws -> Void) {
        self.condition = condition
    }

    public func check(_ current: ObjectInfo?) throws { try condition(current) }

    public static func == (lhs: WritePrecondition, rhs: WritePrecondition) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// Metadata known only after a put's body has been read to its end (an S3 aws-chunked body's checksum trailer).
/// The body's reader sets it; the driver merges it into the object's metadata after consuming the body and before it
/// commits, so it is stored in the same transaction as the rest, or not at all.
public final class TrailingMetadata: Sendable, Hashable {
    private let storage = Mutex<[String: String]>([:])

    public init() {}

    public func set(_ name: String, _ value: String) { storage.withLock { $0[name] = value } }

    public var values: [String: String] { storage.withLock { $0 } }

    public static func == (lhs: TrailingMetadata, rhs: TrailingMetadata) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// A byte range: `start...end` inclusive, or the last `suffixLength` bytes, as HTTP `Range: bytes=`.
public enum ByteRange: Sendable, Hashable {
    case closed(start: Int64, end: Int64)
    case from(start: Int64)
    case suffix(length: Int64)

    /// The concrete inclusive range within an object of `size` bytes, or nil when it is not satisfiable.
    public func resolve(size: Int64) -> ClosedRange<Int64>? {
        switch self {
        case .closed(let start, let end):
            guard start <= end, start < size else { return nil }
            return start...min(end, size - 1)
        case .from(let start):
            guard start < size else { return nil }
            return start...(size - 1)
        case .suffix(let length):
            guard length > 0, size > 0 else { return nil }
            return max(0, size - length)...(size - 1)
        }
    }
}

/// An object read back: its metadata, the range served (nil for the whole object), and its bytes.
public struct ObjectData: Sendable {
    public var info: ObjectInfo
    public var range: ClosedRange<Int64>?
    public var body: Data
    public init(info: ObjectInfo, range: ClosedRange<Int64>?, body: Data) {
        self.info = info
        self.range = range
        self.body = body
    }
}

/// One page of a listing. Keys that share a prefix up to `delimiter` are rolled up into `commonPrefixes`.
public struct ObjectListing: Sendable, Hashable {
    public var objects: [ObjectInfo]
    public var commonPrefixes: [String]
    /// Pass back as `cursor` to get the next page; nil on the last page.
    public var nextCursor: String?
    public init(objects: [ObjectInfo], commonPrefixes: [String], nextCursor: String?) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.nextCursor = nextCursor
    }
}

/// The parameters of a listing.
public struct ListObjectsRequest: Sendable, Hashable {
    public var prefix: String
    public var delimiter: String?
    public var cursor: String?
    public var limit: Int
    public init(prefix: String = "", delimiter: String? = nil, cursor: String? = nil, limit: Int = 1000) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.cursor = cursor
        self.limit = limit
    }
}

/// The Objects primitive: buckets of keyed byte blobs, S3-like.
///
/// Every change (put, delete) is recorded as an ``ObjectEvent`` on the event log topic
/// ``ObjectEvent/topic`` in the same transaction as the metadata change, so triggers never miss one.
/// Keys are validated with ``ObjectNames/validateKey(_:)``; drivers derive on-disk names from keys
/// so that no key can address a path outside its bucket.
public protocol ObjectStore: Sendable {
    /// Creates a bucket; throws `.alreadyExists` if it exists.
    func createBucket(_ name: String) async throws -> BucketInfo
    /// Deletes an empty bucket; throws `.conflict` if it holds objects, `.notFound` if it does not exist.
    func deleteBucket(_ name: String) async throws
    func listBuckets() async throws -> [BucketInfo]
    /// The bucket, or nil.
    func bucket(_ name: String) async throws -> BucketInfo?

    /// Writes an object atomically from a stream of chunks. Throws `.tooLarge` (and stores nothing)
    /// once more than `maxSize` bytes arrive; `.notFound` if the bucket does not exist.
    func put<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64
    ) async throws -> ObjectInfo where Body.Element == Data

    /// Opens an object, or a byte range of it, for reading as a stream of chunks (``ObjectStream``). Throws
    /// `.notFound`; an unsatisfiable range throws `.invalidArgument` with field `range`. Serve large objects from
    /// here; ``get(bucket:key:range:)`` reads the whole body into memory.
    func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream
    /// The object's metadata, or nil when there is no such object. Throws `.notFound` for a missing bucket.
    func head(bucket: String, key: String) async throws -> ObjectInfo?
    /// Deletes an object; returns whether it existed. Throws `.notFound` for a missing bucket.
    @discardableResult
    func delete(bucket: String, key: String) async throws -> Bool
    func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing
}

extension ObjectStore {
    /// Reads an object, or a byte range of it, into memory. Throws as ``read(bucket:key:range:)``.
    public func get(bucket: String, key: String, range: ByteRange?) async throws -> ObjectData {
        try await read(bucket: bucket, key: key, range: range).collect()
    }

    /// Writes an object from bytes in memory.
    @discardableResult
    public func put(bucket: String, key: String, data: Data, attributes: ObjectAttributes = .init(), maxSize: Int64 = .max) async throws -> ObjectInfo {
        try await put(bucket: bucket, key: key, body: CollectionOfOne(data).async, attributes: attributes, maxSize: maxSize)
    }

    /// Creates the bucket unless it exists.
    public func ensureBucket(_ name: String) async throws {
        if try await bucket(name) == nil {
            do { _ = try await createBucket(name) } catch let error as AerieError where error.code == .alreadyExists {}
        }
    }
}

/// A synchronous sequence lifted into an `AsyncSequence` (for `put(data:)`).
public struct AsyncSequenceOfCollection<Base: Sequence & Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    public typealias Element = Base.Element
    let base: Base
    public struct AsyncIterator: AsyncIteratorProtocol {
        var iterator: Base.Iterator
        public mutating func next() async -> Base.Element? { iterator.next() }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(iterator: base.makeIterator()) }
}

extension Sequence where Self: Sendable, Element: Sendable {
    /// This sequence as an `AsyncSequence`.
    public var async: AsyncSequenceOfCollection<Self> { AsyncSequenceOfCollection(base: self) }
}

import Crypto
import Foundation

/// The in-memory ``ObjectStore`` driver, for tests. Every put and delete appends an ``ObjectEvent`` to
/// `events` on ``ObjectEvent/topic``, in the order the changes happened.
public actor MemoryObjectStore: ObjectStore {
    private struct Bucket {
        var info: BucketInfo
        /// Objects by the UTF-8 bytes of their key: keys that differ only in Unicode normalisation are distinct, as in S3.
        var objects: [[UInt8]: StoredObject] = [:]
    }

    private struct StoredObject {
        var info: ObjectInfo
        var body: Data
    }

    private let events: any EventLog
    private var buckets: [String: Bucket] = [:]
    /// The last pending event append; each append waits for the one before so the log keeps the order of the changes.
    private var eventChain: Task<Void, any Error>?

    /// - Parameter events: the event log object events are appended to (usually the same deployment's log).
    public init(events: any EventLog) {
        self.events = events
    }

    public func createBucket(_ name: String) async throws -> BucketInfo {
        guard buckets[name] == nil else {
            throw AerieError(.alreadyExists, "Bucket \"\(name)\" already exists. Use it, or pick another name.")
        }
        let info = BucketInfo(name: name, createdAt: Date())
        buckets[name] = Bucket(info: info)
        return info
    }

    public func deleteBucket(_ name: String) async throws {
        let bucket = try existing(name)
        guard bucket.objects.isEmpty else {
            throw AerieError(.conflict, "Bucket \"\(name)\" still holds \(bucket.objects.count) object(s). Delete them first.")
        }
        buckets[name] = nil
    }

    public func listBuckets() async throws -> [BucketInfo] {
        buckets.values.map(\.info).sorted { $0.name < $1.name }
    }

    public func bucket(_ name: String) async throws -> BucketInfo? {
        return buckets[name]?.info
    }

    public nonisolated func put<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64
    ) async throws -> ObjectInfo where Body.Element == Data {
        try await requireBucket(bucket)
        // Collect the stream outside the actor; nothing is stored unless all of it arrives within the limit.
        var data = Data()
        for try await chunk in body {
            guard Int64(data.count) + Int64(chunk.count) <= maxSize else {
                throw AerieError(.tooLarge, "The object is larger than the limit of \(maxSize) bytes. Send a smaller object; nothing was stored.")
            }
            data.append(chunk)
        }
        return try await store(bucket: bucket, key: key, data: data, attributes: attributes)
    }

    public func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream {
        let object = try object(bucket: bucket, key: key)
        guard let range else { return ObjectStream(info: object.info, range: nil, body: ObjectChunks(data: object.body)) }
        guard let resolved = range.resolve(size: object.info.size) else {
            throw AerieError.invalid(
                "The range is not satisfiable for an object of \(object.info.size) bytes. Ask for bytes within the object.",
                field: "range")
        }
        let start = object.body.startIndex + Int(resolved.lowerBound)
        let end = object.body.startIndex + Int(resolved.upperBound)
        return ObjectStream(info: object.info, range: resolved, body: ObjectChunks(data: Data(object.body[start...end])))
    }

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        return try existing(bucket).objects[Array(key.utf8)]?.info
    }

    public func delete(bucket: String, key: String) async throws -> Bool {
        _ = try existing(bucket)
        guard let removed = buckets[bucket]?.objects.removeValue(forKey: Array(key.utf8)) else { return false }
        let info = removed.info
        try await appendEvent(ObjectEvent(kind: .removed, bucket: bucket, key: key, size: info.size, etag: info.etag,
                                          contentType: info.contentType, metadata: info.metadata, time: Date()))
        return true
    }

    public func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing {
        let objects = try existing(bucket).objects
        let after = try request.cursor.map(ListingCursor.decode)
        let prefix = Array(request.prefix.utf8)
        let delimiter = request.delimiter.map { Array($0.utf8) }
        let keys = objects.keys.filter { $0.starts(with: prefix) }.sorted { $0.lexicographicallyPrecedes($1) }

        var listing = ObjectListing(objects: [], commonPrefixes: [], nextCursor: nil)
        var count = 0
        var last: [UInt8]?
        for key in keys {
            // The entry this key is listed as: itself, or the common prefix it rolls up into.
            var entry = key
            var isPrefix = false
            if let delimiter, let range = key[prefix.count...].firstRange(of: delimiter) {
                entry = Array(key[..<range.upperBound])
                isPrefix = true
            }
            if let after, !after.lexicographicallyPrecedes(entry) { continue }
            if let last, last == entry { continue }
            if count == request.limit {
                listing.nextCursor = last.map(ListingCursor.encode)
                break
            }
            if isPrefix {
                listing.commonPrefixes.append(String(decoding: entry, as: UTF8.self))
            } else if let object = objects[key] {
                listing.objects.append(object.info)
            }
            last = entry
            count += 1
        }
        return listing
    }

    // MARK: - Internals

    private func store(bucket: String, key: String, data: Data, attributes: ObjectAttributes) async throws -> ObjectInfo {
        let current = try existing(bucket).objects[Array(key.utf8)]?.info
        // Checked and written in one turn of the actor: no other write can come between.
        try attributes.precondition?.check(current)
        let digest = Insecure.MD5.hash(data: data)
        let etag = "\"" + digest.map { String(format: "%02x", $0) }.joined() + "\""
        let metadata = Dictionary(attributes.completedMetadata.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        let contentType = attributes.contentType.isEmpty ? "application/octet-stream" : attributes.contentType
        let info = ObjectInfo(bucket: bucket, key: key, size: Int64(data.count), etag: etag, contentType: contentType,
                              metadata: metadata, lastModified: Date())
        buckets[bucket]?.objects[Array(key.utf8)] = StoredObject(info: info, body: data)
        try await appendEvent(ObjectEvent(kind: .created, bucket: bucket, key: key, size: info.size, etag: etag,
                                          contentType: contentType, metadata: metadata, time: info.lastModified))
        return info
    }

    /// Queues the event behind any pending one (synchronously, so in the order of the changes) and waits until it is in the log.
    private func appendEvent(_ event: ObjectEvent) async throws {
        let payload = try JSONCoding.encode(event)
        let previous = eventChain
        let events = self.events
        let task = Task<Void, any Error> {
            _ = await previous?.result
            try await events.append(topic: ObjectEvent.topic, [OutgoingEvent(key: "\(event.bucket)/\(event.key)", payload: payload)])
        }
        eventChain = task
        try await task.value
    }

    private func requireBucket(_ name: String) throws {
        _ = try existing(name)
    }

    private func existing(_ name: String) throws -> Bucket {
        guard let bucket = buckets[name] else {
            throw AerieError.notFound("Bucket \"\(name)\" does not exist. Create it first.")
        }
        return bucket
    }

    private func object(bucket: String, key: String) throws -> StoredObject {
        guard let object = try existing(bucket).objects[Array(key.utf8)] else {
            throw AerieError.notFound("Object \"\(key)\" does not exist in bucket \"\(bucket)\".")
        }
        return object
    }
}

/// The opaque continuation cursor of an object listing: base64url of the last key or common prefix returned.
enum ListingCursor {
    static func encode(_ bytes: [UInt8]) -> String {
        Base64URL.encode(Data(bytes))
    }

    static func decode(_ cursor: String) throws -> [UInt8] {
        guard let data = Base64URL.decode(cursor) else {
            throw AerieError.invalid("The cursor is not one this store returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
        }
        return Array(data)
    }
}

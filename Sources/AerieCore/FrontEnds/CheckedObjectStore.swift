import Foundation

/// The Objects primitive's front end: checks bucket names, keys and listing limits once, before any driver sees
/// them, so the drivers (memory, files, S3) carry no copy of the rules. ``Primitives`` wraps every object store in
/// it. A driver still owns what depends on its state: a missing bucket, the size limit while the body streams, an
/// unsatisfiable range, and the meaning of its own cursors.
/// After a write it announces ``ObjectEvent/topic`` on ``TopicSignals``, so object triggers in this process start at
/// once.
public struct CheckedObjectStore: ObjectStore {
    public let driver: any ObjectStore
    public let signals: TopicSignals
    public var appResources = AppResources()

    /// `store` behind the checks (a store that is already checked is returned as it is).
    public static func wrap(_ store: any ObjectStore, signals: TopicSignals, appResources: AppResources = AppResources()) -> any ObjectStore {
        store is CheckedObjectStore ? store : CheckedObjectStore(driver: store, signals: signals, appResources: appResources)
    }

    public func createBucket(_ name: String) async throws -> BucketInfo {
        try ObjectNames.validateBucket(name)
        return try await driver.createBucket(name)
    }

    public func deleteBucket(_ name: String) async throws {
        try ObjectNames.validateBucket(name)
        try appResources.checkDeletable(.bucket, name)
        try await driver.deleteBucket(name)
    }

    public func listBuckets() async throws -> [BucketInfo] {
        try await driver.listBuckets()
    }

    public func bucket(_ name: String) async throws -> BucketInfo? {
        try ObjectNames.validateBucket(name)
        return try await driver.bucket(name)
    }

    public func put<Body: AsyncSequence & Sendable>(
        bucket: String, key: String, body: Body, attributes: ObjectAttributes, maxSize: Int64
    ) async throws -> ObjectInfo where Body.Element == Data {
        try ObjectNames.validateBucket(bucket)
        try ObjectNames.validateKey(key)
        let info = try await driver.put(bucket: bucket, key: key, body: body, attributes: attributes, maxSize: maxSize)
        signals.announce(ObjectEvent.topic)
        return info
    }

    public func read(bucket: String, key: String, range: ByteRange?) async throws -> ObjectStream {
        try ObjectNames.validateBucket(bucket)
        try ObjectNames.validateKey(key)
        return try await driver.read(bucket: bucket, key: key, range: range)
    }

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        try ObjectNames.validateBucket(bucket)
        try ObjectNames.validateKey(key)
        return try await driver.head(bucket: bucket, key: key)
    }

    public func delete(bucket: String, key: String) async throws -> Bool {
        try ObjectNames.validateBucket(bucket)
        try ObjectNames.validateKey(key)
        let deleted = try await driver.delete(bucket: bucket, key: key)
        if deleted { signals.announce(ObjectEvent.topic) }
        return deleted
    }

    public func list(bucket: String, _ request: ListObjectsRequest) async throws -> ObjectListing {
        try ObjectNames.validateBucket(bucket)
        guard request.limit >= 1 else {
            throw AerieError.invalid("limit must be at least 1 (got \(request.limit)).", field: "limit")
        }
        if let delimiter = request.delimiter, delimiter.isEmpty {
            throw AerieError.invalid("The delimiter must not be empty; leave it out to list without one.", field: "delimiter")
        }
        return try await driver.list(bucket: bucket, request)
    }
}

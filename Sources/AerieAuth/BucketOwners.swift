import AerieCore
import Foundation

/// Who owns each bucket, for the S3 API's authorization: the user who created it (through S3 or REST). A bucket
/// with no recorded owner (the apps' built-in buckets, buckets made before owners were recorded) belongs to the
/// admin. Admins may use every bucket; a user only those they own.
///
/// Table `aerie_bucket_owners` (key `bucket`).
public struct BucketOwners: Sendable {
    public static let table = "aerie_bucket_owners"
    let tables: any TableStore

    public init(tables: any TableStore) {
        self.tables = tables
    }

    static func ensureTable(_ tables: any TableStore) async throws {
        try await tables.ensureTable(TableSchema(name: table, partitionKey: "bucket"))
    }

    /// The bucket's owner: the recorded one, else ``AuthService/adminUsername``.
    public func owner(of bucket: String) async throws -> String {
        try await tables.get(table: Self.table, key: ItemKey(partition: .string(bucket)))?.item["owner"]?.stringValue
            ?? AuthService.adminUsername
    }

    /// Records `owner` as the bucket's owner (replacing any earlier one).
    public func setOwner(_ owner: String, of bucket: String) async throws {
        try await tables.put(table: Self.table, item: ["bucket": .string(bucket), "owner": .string(owner)], owner: owner)
    }

    /// Forgets the bucket's owner (when the bucket is deleted).
    public func remove(_ bucket: String) async throws {
        try await tables.delete(table: Self.table, key: ItemKey(partition: .string(bucket)))
    }

    /// Whether a user with `username` and `role` may use the bucket.
    public func allows(username: String, role: Role, bucket: String) async throws -> Bool {
        if role == .admin { return true }
        return try await owner(of: bucket) == username
    }
}

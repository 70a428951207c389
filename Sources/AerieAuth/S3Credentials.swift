import AerieCore
import Crypto
import Foundation

/// An S3 credential as listed (never with its secret).
public struct S3CredentialRecord: Sendable, Hashable, Codable {
    public var accessKeyId: String
    /// The user the credential acts as.
    public var owner: String
    /// Only reads (GET, HEAD, listings) are allowed.
    public var readOnly: Bool
    public var createdAt: Date

    public init(accessKeyId: String, owner: String, readOnly: Bool, createdAt: Date) {
        self.accessKeyId = accessKeyId
        self.owner = owner
        self.readOnly = readOnly
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case owner
        case accessKeyId = "access_key_id"
        case readOnly = "read_only"
        case createdAt = "created_at"
    }
}

/// A newly made S3 credential: the only time its secret is shown.
public struct CreatedS3Credential: Sendable, Hashable, Codable {
    public var secretAccessKey: String
    public var record: S3CredentialRecord

    enum CodingKeys: String, CodingKey { case secretAccessKey = "secret_access_key" }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(secretAccessKey, forKey: .secretAccessKey)
    }

    public init(secretAccessKey: String, record: S3CredentialRecord) {
        self.secretAccessKey = secretAccessKey
        self.record = record
    }

    public init(from decoder: any Decoder) throws {
        record = try S3CredentialRecord(from: decoder)
        secretAccessKey = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .secretAccessKey)
    }
}

/// What the S3 API needs to check a signature and authorize a request: the secret and who it acts as.
public struct S3Principal: Sendable, Hashable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var username: String
    public var role: Role
    public var readOnly: Bool

    public init(accessKeyId: String, secretAccessKey: String, username: String, role: Role, readOnly: Bool) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.username = username
        self.role = role
        self.readOnly = readOnly
    }
}

// S3 credentials (issue 15). SigV4 needs the secret itself at the server, so unlike API keys it cannot be stored
// as a hash: it is sealed with AES-GCM under a key kept in the settings table (`s3-credential-key`), so that every
// node sharing the tables can verify signatures and a copy of the credentials table alone reveals no secret.
// Table `aerie_s3_credentials` (key `access_key_id`, index `by_kind`).
extension AuthService {
    public static let s3CredentialsTable = "aerie_s3_credentials"
    static let s3KeySetting = "s3-credential-key"
    /// A random value, replaced whenever an S3 credential stops being valid (revoked, its user disabled).

    static func ensureS3Tables(_ tables: any TableStore) async throws {
        try await tables.ensureTable(TableSchema(name: s3CredentialsTable, partitionKey: "access_key_id",
            indexes: [.init(name: byKind, partitionKey: "kind", sortKey: "access_key_id")]))
    }

    /// Makes an S3 credential for `owner`; the returned secret is shown once and stored only encrypted.
    public func createS3Credential(owner: String, readOnly: Bool = false) async throws -> CreatedS3Credential {
        guard let user = try await user(owner) else {
            throw AerieError.invalid("No user named \"\(owner)\" to own the credential; create the user first.", field: "/user")
        }
        guard !user.disabled else {
            throw AerieError.invalid("The user \"\(owner)\" is disabled; enable it before making a credential for it.", field: "/user")
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        let accessKeyId = "AK" + String(decoding: Secrets.randomBytes(18).map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
        // 30 random bytes in base64: 40 characters of [A-Za-z0-9+/], like AWS's secrets.
        let secret = Data(Secrets.randomBytes(30)).base64EncodedString()
        let sealed = try AES.GCM.seal(Data(secret.utf8), using: try await s3SealingKey(), authenticating: Data(accessKeyId.utf8))
        guard let combined = sealed.combined else { throw AerieError(.internal, "AES-GCM produced no sealed box; this is a bug.") }
        let now = Date()
        let item: [String: JSONValue] = [
            "kind": "s3", "access_key_id": .string(accessKeyId), "owner": .string(owner), "read_only": .bool(readOnly),
            "sealed_secret": .string(combined.base64EncodedString()), "created_at": .string(RFC3339.string(from: now)),
        ]
        try await tables.put(table: Self.s3CredentialsTable, item: item, owner: owner, condition: .absent)
        return CreatedS3Credential(secretAccessKey: secret,
                                   record: S3CredentialRecord(accessKeyId: accessKeyId, owner: owner, readOnly: readOnly, createdAt: now))
    }

    /// Lists S3 credentials, all of them or those of `owner`.
    public func listS3Credentials(owner: String? = nil, limit: Int = 100, cursor: String? = nil) async throws -> Page<S3CredentialRecord> {
        let page = try await tables.query(table: Self.s3CredentialsTable,
                                          TableQuery(index: Self.byKind, partition: .string("s3"), owner: owner, limit: limit, cursor: cursor))
        return Page(items: page.items.map { Self.s3Record($0.item) }, nextCursor: page.nextCursor)
    }

    /// The credential, or nil.
    public func s3Credential(_ accessKeyId: String) async throws -> S3CredentialRecord? {
        return try await tables.get(table: Self.s3CredentialsTable, key: ItemKey(partition: .string(accessKeyId))).map { Self.s3Record($0.item) }
    }

    /// Revokes a credential: it stops working at once, and its encrypted secret is deleted.
    public func revokeS3Credential(_ accessKeyId: String) async throws {
        guard try await tables.delete(table: Self.s3CredentialsTable, key: ItemKey(partition: .string(accessKeyId))) else {
            throw AerieError.notFound("No S3 credential with access key id \"\(accessKeyId)\"; GET /v1/s3/credentials lists them.")
        }
        try await invalidateS3Credentials()
    }

    /// A value that changes whenever a credential that worked may have stopped working (revoked, or its user
    /// disabled), in this process or any other sharing the tables: a cache of ``s3Principal(_:)`` stays valid while it
    /// reads the same value. It is the auth change counter the bearer-credential cache uses (one `pread` of
    /// `<data>/auth-changes` on a data directory), so both caches end with the same changes.
    public func s3CredentialsGeneration() async throws -> String {
        String(cache.changes.current())
    }

    /// Changes ``s3CredentialsGeneration()``.
    func invalidateS3Credentials() async throws {
        await cache.changed()
    }

    /// The secret and the user of an access key id, for verifying a signature; nil when the id is unknown or its user
    /// is disabled or gone.
    public func s3Principal(_ accessKeyId: String) async throws -> S3Principal? {
        guard accessKeyId.utf8.count <= 128,
              let item = try await tables.get(table: Self.s3CredentialsTable, key: ItemKey(partition: .string(accessKeyId)))?.item,
              let sealedText = item["sealed_secret"]?.stringValue, let sealed = Data(base64Encoded: sealedText),
              let owner = item["owner"]?.stringValue,
              let user = try await user(owner), !user.disabled else { return nil }
        let box = try AES.GCM.SealedBox(combined: sealed)
        let secret = try AES.GCM.open(box, using: try await s3SealingKey(), authenticating: Data(accessKeyId.utf8))
        return S3Principal(accessKeyId: accessKeyId, secretAccessKey: String(decoding: secret, as: UTF8.self),
                           username: user.username, role: user.role, readOnly: item["read_only"] == .bool(true))
    }

    /// The AES-256 key that seals S3 secrets, made on first use and kept in the settings table.
    private func s3SealingKey() async throws -> SymmetricKey {
        let key = ItemKey(partition: .string(Self.s3KeySetting))
        if let stored = try await tables.get(table: Self.settingsTable, key: key)?.item["value"]?.stringValue,
           let data = Data(base64Encoded: stored), data.count == 32 {
            return SymmetricKey(data: data)
        }
        let fresh = Data(Secrets.randomBytes(32))
        do {
            try await tables.put(table: Self.settingsTable, item: ["name": .string(Self.s3KeySetting), "value": .string(fresh.base64EncodedString())],
                                 owner: nil, condition: .absent)
            return SymmetricKey(data: fresh)
        } catch let error as AerieError where error.code == .conditionFailed {
            guard let stored = try await tables.get(table: Self.settingsTable, key: key)?.item["value"]?.stringValue,
                  let data = Data(base64Encoded: stored), data.count == 32 else { throw error }
            return SymmetricKey(data: data)
        }
    }

    private static func s3Record(_ item: [String: JSONValue]) -> S3CredentialRecord {
        S3CredentialRecord(accessKeyId: item["access_key_id"]?.stringValue ?? "", owner: item["owner"]?.stringValue ?? "",
                           readOnly: item["read_only"] == .bool(true),
                           createdAt: item["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date(timeIntervalSince1970: 0))
    }
}

import AerieCore
import Foundation

/// A user as the API shows it (never with the password hash).
public struct UserRecord: Sendable, Hashable, Codable {
    public var username: String
    public var role: Role
    public var disabled: Bool
    public var createdAt: Date

    public init(username: String, role: Role, disabled: Bool, createdAt: Date) {
        self.username = username
        self.role = role
        self.disabled = disabled
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case username, role, disabled
        case createdAt = "created_at"
    }
}

/// An API key as listed (never with its secret or hash).
public struct APIKeyRecord: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// The user the key acts as.
    public var owner: String
    public var scopes: [String]
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, owner: String, scopes: [String], createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.owner = owner
        self.scopes = scopes
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, owner, scopes
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

/// A newly made API key: the only time its secret is shown.
public struct CreatedAPIKey: Sendable, Hashable, Codable {
    public var key: String
    public var record: APIKeyRecord

    public init(key: String, record: APIKeyRecord) {
        self.key = key
        self.record = record
    }

    enum CodingKeys: String, CodingKey { case key }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
    }

    public init(from decoder: any Decoder) throws {
        record = try APIKeyRecord(from: decoder)
        key = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .key)
    }
}

/// A signed bearer token and when it expires.
public struct IssuedToken: Sendable, Hashable, Codable {
    public var token: String
    public var expiresAt: Date

    public init(token: String, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case token
        case expiresAt = "expires_at"
    }
}

/// A page session: the cookie value (shown once, to set the cookie) and its CSRF token.
public struct PageSession: Sendable, Hashable {
    /// The secret session cookie value.
    public var token: String
    /// The double-submit CSRF token: set as a readable cookie, echoed back in `X-CSRF-Token` or a form field.
    public var csrfToken: String
    public var username: String
    public var expiresAt: Date
}

/// A user's role.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Manages users, keys and every platform resource.
    case admin
    /// Calls functions and the apps; sees only what it owns.
    case user
}

/// The authenticated caller of a request.
public struct Identity: Sendable, Hashable {
    public enum Credential: String, Sendable, Hashable, Codable {
        /// A signed bearer token from `POST /v1/auth/login`.
        case token
        /// An API key (`aerie_…`).
        case apiKey = "api_key"
        /// A page session cookie.
        case session
    }

    /// The user the caller acts as; records the caller creates carry this owner.
    public var username: String
    public var role: Role
    public var credential: Credential
    /// An API key's scopes; nil for tokens and sessions (which have their role's full rights).
    public var scopes: Set<String>?
    /// The API key's id, for keys.
    public var keyId: String?

    public init(username: String, role: Role, credential: Credential, scopes: Set<String>? = nil, keyId: String? = nil) {
        self.username = username
        self.role = role
        self.credential = credential
        self.scopes = scopes
        self.keyId = keyId
    }

    /// Whether the caller has admin rights: an admin user's token or session, or a key with the `admin` scope.
    public var isAdmin: Bool {
        if let scopes { return scopes.contains(APIKeyScope.admin) }
        return role == .admin
    }

    /// Whether the caller may use a platform scope (`objects:read`, `queues`…): admins always, keys with the scope.
    public func has(scope: String) -> Bool {
        if isAdmin { return true }
        guard let scopes else { return false }
        if scopes.contains(scope) { return true }
        // `objects:write` implies `objects:read`.
        if scope == APIKeyScope.objectsRead, scopes.contains(APIKeyScope.objectsWrite) { return true }
        return false
    }

    /// The caller for messages: `user "ann"` or `API key k1 of "ann"`.
    public var describe: String {
        if let keyId { return "API key \(keyId) of \"\(username)\"" }
        return "user \"\(username)\""
    }
}

/// The scopes an API key can carry.
public enum APIKeyScope {
    public static let objectsRead = "objects:read"
    public static let objectsWrite = "objects:write"
    public static let functionsInvoke = "functions:invoke"
    public static let queues = "queues"
    public static let tables = "tables"
    public static let topics = "topics"
    public static let vectors = "vectors"
    public static let admin = "admin"

    public static let all: [String] = [objectsRead, objectsWrite, functionsInvoke, queues, tables, topics, vectors, admin]
}

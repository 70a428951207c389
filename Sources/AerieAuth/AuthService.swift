import AerieCore
import Crypto
import Dispatch
import Foundation
import HummingbirdBcrypt
import JWTKit
import Logging

/// Users, passwords, bearer tokens, API keys and page sessions, stored on the Tables primitive so they work on
/// every driver.
///
/// The gateway uses it for every request; the CLI uses it directly on a data directory
/// (`aerie users create`, `aerie keys create`). Open it with ``open(tables:options:logger:)``.
///
/// Tables: `aerie_users` (key `username`), `aerie_api_keys` (key `id`), `aerie_sessions` (key `id`, TTL `expires`),
/// `aerie_settings` (key `name`; holds the token signing secret). Users and keys also carry `kind` for the
/// `by_kind` index that lists them.
public final class AuthService: Sendable {
    public struct Options: Sendable, Hashable {
        /// bcrypt cost (log2 rounds, 4…31).
        public var bcryptCost: UInt8
        public var tokenLifetime: Duration
        public var sessionLifetime: Duration

        public init(bcryptCost: UInt8 = 12, tokenLifetime: Duration = .seconds(12 * 3600), sessionLifetime: Duration = .seconds(12 * 3600)) {
            self.bcryptCost = bcryptCost
            self.tokenLifetime = tokenLifetime
            self.sessionLifetime = sessionLifetime
        }
    }

    public static let usersTable = "aerie_users"
    public static let keysTable = "aerie_api_keys"
    public static let sessionsTable = "aerie_sessions"
    public static let settingsTable = "aerie_settings"
    /// The user created on first start.
    public static let adminUsername = "admin"
    /// The shortest password a user may choose for themselves (sign-up, password change).
    public static let minimumChosenPasswordLength = 10

    static let byKind = "by_kind"

    let tables: any TableStore
    let options: Options
    let logger: Logger
    let keys: JWTKeyCollection
    /// A bcrypt hash checked against when the user does not exist, so timing does not reveal names.
    let dummyHash: String
    /// Verified bearer credentials and sessions, so a request does not read and decode its user and key again.
    let cache: CredentialCache

    private init(tables: any TableStore, options: Options, logger: Logger, keys: JWTKeyCollection, changes: any AuthChangeCounter) {
        self.tables = tables
        self.options = options
        self.logger = logger
        self.keys = keys
        self.cache = CredentialCache(changes: changes)
        self.dummyHash = Bcrypt.hash(Secrets.randomToken(bytes: 12), cost: options.bcryptCost)
    }

    /// Creates the auth tables if needed, loads (or creates, on first start) the token signing secret, and returns
    /// a ready service.
    ///
    /// - Parameter changes: Shared by every process using the same tables, so that a key revoked or a user disabled
    ///   by one of them stops working at once in all (``FileAuthChangeCounter`` on a data directory). The default
    ///   suits tables only this process can change (in memory).
    public static func open(tables: any TableStore, options: Options = Options(), logger: Logger,
                            changes: any AuthChangeCounter = LocalAuthChangeCounter()) async throws -> AuthService {
        guard (4...31).contains(options.bcryptCost) else {
            throw AerieError.invalid("bcrypt cost \(options.bcryptCost) is out of range; use 4 to 31 (12 in production).", field: "bcrypt_cost")
        }
        try await tables.ensureTable(TableSchema(name: usersTable, partitionKey: "username",
            indexes: [.init(name: byKind, partitionKey: "kind", sortKey: "username")]))
        try await tables.ensureTable(TableSchema(name: keysTable, partitionKey: "id",
            indexes: [.init(name: byKind, partitionKey: "kind", sortKey: "id")]))
        try await tables.ensureTable(TableSchema(name: sessionsTable, partitionKey: "id", ttlAttribute: "expires"))
        try await tables.ensureTable(TableSchema(name: settingsTable, partitionKey: "name"))
        try await ensureS3Tables(tables)
        try await BucketOwners.ensureTable(tables)

        let secret = try await loadOrCreateSecret(tables: tables)
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return AuthService(tables: tables, options: options, logger: logger, keys: keys, changes: changes)
    }

    private static func loadOrCreateSecret(tables: any TableStore) async throws -> Data {
        let key = ItemKey(partition: .string("token-secret"))
        if let stored = try await tables.get(table: settingsTable, key: key),
           let text = stored.item["value"]?.stringValue, let data = Data(base64Encoded: text) {
            return data
        }
        let fresh = Data(Secrets.randomBytes(32))
        do {
            try await tables.put(table: settingsTable, item: ["name": .string("token-secret"), "value": .string(fresh.base64EncodedString())],
                                 owner: nil, condition: .absent)
            return fresh
        } catch let error as AerieError where error.code == .conditionFailed {
            // Another process created it first: use theirs.
            guard let stored = try await tables.get(table: settingsTable, key: key),
                  let text = stored.item["value"]?.stringValue, let data = Data(base64Encoded: text) else { throw error }
            return data
        }
    }

    // MARK: First start

    /// What ``bootstrapAdmin(password:dataDirectory:)`` did.
    public enum AdminBootstrap: Sendable, Hashable {
        /// An admin user already existed.
        case existing
        /// Created with the configured password.
        case createdWithConfiguredPassword
        /// Created with a generated password, written to this file (mode 0600) when there is a data directory.
        case createdWithGeneratedPassword(password: String, file: URL?)
    }

    /// On first start, creates the `admin` user with `password` (from `AERIE_ADMIN_PASSWORD`) or a generated one
    /// written to `<dataDirectory>/admin-password` with mode 0600 and mentioned once in the log.
    ///
    /// Nodes of one deployment may start at the same moment: the user is created with a create-only write, so exactly
    /// one node creates it; the others find it existing. A generated password's file is written aside first and put
    /// in place only by the node whose write won, so the file always holds the password that works.
    @discardableResult
    public func bootstrapAdmin(password: String?, dataDirectory: URL?) async throws -> AdminBootstrap {
        if try await user(Self.adminUsername) != nil { return .existing }
        if let password {
            guard try await createAdminUnlessPresent(password: password) else { return .existing }
            logger.notice("Created the first admin user \"admin\" with the password from AERIE_ADMIN_PASSWORD.")
            return .createdWithConfiguredPassword
        }
        let generated = Secrets.randomPassword()
        var file: URL?
        var pending: URL?
        if let dataDirectory {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
            let url = dataDirectory.appendingPathComponent(".admin-password-\(UUID().uuidString)")
            guard FileManager.default.createFile(atPath: url.path, contents: Data((generated + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw AerieError(.internal, "Could not write \(url.path); check that the data directory is writable.")
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
            pending = url
            file = dataDirectory.appendingPathComponent("admin-password")
        }
        let created: Bool
        do {
            created = try await createAdminUnlessPresent(password: generated)
        } catch {
            if let pending { try? FileManager.default.removeItem(at: pending) }
            throw error
        }
        if let pending, let file {
            guard created else {
                try? FileManager.default.removeItem(at: pending)
                return .existing
            }
            _ = rename(pending.path, file.path)
        }
        guard created else { return .existing }
        if let file {
            logger.notice("Created the first admin user \"admin\" with a generated password, written to \(file.path) (mode 0600). Sign in and change it, or set AERIE_ADMIN_PASSWORD before the first start.")
        } else {
            logger.notice("Created the first admin user \"admin\" with the generated password \(generated). It is shown only this once.")
        }
        return .createdWithGeneratedPassword(password: generated, file: file)
    }

    /// Creates the admin; false when another node created it first.
    private func createAdminUnlessPresent(password: String) async throws -> Bool {
        do {
            _ = try await createUser(Self.adminUsername, password: password, role: .admin)
            return true
        } catch let error as AerieError where error.code == .alreadyExists {
            return false
        }
    }

    // MARK: Users

    /// Creates a user; `.alreadyExists` if the name is taken.
    public func createUser(_ username: String, password: String, role: Role = .user) async throws -> UserRecord {
        try Self.validateUsername(username)
        guard password.count >= 8, password.utf8.count <= 72 else {
            throw AerieError.invalid("The password must be 8 to 72 bytes long.", field: "/password")
        }
        let hash = await hashPassword(password)
        let now = Date()
        let item: [String: JSONValue] = [
            "kind": "user", "username": .string(username), "password_hash": .string(hash), "role": .string(role.rawValue),
            "disabled": .bool(false), "created_at": .string(RFC3339.string(from: now)),
        ]
        do {
            try await tables.put(table: Self.usersTable, item: item, owner: nil, condition: .absent)
        } catch let error as AerieError where error.code == .conditionFailed {
            throw AerieError(.alreadyExists, "A user named \"\(username)\" already exists; pick another name.", field: "/username")
        }
        return UserRecord(username: username, role: role, disabled: false, createdAt: now)
    }

    public func user(_ username: String) async throws -> UserRecord? {
        try await storedUser(username).map(Self.userRecord)
    }

    public func listUsers(limit: Int = 100, cursor: String? = nil) async throws -> Page<UserRecord> {
        let page = try await tables.query(table: Self.usersTable, TableQuery(index: Self.byKind, partition: .string("user"), limit: limit, cursor: cursor))
        return Page(items: page.items.map { Self.userRecord($0.item) }, nextCursor: page.nextCursor)
    }

    /// Disables (or re-enables) a user: their tokens, keys and sessions stop working at once.
    @discardableResult
    public func setDisabled(_ username: String, _ disabled: Bool = true) async throws -> UserRecord {
        guard var item = try await storedUser(username) else {
            throw AerieError.notFound("No user named \"\(username)\"; GET /v1/users lists them.")
        }
        item["disabled"] = .bool(disabled)
        try await tables.put(table: Self.usersTable, item: item)
        await cache.changed()
        return Self.userRecord(item)
    }

    /// Changes a user's password (an admin's reset). Tokens and page sessions issued before it stop working;
    /// API keys go on.
    public func setPassword(_ username: String, password: String) async throws {
        guard var item = try await storedUser(username) else {
            throw AerieError.notFound("No user named \"\(username)\".")
        }
        guard password.count >= 8, password.utf8.count <= 72 else {
            throw AerieError.invalid("The password must be 8 to 72 bytes long.", field: "/password")
        }
        item["password_hash"] = .string(await hashPassword(password))
        item["password_changed_at"] = .number(Date().timeIntervalSince1970.rounded(.down))
        try await tables.put(table: Self.usersTable, item: item)
        await cache.changed()
    }

    /// Self sign-up: a new user with role `user` and a password of at least ``minimumChosenPasswordLength``
    /// characters (`unprocessable` otherwise); `already-exists` when the name is taken.
    public func signUp(username: String, password: String) async throws -> UserRecord {
        try Self.validateUsername(username)
        try Self.validateChosenPassword(password, field: "/password")
        return try await createUser(username, password: password, role: .user)
    }

    /// A signed-in user changes their own password: `current` must be right (`forbidden` otherwise) and `new` at least
    /// ``minimumChosenPasswordLength`` characters. Tokens and sessions issued before the change stop working.
    public func changePassword(username: String, current: String, new: String) async throws {
        try Self.validateChosenPassword(new, field: "/new")
        guard try await verifyPassword(username: username, password: current) != nil else {
            throw AerieError(.forbidden, "The current password is wrong; nothing was changed.", field: "/current")
        }
        try await setPassword(username, password: new)
    }

    static func validateChosenPassword(_ password: String, field: String) throws {
        guard password.count >= minimumChosenPasswordLength else {
            throw AerieError(.unprocessable, "The password must have at least \(minimumChosenPasswordLength) characters.", field: field)
        }
        guard password.utf8.count <= 72 else {
            throw AerieError(.unprocessable, "The password must be at most 72 bytes long (bcrypt reads no further).", field: field)
        }
    }

    /// The user when the password is right and the user is enabled; nil otherwise (never says which part was wrong).
    public func verifyPassword(username: String, password: String) async throws -> UserRecord? {
        guard let item = try await storedUser(username), let hash = item["password_hash"]?.stringValue else {
            // Spend the same time as a real check so response times do not reveal which names exist.
            _ = await checkPassword(password, hash: dummyHash)
            return nil
        }
        guard await checkPassword(password, hash: hash) else { return nil }
        let record = Self.userRecord(item)
        return record.disabled ? nil : record
    }

    // MARK: Tokens

    struct TokenPayload: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// Signs a bearer token for the user (HS256, expiring after the configured lifetime).
    public func issueToken(for username: String, now: Date = Date()) async throws -> IssuedToken {
        let expires = now.adding(options.tokenLifetime)
        let payload = TokenPayload(sub: .init(value: username), exp: .init(value: expires), iat: .init(value: now))
        return IssuedToken(token: try await keys.sign(payload), expiresAt: expires)
    }

    /// The identity a bearer credential (token or `aerie_…` API key) stands for; throws `.unauthenticated`.
    public func authenticate(bearer credential: String, now: Date = Date()) async throws -> Identity {
        // Read before verifying: a change stored while this verification runs moves it, so the entry is never used.
        let counter = cache.changes.current()
        let cacheKey = "bearer " + credential
        if let hit = cache.lookup(cacheKey, counter: counter, now: now) { return hit.identity }
        if credential.hasPrefix(Self.keyPrefix) {
            let identity = try await authenticate(apiKey: credential)
            cache.store(cacheKey, .init(identity: identity, validUntil: .infinity, counter: counter))
            return identity
        }
        let payload: TokenPayload
        do {
            payload = try await keys.verify(credential, as: TokenPayload.self)
            guard payload.exp.value > now else { throw AerieError(.unauthenticated, "expired") }
        } catch {
            throw AerieError(.unauthenticated, "The bearer token is invalid or expired; sign in again with POST /v1/auth/login.")
        }
        let user = try await activeUser(payload.sub.value, issuedAt: payload.iat.value)
        let identity = Identity(username: user.username, role: user.role, credential: .token)
        cache.store(cacheKey, .init(identity: identity, validUntil: payload.exp.value.timeIntervalSince1970, counter: counter))
        return identity
    }

    /// The enabled user; with `issuedAt`, also checks that the credential was issued after the last password change.
    private func activeUser(_ username: String, issuedAt: Date? = nil) async throws -> UserRecord {
        guard let item = try await storedUser(username) else {
            throw AerieError(.unauthenticated, "The user \"\(username)\" no longer exists; sign in as another user.")
        }
        let user = Self.userRecord(item)
        guard !user.disabled else {
            throw AerieError(.unauthenticated, "The user \"\(username)\" is disabled; ask an admin to enable it.")
        }
        if let issuedAt, let changed = item["password_changed_at"]?.numberValue, issuedAt.timeIntervalSince1970 < changed {
            throw AerieError(.unauthenticated, "The password was changed since this sign-in; sign in again.")
        }
        return user
    }

    // MARK: API keys

    static let keyPrefix = "aerie_"

    /// Makes an API key for `owner` with `scopes`; the returned secret is shown once and stored only as a SHA-256 hash.
    public func createKey(name: String, owner: String, scopes: [String]) async throws -> CreatedAPIKey {
        guard !name.isEmpty, name.count <= 128 else {
            throw AerieError.invalid("The key name must be 1 to 128 characters.", field: "/name")
        }
        guard !scopes.isEmpty else {
            throw AerieError.invalid("Give the key at least one scope: \(APIKeyScope.all.joined(separator: ", ")).", field: "/scopes")
        }
        for (index, scope) in scopes.enumerated() where !APIKeyScope.all.contains(scope) {
            throw AerieError.invalid("Unknown scope \"\(scope)\"; use \(APIKeyScope.all.joined(separator: ", ")).", field: "/scopes/\(index)")
        }
        guard try await user(owner) != nil else {
            throw AerieError.invalid("No user named \"\(owner)\" to own the key; create the user first.", field: "/owner")
        }
        let id = Secrets.hex(Secrets.randomBytes(6))
        let secret = Secrets.hex(Secrets.randomBytes(32))
        let key = "\(Self.keyPrefix)\(id)_\(secret)"
        let now = Date()
        let uniqueScopes = Array(Set(scopes)).sorted()
        let item: [String: JSONValue] = [
            "kind": "key", "id": .string(id), "name": .string(name), "owner": .string(owner),
            "hash": .string(Secrets.sha256Hex(key)), "scopes": .array(uniqueScopes.map(JSONValue.string)),
            "created_at": .string(RFC3339.string(from: now)),
        ]
        try await tables.put(table: Self.keysTable, item: item, owner: owner, condition: .absent)
        return CreatedAPIKey(key: key, record: APIKeyRecord(id: id, name: name, owner: owner, scopes: uniqueScopes, createdAt: now))
    }

    public func listKeys(limit: Int = 100, cursor: String? = nil) async throws -> Page<APIKeyRecord> {
        let page = try await tables.query(table: Self.keysTable, TableQuery(index: Self.byKind, partition: .string("key"), limit: limit, cursor: cursor))
        return Page(items: page.items.map { Self.keyRecord($0.item) }, nextCursor: page.nextCursor)
    }

    /// Revokes a key: it stops working at once. Revoking twice is harmless.
    @discardableResult
    public func revokeKey(id: String) async throws -> APIKeyRecord {
        guard var item = try await tables.get(table: Self.keysTable, key: ItemKey(partition: .string(id)))?.item else {
            throw AerieError.notFound("No API key with id \"\(id)\"; GET /v1/keys lists them.")
        }
        if item["revoked_at"] == nil {
            item["revoked_at"] = .string(RFC3339.string(from: Date()))
            try await tables.put(table: Self.keysTable, item: item)
            await cache.changed()
        }
        return Self.keyRecord(item)
    }

    func authenticate(apiKey key: String) async throws -> Identity {
        let invalid = AerieError(.unauthenticated, "The API key is invalid or revoked; ask an admin for a new one.")
        let rest = key.dropFirst(Self.keyPrefix.count)
        guard let separator = rest.firstIndex(of: "_") else { throw invalid }
        let id = String(rest[..<separator])
        guard !id.isEmpty, id.count <= 32,
              let item = try await tables.get(table: Self.keysTable, key: ItemKey(partition: .string(id)))?.item,
              let stored = item["hash"]?.stringValue,
              Secrets.constantTimeEqual(stored, Secrets.sha256Hex(key)),
              item["revoked_at"] == nil else { throw invalid }
        let record = Self.keyRecord(item)
        let owner = try await activeUser(record.owner)
        return Identity(username: owner.username, role: owner.role, credential: .apiKey, scopes: Set(record.scopes), keyId: record.id)
    }

    // MARK: Page sessions

    /// Starts a page session for a user whose password was checked.
    public func createSession(for username: String, now: Date = Date()) async throws -> PageSession {
        let token = Secrets.randomToken(bytes: 32)
        let csrf = Secrets.randomToken(bytes: 24)
        let expires = now.adding(options.sessionLifetime)
        try await tables.put(table: Self.sessionsTable, item: [
            "id": .string(Secrets.sha256Hex(token)), "username": .string(username), "csrf": .string(csrf),
            "expires": .number(expires.timeIntervalSince1970.rounded(.down)), "created": .number(now.timeIntervalSince1970),
        ], owner: username, condition: .none)
        return PageSession(token: token, csrfToken: csrf, username: username, expiresAt: expires)
    }

    /// The identity of a session cookie and its CSRF token; throws `.unauthenticated` if it is unknown or expired.
    public func authenticate(session token: String, now: Date = Date()) async throws -> (identity: Identity, csrfToken: String) {
        let counter = cache.changes.current()
        let cacheKey = "session " + token
        if let hit = cache.lookup(cacheKey, counter: counter, now: now), let csrf = hit.csrfToken { return (hit.identity, csrf) }
        guard let item = try await tables.get(table: Self.sessionsTable, key: ItemKey(partition: .string(Secrets.sha256Hex(token))))?.item,
              let username = item["username"]?.stringValue, let csrf = item["csrf"]?.stringValue,
              let expires = item["expires"]?.numberValue, expires > now.timeIntervalSince1970 else {
            throw AerieError(.unauthenticated, "The session has ended; sign in again.")
        }
        let created = item["created"]?.numberValue.map { Date(timeIntervalSince1970: $0) } ?? Date(timeIntervalSince1970: 0)
        let user = try await activeUser(username, issuedAt: created)
        let identity = Identity(username: user.username, role: user.role, credential: .session)
        cache.store(cacheKey, .init(identity: identity, csrfToken: csrf, validUntil: expires, counter: counter))
        return (identity, csrf)
    }

    /// Ends a page session.
    public func endSession(_ token: String) async throws {
        try await tables.delete(table: Self.sessionsTable, key: ItemKey(partition: .string(Secrets.sha256Hex(token))))
        await cache.changed()
    }

    // MARK: Helpers

    private func storedUser(_ username: String) async throws -> [String: JSONValue]? {
        try await tables.get(table: Self.usersTable, key: ItemKey(partition: .string(username)))?.item
    }

    static func validateUsername(_ name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard ok else {
            throw AerieError.invalid("User name \"\(name)\" is invalid: use 1–64 lower-case letters, digits, '_', '-' or '.'.", field: "/username")
        }
    }

    private static func userRecord(_ item: [String: JSONValue]) -> UserRecord {
        UserRecord(
            username: item["username"]?.stringValue ?? "",
            role: item["role"]?.stringValue.flatMap(Role.init(rawValue:)) ?? .user,
            disabled: item["disabled"] == .bool(true),
            createdAt: item["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date(timeIntervalSince1970: 0)
        )
    }

    private static func keyRecord(_ item: [String: JSONValue]) -> APIKeyRecord {
        var scopes: [String] = []
        if case .array(let values)? = item["scopes"] { scopes = values.compactMap(\.stringValue) }
        return APIKeyRecord(
            id: item["id"]?.stringValue ?? "", name: item["name"]?.stringValue ?? "", owner: item["owner"]?.stringValue ?? "",
            scopes: scopes, createdAt: item["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date(timeIntervalSince1970: 0),
            revokedAt: item["revoked_at"]?.stringValue.flatMap(RFC3339.date(from:))
        )
    }

    private func hashPassword(_ password: String) async -> String {
        let cost = options.bcryptCost
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Bcrypt.hash(password, cost: cost)) }
        }
    }

    private func checkPassword(_ password: String, hash: String) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: Bcrypt.verify(password, hash: hash)) }
        }
    }
}

import AerieAuth
import AerieCore
import AerieTesting
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct AuthServiceTests {
    static func open(_ tables: any TableStore = MemoryTableStore()) async throws -> AuthService {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return try await AuthService.open(tables: tables, options: .init(bcryptCost: 4), logger: logger)
    }

    @Test("Sign-up makes a plain user; short passwords are unprocessable, taken names already exist")
    func signUp() async throws {
        let auth = try await Self.open()
        let user = try await auth.signUp(username: "zoe", password: "long-enough-1")
        #expect(user.role == .user)
        #expect(try await auth.verifyPassword(username: "zoe", password: "long-enough-1")?.username == "zoe")
        await expectAerieError(.unprocessable, field: "/password") { try await auth.signUp(username: "yan", password: "short-pw1") }
        #expect(try await auth.user("yan") == nil)
        await expectAerieError(.alreadyExists) { try await auth.signUp(username: "zoe", password: "another-password") }
        await expectAerieError(.invalidArgument, field: "/username") { try await auth.signUp(username: "Bad Name", password: "long-enough-1") }
    }

    @Test("Changing a password needs the current one; earlier tokens and sessions stop working, API keys go on")
    func changePassword() async throws {
        let auth = try await Self.open()
        _ = try await auth.createUser("ann", password: "ann-password", role: .user)
        let past = Date().addingTimeInterval(-10)
        let oldToken = try await auth.issueToken(for: "ann", now: past).token
        let oldSession = try await auth.createSession(for: "ann", now: past)
        let key = try await auth.createKey(name: "ci", owner: "ann", scopes: ["tables"]).key
        #expect(try await auth.authenticate(bearer: oldToken).username == "ann")

        await expectAerieError(.forbidden, field: "/current") {
            try await auth.changePassword(username: "ann", current: "wrong-password", new: "a-new-password")
        }
        await expectAerieError(.unprocessable, field: "/new") {
            try await auth.changePassword(username: "ann", current: "ann-password", new: "short")
        }
        try await auth.changePassword(username: "ann", current: "ann-password", new: "a-new-password")

        await expectAerieError(.unauthenticated) { try await auth.authenticate(bearer: oldToken) }
        await expectAerieError(.unauthenticated) { try await auth.authenticate(session: oldSession.token) }
        #expect(try await auth.authenticate(bearer: key).username == "ann")
        #expect(try await auth.verifyPassword(username: "ann", password: "ann-password") == nil)
        let fresh = try await auth.issueToken(for: "ann", now: Date().addingTimeInterval(1)).token
        #expect(try await auth.authenticate(bearer: fresh).username == "ann")
    }

    @Test("Secrets: tokens are URL-safe and distinct, digests are hex, comparison checks every byte")
    func secrets() {
        let a = Secrets.randomToken(bytes: 24), b = Secrets.randomToken(bytes: 24)
        #expect(a != b)
        #expect(a.count == 32)
        #expect(a.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(Secrets.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Secrets.constantTimeEqual("secret", "secret"))
        #expect(!Secrets.constantTimeEqual("secret", "secreT"))
        #expect(!Secrets.constantTimeEqual("secret", "secret!"))
    }

    @Test("Generated passwords are letters and digits only, so none starts with '-' and reads as a CLI option")
    func generatedPasswords() {
        let passwords = (0..<500).map { _ in Secrets.randomPassword() }
        #expect(Set(passwords).count == passwords.count)
        for password in passwords {
            #expect(password.count == 24)
            #expect(password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "\(password)")
        }
    }

    @Test("Nodes that start at the same moment create the admin once; the password file holds the password that works")
    func concurrentAdminBootstrap() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-bootstrap-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tables = MemoryTableStore()
        var services: [AuthService] = []
        for _ in 0..<6 { services.append(try await Self.open(tables)) }
        let outcomes = try await withThrowingTaskGroup(of: AuthService.AdminBootstrap.self) { group in
            for service in services {
                group.addTask { try await service.bootstrapAdmin(password: nil, dataDirectory: directory) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = outcomes.compactMap { outcome -> String? in
            if case .createdWithGeneratedPassword(let password, _) = outcome { return password }
            return nil
        }
        #expect(created.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == .existing }.count == 5)
        let stored = try String(contentsOf: directory.appendingPathComponent("admin-password"), encoding: .utf8)
        #expect(stored == created.first.map { $0 + "\n" })
        #expect(try await services[3].verifyPassword(username: "admin", password: stored.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["admin-password"], "no stray pending files")
    }
}

@Suite struct LoginThrottleTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let start = ContinuousClock.now
        private let offset = Mutex<Duration>(.zero)
        func advance(_ by: Duration) { offset.withLock { $0 += by } }
        func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
    }

    @Test("Past the per-user limit one name is refused from every address until the window passes; a success resets it")
    func perUser() async {
        let clock = ManualClock()
        let throttle = LoginThrottle(limits: .init(perUser: 3, perAddress: 100, window: .seconds(60)), now: { clock.now() })
        for _ in 0..<2 { await throttle.recordFailure(username: "ann", address: "10.0.0.1") }
        #expect(await throttle.check(username: "ann", address: "10.0.0.1") == nil)
        await throttle.recordSuccess(username: "ann")
        for _ in 0..<3 { await throttle.recordFailure(username: "Ann", address: "10.0.0.1") }
        let refusal = await throttle.check(username: "ann", address: "10.0.0.9")
        #expect(refusal?.retryAfter == 60)
        #expect(await throttle.check(username: "bob", address: "10.0.0.9") == nil)
        clock.advance(.seconds(59))
        #expect(await throttle.check(username: "ann", address: "10.0.0.2")?.retryAfter == 1)
        clock.advance(.seconds(1))
        #expect(await throttle.check(username: "ann", address: "10.0.0.2") == nil)
    }

    @Test("Past the per-address limit every attempt from that address is refused; other addresses still work")
    func perAddress() async {
        let clock = ManualClock()
        let throttle = LoginThrottle(limits: .init(perUser: 100, perAddress: 4, window: .seconds(300)), now: { clock.now() })
        for index in 0..<2 { await throttle.recordFailure(username: "user\(index)", address: "10.0.0.1") }
        for _ in 0..<2 { await throttle.recordAttempt(address: "10.0.0.1") }
        #expect(await throttle.check(username: "carol", address: "10.0.0.1") != nil)
        #expect(await throttle.check(username: nil, address: "10.0.0.1") != nil)
        #expect(await throttle.check(username: "carol", address: "10.0.0.2") == nil)
    }
}

/// Counts the reads of a table store, to see which verifications the credential cache saves.
final class CountingTableStore: TableStore, Sendable {
    let base: any TableStore
    private let reads = Mutex(0)

    init(_ base: any TableStore) { self.base = base }

    var readCount: Int { reads.withLock { $0 } }

    func createTable(_ schema: TableSchema) async throws { try await base.createTable(schema) }
    func deleteTable(_ name: String) async throws { try await base.deleteTable(name) }
    func listTables() async throws -> [TableSchema] { try await base.listTables() }
    func table(_ name: String) async throws -> TableSchema? { try await base.table(name) }
    func put(table: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        try await base.put(table: table, item: item, owner: owner, condition: condition)
    }
    func get(table: String, key: ItemKey) async throws -> StoredItem? {
        reads.withLock { $0 += 1 }
        return try await base.get(table: table, key: key)
    }
    func delete(table: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        try await base.delete(table: table, key: key, condition: condition)
    }
    func query(table: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        reads.withLock { $0 += 1 }
        return try await base.query(table: table, query)
    }
    func purgeExpired(now: Date) async throws -> Int { try await base.purgeExpired(now: now) }
}

@Suite("The credential cache")
struct CredentialCacheTests {
    /// Two services on the same tables, each with its own handle on one change file: two processes on one data directory.
    static func twoProcesses() async throws -> (server: AuthService, cli: AuthService, reads: CountingTableStore, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-auth-changes-\(UUID().uuidString)")
        let tables = MemoryTableStore()
        let counted = CountingTableStore(tables)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let server = try await AuthService.open(tables: counted, options: .init(bcryptCost: 4), logger: logger,
                                                changes: try FileAuthChangeCounter(directory: directory))
        let cli = try await AuthService.open(tables: tables, options: .init(bcryptCost: 4), logger: logger,
                                             changes: try FileAuthChangeCounter(directory: directory))
        return (server, cli, counted, directory)
    }

    @Test("A verified token, key or session is not read from the tables again")
    func hits() async throws {
        let (server, _, reads, directory) = try await Self.twoProcesses()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await server.createUser("ann", password: "ann-password")
        let token = try await server.issueToken(for: "ann").token
        let key = try await server.createKey(name: "ci", owner: "ann", scopes: ["tables"]).key
        let session = try await server.createSession(for: "ann")
        for credential in [token, key] {
            #expect(try await server.authenticate(bearer: credential).username == "ann")
            let before = reads.readCount
            for _ in 0..<5 { #expect(try await server.authenticate(bearer: credential).username == "ann") }
            #expect(reads.readCount == before)
        }
        #expect(try await server.authenticate(session: session.token).csrfToken == session.csrfToken)
        let before = reads.readCount
        #expect(try await server.authenticate(session: session.token).identity.credential == .session)
        #expect(reads.readCount == before)
        // A session token is not a bearer token, cached or not.
        await expectAerieError(.unauthenticated) { try await server.authenticate(bearer: session.token) }
    }

    @Test("A key revoked, a user disabled, a password changed or a session ended by another process stops working at once")
    func changesFromAnotherProcess() async throws {
        let (server, cli, _, directory) = try await Self.twoProcesses()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await server.createUser("ann", password: "ann-password")
        _ = try await server.createUser("bob", password: "bob-password")
        let key = try await server.createKey(name: "ci", owner: "ann", scopes: ["tables"])
        let other = try await server.createKey(name: "other", owner: "ann", scopes: ["tables"]).key
        #expect(try await server.authenticate(bearer: key.key).username == "ann")
        #expect(try await server.authenticate(bearer: other).username == "ann")
        try await cli.revokeKey(id: key.record.id)
        await expectAerieError(.unauthenticated) { try await server.authenticate(bearer: key.key) }
        #expect(try await server.authenticate(bearer: other).username == "ann")

        let token = try await server.issueToken(for: "bob", now: Date().addingTimeInterval(-10)).token
        #expect(try await server.authenticate(bearer: token).username == "bob")
        try await cli.setPassword("bob", password: "bob-new-password")
        await expectAerieError(.unauthenticated) { try await server.authenticate(bearer: token) }

        let session = try await server.createSession(for: "ann")
        #expect(try await server.authenticate(session: session.token).identity.username == "ann")
        try await cli.endSession(session.token)
        await expectAerieError(.unauthenticated) { try await server.authenticate(session: session.token) }

        try await cli.setDisabled("ann")
        await expectAerieError(.unauthenticated) { try await server.authenticate(bearer: other) }
    }

    @Test("A cached token still expires")
    func expiry() async throws {
        let auth = try await AuthServiceTests.open()
        _ = try await auth.createUser("ann", password: "ann-password")
        let issued = Date()
        let token = try await auth.issueToken(for: "ann", now: issued).token
        #expect(try await auth.authenticate(bearer: token, now: issued).username == "ann")
        await expectAerieError(.unauthenticated) {
            try await auth.authenticate(bearer: token, now: issued.addingTimeInterval(13 * 3600))
        }
    }

    @Test("The change file counts every advance, from any handle")
    func fileCounter() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-auth-changes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try FileAuthChangeCounter(directory: directory)
        let second = try FileAuthChangeCounter(directory: directory)
        #expect(first.current() == 0)
        for _ in 0..<3 { first.advance() }
        second.advance()
        #expect(first.current() == 4)
        #expect(second.current() == 4)
    }
}

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

import AerieCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A counter that every change able to end a credential (a key revoked, a user disabled, a password changed, a
/// session ended) moves forward, seen by every process that shares the auth tables.
///
/// ``AuthService`` caches verified credentials and trusts an entry only while the counter has not moved since it was
/// verified, so a revocation takes effect on the next request, also when it was made by another process (the CLI on
/// the data directory). Reading it is on every request's path and must cost about a system call, not a database read.
public protocol AuthChangeCounter: Sendable {
    /// The counter's current value.
    func current() -> UInt64
    /// Moves the counter forward (after the change is stored). A shared counter that cannot be moved (its database is
    /// unreachable) logs it; this process's caches are emptied either way.
    func advance() async
}

/// A counter for one process alone: for in-memory tables, which no other process can change.
public final class LocalAuthChangeCounter: AuthChangeCounter {
    private let value = Atomic<UInt64>(0)

    public init() {}

    public func current() -> UInt64 { value.load(ordering: .acquiring) }

    public func advance() { value.add(1, ordering: .releasing) }
}

/// A counter kept in a small file of the data directory, for every process on it (the server, the CLI, the nodes of
/// a split deployment on one machine).
///
/// Readers keep the file open and read its eight bytes with one `pread`; writers take an exclusive `flock`, read,
/// add one and write back in place, so a reader sees either the old or the new value, and no advance is lost
/// between processes. The file holds no secret. (Deployments on PostgreSQL use a row and `LISTEN/NOTIFY`: `PostgresChangeCounter`.)
public final class FileAuthChangeCounter: AuthChangeCounter {
    public static let fileName = "auth-changes"

    private let descriptor: Int32
    public let path: String

    /// Opens (creating if needed) `<directory>/auth-changes`.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(Self.fileName).path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AerieError(.internal, "Could not open \(path): \(String(cString: strerror(errno))); check that the data directory is writable.")
        }
    }

    deinit { close(descriptor) }

    public func current() -> UInt64 {
        var value: UInt64 = 0
        let count = withUnsafeMutableBytes(of: &value) { pread(descriptor, $0.baseAddress, 8, 0) }
        // A new (empty) file reads as 0; a read error makes the counter look changed, so caches verify again.
        if count == 0 { return 0 }
        return count == 8 ? UInt64(littleEndian: value) : UInt64.max
    }

    public func advance() {
        flock(descriptor, LOCK_EX)
        defer { flock(descriptor, LOCK_UN) }
        let next = current() &+ 1
        var bytes = next.littleEndian
        _ = withUnsafeBytes(of: &bytes) { pwrite(descriptor, $0.baseAddress, 8, 0) }
    }
}

/// Verified credentials, each trusted while the change counter stands where it stood when it was verified and the
/// credential has not expired. Bounded: when full it starts again empty (a cache miss only costs one verification).
final class CredentialCache: Sendable {
    struct Entry: Sendable {
        var identity: Identity
        /// The page session's CSRF token.
        var csrfToken: String?
        /// Seconds since 1970 after which the credential is no longer valid (a token's or session's expiry).
        var validUntil: Double
        var counter: UInt64
    }

    static let capacity = 10_000

    let changes: any AuthChangeCounter
    private let entries = Mutex<[String: Entry]>([:])

    init(changes: any AuthChangeCounter) {
        self.changes = changes
    }

    func lookup(_ credential: String, counter: UInt64, now: Date) -> Entry? {
        guard let entry = entries.withLock({ $0[credential] }) else { return nil }
        guard entry.counter == counter, now.timeIntervalSince1970 < entry.validUntil else { return nil }
        return entry
    }

    func store(_ credential: String, _ entry: Entry) {
        // The counter could not be read: verify every time until it can.
        guard entry.counter != UInt64.max else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[credential] = entry
        }
    }

    /// Forgets everything (after a change made here; other processes see the counter move).
    func changed() async {
        await changes.advance()
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}

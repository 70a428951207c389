import AerieCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock on a file (`flock`), shared or exclusive, between processes and between separately opened
/// locks in one process. Closing it (when the last reference goes) releases the lock.
final class FileLock: Sendable {
    private let descriptor: Int32
    let url: URL

    init(url: URL) throws {
        self.url = url
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AerieError(.unavailable, "Cannot open the lock file \(url.path) (errno \(errno)). Check the data directory's permissions.")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Takes the lock if no other holder conflicts; returns whether it did.
    func tryLock(exclusive: Bool) -> Bool {
        flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0
    }

    /// Waits for the lock, blocking the thread; use only where a short wait is expected.
    func lock(exclusive: Bool) {
        while flock(descriptor, exclusive ? LOCK_EX : LOCK_SH) != 0, errno == EINTR {}
    }

    /// Waits for the lock without blocking a thread, polling.
    func lock(exclusive: Bool, pollingEvery interval: Duration = .milliseconds(5)) async throws {
        while !tryLock(exclusive: exclusive) {
            try await Task.sleep(for: interval)
        }
    }

    func unlock() {
        flock(descriptor, LOCK_UN)
    }
}

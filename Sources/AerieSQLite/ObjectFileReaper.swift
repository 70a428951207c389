import Foundation

/// Deletes object files that no metadata references any more, except while a backup holds them (in this process,
/// or in another one through the backup lock file): then deletions wait until the backup ends, so a backup copies
/// every file its database snapshot names.
///
/// A deleter holds the backup lock shared for the moment it deletes; a backup holds it exclusively.
actor ObjectFileReaper {
    private let backupLockURL: URL
    private var holds = 0
    private var pending: [URL] = []
    private var retryScheduled = false

    init(backupLockURL: URL) {
        self.backupLockURL = backupLockURL
    }

    /// Deletes the file now, or once no backup holds the files.
    func remove(_ url: URL) {
        pending.append(url)
        flush()
    }

    /// Holds deletions in this process (a backup here is starting).
    func hold() {
        holds += 1
    }

    func release() {
        holds -= 1
        flush()
    }

    private func flush() {
        guard holds == 0, !pending.isEmpty else { return }
        guard let lock = try? FileLock(url: backupLockURL), lock.tryLock(exclusive: false) else {
            // Another process is backing up: try again shortly.
            scheduleRetry()
            return
        }
        for url in pending {
            try? FileManager.default.removeItem(at: url)
        }
        pending = []
        lock.unlock()
    }

    private func scheduleRetry() {
        guard !retryScheduled else { return }
        retryScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            self.retry()
        }
    }

    private func retry() {
        retryScheduled = false
        flush()
    }
}

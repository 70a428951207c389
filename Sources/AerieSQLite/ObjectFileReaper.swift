import Foundation

/// Deletes object files that no metadata references any more, except while a backup holds them:
/// then deletions wait until the last hold is released, so a backup copies every file its database snapshot names.
actor ObjectFileReaper {
    private var holds = 0
    private var pending: [URL] = []

    /// Deletes the file now, or when the last hold is released.
    func remove(_ url: URL) {
        if holds > 0 {
            pending.append(url)
        } else {
            try? FileManager.default.removeItem(at: url)
        }
    }

    func hold() {
        holds += 1
    }

    func release() {
        holds -= 1
        guard holds == 0 else { return }
        for url in pending {
            try? FileManager.default.removeItem(at: url)
        }
        pending = []
    }
}

import AerieCore
import Foundation
import GRDB

extension FileObjectStore {
    /// Deletes what a crash can leave behind: every temporary file, and every object file no metadata row references
    /// (a version renamed into place whose transaction never committed, or an old version whose deletion was cut off).
    /// Returns how many files were deleted. Runs when the store opens; do not call it while puts are in progress.
    @discardableResult
    func removeOrphans() throws -> Int {
        var removed = bodies.removeTemporaryFiles()
        let referenced: Set<String>
        do {
            referenced = try database.pool.read { db in try Set(String.fetchAll(db, sql: "SELECT file FROM objects")) }
        } catch {
            throw SQLiteDatabase.translate(error)
        }
        for name in try bodies.orphanCandidates(olderThan: .distantFuture) where !referenced.contains(name) {
            bodies.remove(name)
            removed += 1
        }
        return removed
    }
}

import AerieCore
import Foundation
import GRDB

extension FileObjectStore {
    /// Deletes what a crash can leave behind: every temporary file, and every object file no metadata row references
    /// (a version renamed into place whose transaction never committed, or an old version whose deletion was cut off).
    /// Returns how many files were deleted. Runs when the store opens; do not call it while puts are in progress.
    @discardableResult
    func removeOrphans() throws -> Int {
        let fileManager = FileManager.default
        var removed = 0
        for name in (try? fileManager.contentsOfDirectory(atPath: temporaryDirectory.path)) ?? [] {
            if (try? fileManager.removeItem(at: temporaryDirectory.appendingPathComponent(name))) != nil { removed += 1 }
        }
        let referenced: Set<String>
        do {
            referenced = try database.pool.read { db in try Set(String.fetchAll(db, sql: "SELECT file FROM objects")) }
        } catch {
            throw SQLiteDatabase.translate(error)
        }
        for bucket in (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? [] where !bucket.hasPrefix(".") {
            let bucketURL = directory.appendingPathComponent(bucket, isDirectory: true)
            for shard in (try? fileManager.contentsOfDirectory(atPath: bucketURL.path)) ?? [] {
                let shardURL = bucketURL.appendingPathComponent(shard, isDirectory: true)
                for file in (try? fileManager.contentsOfDirectory(atPath: shardURL.path)) ?? [] {
                    guard !referenced.contains("\(bucket)/\(shard)/\(file)") else { continue }
                    if (try? fileManager.removeItem(at: shardURL.appendingPathComponent(file))) != nil { removed += 1 }
                }
            }
        }
        return removed
    }
}

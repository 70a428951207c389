import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

@Suite struct BackupTests {
    @Test func aBackupTakenWhileWritesGoOnRestoresToAConsistentCopy() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let storage = try EmbeddedStorage(directory: temporary.appending("data"))
        let objects = storage.objects
        _ = try await objects.createBucket("live")
        for index in 0..<20 {
            try await objects.put(bucket: "live", key: "k\(index)", data: Data("seed \(index)".utf8))
        }
        // A writer overwrites and deletes objects (each change deletes the previous file) while the backup runs.
        let writer = Task {
            var round = 0
            while !Task.isCancelled {
                let key = "k\(round % 20)"
                do {
                    if round % 3 == 0 {
                        try await objects.delete(bucket: "live", key: key)
                    } else {
                        try await objects.put(bucket: "live", key: key, data: Data("round \(round) \(String(repeating: "x", count: round % 500))".utf8))
                    }
                } catch is CancellationError {
                    break
                }
                round += 1
                await Task.yield()
            }
            return round
        }
        try await Task.sleep(for: .milliseconds(20))
        let summary = try await storage.backup(to: temporary.appending("backup"))
        let second = try await storage.backup(to: temporary.appending("backup-2"))
        writer.cancel()
        let rounds = try await writer.value
        #expect(rounds > 0)
        #expect(await errorCode { _ = try await storage.backup(to: temporary.appending("backup")) } == .conflict)

        for (backup, name) in [(summary, "restored"), (second, "restored-2")] {
            let restoredURL = temporary.appending(name)
            try EmbeddedStorage.restore(from: backup.directory, to: restoredURL)
            let restored = try EmbeddedStorage(directory: restoredURL)
            try await expectConsistent(restored, objectFiles: backup.objectFiles)
        }
        #expect(throws: AerieError.self) { try EmbeddedStorage.restore(from: summary.directory, to: temporary.appending("restored")) }
    }

    /// Every object row has its file with a matching MD5, and every created event's object exists or was changed later.
    private func expectConsistent(_ storage: EmbeddedStorage, objectFiles: Int) async throws {
        let listing = try await storage.objects.list(bucket: "live", ListObjectsRequest())
        #expect(listing.objects.count == objectFiles)
        for info in listing.objects {
            let object = try await storage.objects.get(bucket: "live", key: info.key, range: nil)
            #expect(quotedMD5(object.body) == info.etag)
        }
        let records = try await storage.events.read(topic: ObjectEvent.topic, from: 0, limit: 100_000)
        let events = try records.map { try JSONCoding.decode(ObjectEvent.self, from: $0.payload) }
        var latest: [String: ObjectEvent] = [:]
        for event in events { latest[event.key] = event }
        let live = Dictionary(uniqueKeysWithValues: listing.objects.map { ($0.key, $0) })
        for (key, event) in latest {
            switch event.kind {
            case .created:
                #expect(live[key]?.etag == event.etag, "the last event of \(key) created it, so it must exist with that content")
            case .removed:
                #expect(live[key] == nil, "the last event of \(key) removed it")
            }
        }
        #expect(Set(live.keys).isSubset(of: Set(latest.keys)))
        // Nothing unreferenced was copied.
        #expect(filesUnder(storage.objects.directory).count == objectFiles)
    }
}

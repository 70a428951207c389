import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

@Suite struct RecoveryTests {
    @Test func openingRemovesOrphanFilesAndKeepsReferencedOnes() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let data = temporary.appending("data")
        let objectsFolder: URL
        let kept: [String]
        do {
            let storage = try EmbeddedStorage(directory: data)
            objectsFolder = storage.objects.directory
            _ = try await storage.objects.createBucket("photos")
            try await storage.objects.put(bucket: "photos", key: "kept", data: Data("kept".utf8))
            kept = filesUnder(objectsFolder)
        }
        #expect(kept.count == 1)
        // What a crash leaves: a half-written temporary file, and a version renamed into place whose transaction never committed.
        let temporaryFile = objectsFolder.appendingPathComponent(".tmp/\(UUID().uuidString)")
        try Data("partial".utf8).write(to: temporaryFile)
        let orphan = objectsFolder.appendingPathComponent(DirectoryBodyStore.bodyName(bucket: "photos", key: "kept", version: "fedcba9876543210"))
        try Data("uncommitted".utf8).write(to: orphan)
        let unreferencedKey = objectsFolder.appendingPathComponent(DirectoryBodyStore.bodyName(bucket: "photos", key: "other", version: "0123"))
        try FileManager.default.createDirectory(at: unreferencedKey.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("unreferenced".utf8).write(to: unreferencedKey)
        #expect(filesUnder(objectsFolder).count == 4)

        let reopened = try EmbeddedStorage(directory: data)
        #expect(filesUnder(objectsFolder) == kept)
        #expect(try await reopened.objects.get(bucket: "photos", key: "kept", range: nil).body == Data("kept".utf8))
    }

    @Test func onlyALoneOpenerRemovesOrphans() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let data = temporary.appending("data")
        let temporaryFile = data.appendingPathComponent("objects/.tmp/in-flight")
        do {
            let server = try EmbeddedStorage(directory: data)
            // A put of the running server is streaming into this file when another process opens the directory.
            try Data("in flight".utf8).write(to: temporaryFile)
            let beside = try EmbeddedStorage(directory: data)
            #expect(FileManager.default.fileExists(atPath: temporaryFile.path))
            _ = (server, beside)
        }
        _ = try EmbeddedStorage(directory: data)
        #expect(!FileManager.default.fileExists(atPath: temporaryFile.path))
    }

    @Test func reopeningSeesEverythingAcknowledged() async throws {
        for durability in Durability.allCases {
            let temporary = try TemporaryDirectory()
            defer { temporary.remove() }
            let data = temporary.appending("data")
            let sentIds: [String]
            do {
                let storage = try EmbeddedStorage(directory: data, durability: durability)
                _ = try await storage.objects.createBucket("b-1")
                try await storage.objects.put(bucket: "b-1", key: "k", data: Data("bytes".utf8))
                try await storage.tables.createTable(TableSchema(name: "t", partitionKey: "id"))
                try await storage.tables.put(table: "t", item: ["id": "x", "v": 1])
                try await storage.queues.createQueue(QueueConfiguration(name: "q"))
                sentIds = try await storage.queues.send(queue: "q", [OutgoingMessage(body: Data("m".utf8))])
                try await storage.events.append(topic: "log", payload: Data("e".utf8))
            }
            let storage = try EmbeddedStorage(directory: data, durability: durability)
            #expect(try await storage.objects.get(bucket: "b-1", key: "k", range: nil).body == Data("bytes".utf8))
            #expect(try await storage.tables.get(table: "t", key: ItemKey(partition: "x"))?.item["v"] == 1)
            #expect(try await storage.queues.receive(queue: "q", max: 10).map(\.id) == sentIds)
            #expect(try await storage.events.read(topic: "log", from: 0, limit: 10).count == 1)
            #expect(try await storage.events.read(topic: ObjectEvent.topic, from: 0, limit: 10).count == 1)
        }
    }

    @Test func theDurabilitySettingReachesSQLite() async throws {
        for (durability, expected) in [(Durability.normal, 1), (.strict, 2)] {
            try await withStorage(durability: durability) { storage, _ in
                let synchronous = try await storage.database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
                let journal = try await storage.database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
                #expect(synchronous == expected)
                #expect(journal == "wal")
            }
        }
    }
}

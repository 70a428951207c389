import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

@Suite struct SQLiteEventLogTests {
    @Test func appendAssignsDenseOffsetsPerTopicAndReadsFromAnOffset() async throws {
        try await withStorage { storage, _ in
            let log = storage.events
            #expect(try await log.append(topic: "a", [OutgoingEvent(payload: Data("0".utf8)), OutgoingEvent(key: "k", payload: Data("1".utf8))]) == [0, 1])
            #expect(try await log.append(topic: "b", payload: Data("x".utf8)) == 0)
            #expect(try await log.append(topic: "a", payload: Data("2".utf8)) == 2)
            let events = try await log.read(topic: "a", from: 1, limit: 10)
            #expect(events.map(\.offset) == [1, 2])
            #expect(events.first?.key == "k")
            #expect(events.map { String(decoding: $0.payload, as: UTF8.self) } == ["1", "2"])
            #expect(try await log.read(topic: "a", from: 0, limit: 1).count == 1)
            #expect(try await log.topics() == [TopicInfo(name: "a", nextOffset: 3), TopicInfo(name: "b", nextOffset: 1)])
            #expect(try await log.topic("missing") == nil)
        }
    }

    @Test func consumerGroupsCommitRewindAndRejectOffsetsPastTheEnd() async throws {
        try await withStorage { storage, _ in
            let log = storage.events
            try await log.append(topic: "t", [OutgoingEvent(payload: Data()), OutgoingEvent(payload: Data())])
            #expect(try await log.committedOffset(group: "g", topic: "t") == nil)
            try await log.commit(group: "g", topic: "t", offset: 2)
            try await log.commit(group: "g", topic: "t", offset: 0)
            #expect(try await log.committedOffset(group: "g", topic: "t") == 0)
            #expect(await errorCode { try await log.commit(group: "g", topic: "t", offset: 3) } == .invalidArgument)
            #expect(await errorCode { try await storage.primitives.events.commit(group: "g", topic: "t", offset: -1) } == .invalidArgument)
            #expect(await errorCode { _ = try await storage.primitives.events.read(topic: "bad topic", from: 0, limit: 1) } == .invalidArgument)
            #expect(try await log.consumerOffsets(topic: nil).map(\.group) == ["g"])
        }
    }

    @Test func appendsSurviveReopening() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let data = temporary.appending("data")
        do {
            let storage = try EmbeddedStorage(directory: data)
            try await storage.events.append(topic: "t", payload: Data("kept".utf8))
            try await storage.events.commit(group: "g", topic: "t", offset: 1)
        }
        let reopened = try EmbeddedStorage(directory: data)
        #expect(try await reopened.events.read(topic: "t", from: 0, limit: 10).map(\.payload) == [Data("kept".utf8)])
        #expect(try await reopened.events.committedOffset(group: "g", topic: "t") == 1)
        #expect(try await reopened.events.append(topic: "t", payload: Data()) == 1)
    }

    @Test func migrationsAreRecordedAndIdempotent() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let applied = try EmbeddedStorage.migrate(directory: temporary.url)
        #expect(applied == ["events-v1", "objects-v1", "queues-v1", "tables-v1"])
        #expect(try EmbeddedStorage.migrate(directory: temporary.url) == applied)
    }
}

import AerieCore
@testable import AerieSQLite
import Foundation
import Testing

@Suite struct SQLiteTableStoreTests {
    static let schema = TableSchema(name: "posts", partitionKey: "user", sortKey: "at",
                                    indexes: [.init(name: "by-tag", partitionKey: "tag", sortKey: "score")],
                                    ttlAttribute: "expires")

    @Test func versionsAndConditionalWrites() async throws {
        try await withStorage { storage, _ in
            let tables = storage.tables
            try await tables.createTable(Self.schema)
            try await tables.createTable(Self.schema) // identical: no-op
            #expect(await errorCode { try await tables.createTable(TableSchema(name: "posts", partitionKey: "other")) } == .alreadyExists)
            let item: [String: JSONValue] = ["user": "ann", "at": 1, "text": "hi"]
            #expect(try await tables.put(table: "posts", item: item, owner: "ann", condition: .absent).version == 1)
            #expect(await errorCode { try await tables.put(table: "posts", item: item, owner: nil, condition: .absent) } == .conditionFailed)
            #expect(await errorCode { try await tables.put(table: "posts", item: item, owner: nil, condition: .version(7)) } == .conditionFailed)
            #expect(try await tables.put(table: "posts", item: item, owner: "ann", condition: .version(1)).version == 2)
            let key = ItemKey(partition: "ann", sort: .number(1))
            let stored = try #require(try await tables.get(table: "posts", key: key))
            #expect(stored.version == 2)
            #expect(stored.owner == "ann")
            #expect(stored.item == item)
            #expect(await errorCode { _ = try await tables.delete(table: "posts", key: key, condition: .version(1)) } == .conditionFailed)
            #expect(try await tables.delete(table: "posts", key: key, condition: .version(2)))
            #expect(try await tables.delete(table: "posts", key: key) == false)
            #expect(await errorCode { _ = try await tables.get(table: "posts", key: ItemKey(partition: "ann")) } == .invalidArgument)
            #expect(await errorCode { _ = try await tables.put(table: "posts", item: ["at": 1]) } == .invalidArgument)
            #expect(await errorCode { _ = try await tables.put(table: "nope", item: ["user": "a"]) } == .notFound)
        }
    }

    @Test func concurrentConditionalWritesAreRaceFree() async throws {
        try await withStorage { storage, _ in
            let tables = storage.tables
            try await tables.createTable(TableSchema(name: "counters", partitionKey: "id"))
            // Exactly one of many concurrent `absent` writes wins.
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        do {
                            try await tables.put(table: "counters", item: ["id": "c", "n": 0, "writer": .number(Double(writer))], owner: nil, condition: .absent)
                            return true
                        } catch let error as AerieError where error.code == .conditionFailed {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
            // Optimistic increments with version conditions lose no update.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<5 {
                            while true {
                                let current = try #require(try await tables.get(table: "counters", key: ItemKey(partition: "c")))
                                let n = current.item["n"]?.numberValue ?? 0
                                var item = current.item
                                item["n"] = .number(n + 1)
                                do {
                                    try await tables.put(table: "counters", item: item, owner: nil, condition: .version(current.version))
                                    break
                                } catch let error as AerieError where error.code == .conditionFailed {
                                    continue
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try #require(try await tables.get(table: "counters", key: ItemKey(partition: "c")))
            #expect(final.item["n"] == .number(40))
            #expect(final.version == 41)
        }
    }

    @Test func queriesBySortConditionDirectionOwnerFilterAndCursor() async throws {
        try await withStorage { storage, _ in
            let tables = storage.tables
            try await tables.createTable(Self.schema)
            for at in 1...10 {
                try await tables.put(table: "posts", item: ["user": "ann", "at": .number(Double(at)), "even": .bool(at % 2 == 0)],
                                     owner: at <= 5 ? "ann" : "bob")
            }
            try await tables.put(table: "posts", item: ["user": "ann", "at": "text-sort-key"])
            try await tables.put(table: "posts", item: ["user": "zed", "at": 1])

            func ats(_ query: TableQuery) async throws -> [JSONValue?] {
                try await tables.query(table: "posts", query).items.map { $0.item["at"] }
            }
            #expect(try await ats(TableQuery(partition: "ann", sort: .between(.number(3), .number(5)))) == [3, 4, 5])
            #expect(try await ats(TableQuery(partition: "ann", sort: .greaterThan(.number(8)))) == [9, 10, "text-sort-key"])
            #expect(try await ats(TableQuery(partition: "ann", sort: .lessThan(.number(3)), descending: true)) == [2, 1])
            #expect(try await ats(TableQuery(partition: "ann", sort: .beginsWith("text"))) == ["text-sort-key"])
            #expect(try await ats(TableQuery(partition: "ann", sort: .equal(.number(7)))) == [7])
            #expect(try await ats(TableQuery(partition: "ann", owner: "bob", descending: true, limit: 2)) == [10, 9])
            #expect(try await ats(TableQuery(partition: "ann", filter: ["even": .bool(true)], limit: 3)) == [2, 4, 6])

            // Pages through a filtered query with the opaque cursor.
            var seen: [JSONValue?] = []
            var cursor: String?
            repeat {
                let page = try await tables.query(table: "posts", TableQuery(partition: "ann", filter: ["even": .bool(false)], limit: 2, cursor: cursor))
                seen += page.items.map { $0.item["at"] }
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == [1, 3, 5, 7, 9])
            #expect(await errorCode { _ = try await tables.query(table: "posts", TableQuery(partition: "ann", cursor: "garbage!")) } == .invalidArgument)
            #expect(await errorCode { _ = try await tables.query(table: "posts", TableQuery(index: "nope", partition: "ann")) } == .notFound)
        }
    }

    @Test func secondaryIndexEntriesFollowUpdatesAndDeletes() async throws {
        try await withStorage { storage, _ in
            let tables = storage.tables
            try await tables.createTable(Self.schema)
            try await tables.put(table: "posts", item: ["user": "ann", "at": 1, "tag": "swift", "score": 5])
            try await tables.put(table: "posts", item: ["user": "bob", "at": 1, "tag": "swift", "score": 3])
            try await tables.put(table: "posts", item: ["user": "cat", "at": 1, "score": 1]) // sparse: no tag
            func users(_ tag: String, descending: Bool = false) async throws -> [JSONValue?] {
                try await tables.query(table: "posts", TableQuery(index: "by-tag", partition: .string(tag), descending: descending)).items.map { $0.item["user"] }
            }
            #expect(try await users("swift") == ["bob", "ann"])
            #expect(try await users("swift", descending: true) == ["ann", "bob"])
            try await tables.put(table: "posts", item: ["user": "ann", "at": 1, "tag": "rust", "score": 5])
            #expect(try await users("swift") == ["bob"])
            #expect(try await users("rust") == ["ann"])
            try await tables.delete(table: "posts", key: ItemKey(partition: "ann", sort: .number(1)))
            #expect(try await users("rust") == [])
            let page = try await tables.query(table: "posts", TableQuery(index: "by-tag", partition: "swift", sort: .greaterThanOrEqual(.number(3))))
            #expect(page.items.count == 1)
        }
    }

    @Test func expiredItemsAreInvisibleAndPurged() async throws {
        try await withStorage { storage, _ in
            let tables = storage.tables
            try await tables.createTable(Self.schema)
            let past = Date().timeIntervalSince1970 - 10
            let future = Date().timeIntervalSince1970 + 3600
            try await tables.put(table: "posts", item: ["user": "ann", "at": 1, "expires": .number(past), "tag": "t", "score": 1])
            try await tables.put(table: "posts", item: ["user": "ann", "at": 2, "expires": .number(future)])
            #expect(try await tables.get(table: "posts", key: ItemKey(partition: "ann", sort: 1)) == nil)
            #expect(try await tables.query(table: "posts", TableQuery(partition: "ann")).items.count == 1)
            #expect(try await tables.query(table: "posts", TableQuery(index: "by-tag", partition: "t")).items.isEmpty)
            // An expired item counts as absent for conditions.
            #expect(try await tables.put(table: "posts", item: ["user": "ann", "at": 1, "expires": .number(past)], owner: nil, condition: .absent).version == 1)
            #expect(try await tables.purgeExpired(now: Date()) == 1)
            #expect(try await tables.purgeExpired(now: Date(timeIntervalSince1970: future + 1)) == 1)
            #expect(try await tables.query(table: "posts", TableQuery(partition: "ann")).items.isEmpty)
            try await tables.deleteTable("posts")
            #expect(try await tables.table("posts") == nil)
            #expect(await errorCode { try await tables.deleteTable("posts") } == .notFound)
        }
    }
}

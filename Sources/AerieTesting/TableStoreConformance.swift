import AerieCore
import Foundation
import Testing

/// The conformance suite of ``TableStore`` drivers. Each case gets a fresh, empty ``Primitives``.
public enum TableStoreConformance {
    public static let cases: [ConformanceCase] = [
        check("tables: create (idempotent), look up, list, delete", tableLifecycle),
        check("tables: names and schemas are validated", schemaValidation),
        check("an unknown table is not-found, naming it", unknownTable),
        check("put and get round-trip JSON items with owner and version", putAndGet),
        check("an item missing a key attribute is invalid, naming the field", missingKeyAttributes),
        check("get and delete check the key's shape against the schema", keyShape),
        check("versions: 1 on create, +1 on each write, 1 again after delete", versions),
        check("conditional put: absent", conditionAbsent),
        check("conditional put: version", conditionVersion),
        check("conditional delete", conditionalDelete),
        check("query: one partition, in sort-key order", queryPartition),
        check("query: numbers order numerically and before strings", numericOrder),
        check("query: sort conditions", sortConditions),
        check("query: descending", descending),
        check("query: secondary indexes are sparse and ordered", secondaryIndex),
        check("query: owner scoping", ownerScoping),
        check("query: equality filter", equalityFilter),
        check("query: pages cover every item once, both directions", pagination),
        check("query: pages with ties, filters and owners", paginationTiesAndFilters),
        check("query: a cursor is positional across concurrent changes", cursorStability),
        check("query: invalid limit, cursor, sort condition", queryValidation),
        check("TTL: expired items are invisible and purged", ttl),
        check("concurrent conditional creates: exactly one wins", concurrentCreate),
        check("concurrent optimistic updates lose nothing", optimisticCounter),
    ]

    static func check(_ name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) -> ConformanceCase {
        ConformanceCase(suite: "tables", name: name, body)
    }

    /// `pk` + `sk` (string), index `byStatus` on `status` + `created` (sparse), index `byKind` on `kind` (no sort key).
    static let events = TableSchema(name: "events", partitionKey: "pk", sortKey: "sk", indexes: [
        .init(name: "byStatus", partitionKey: "status", sortKey: "created"),
        .init(name: "byKind", partitionKey: "kind"),
    ], ttlAttribute: "expires")

    /// A table with a partition key only.
    static let users = TableSchema(name: "users", partitionKey: "id")

    static func key(_ pk: String, _ sk: String) -> ItemKey { ItemKey(partition: .string(pk), sort: .string(sk)) }

    static func item(_ pk: String, _ sk: String, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        extra.merging(["pk": .string(pk), "sk": .string(sk)]) { new, _ in new }
    }

    static func sortKeys(_ page: Page<StoredItem>, _ attribute: String = "sk") -> [JSONValue] {
        page.items.map { $0.item[attribute] ?? .null }
    }

    /// Pages through a whole query, checking each page's size and that the loop ends.
    static func queryAll(_ store: any TableStore, table: String, _ query: TableQuery,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> [StoredItem] {
        var query = query
        var items: [StoredItem] = []
        var pages = 0
        repeat {
            let page = try await store.query(table: table, query)
            #expect(page.items.count <= query.limit, "a page holds at most `limit` items", sourceLocation: sourceLocation)
            items += page.items
            query.cursor = page.nextCursor
            pages += 1
            try #require(pages <= 10_000, "paging does not end", sourceLocation: sourceLocation)
        } while query.cursor != nil
        return items
    }

    // MARK: - Tables

    @Sendable static func tableLifecycle(_ p: Primitives) async throws {
        let store = p.tables
        #expect(try await store.table("events") == nil)
        try await store.createTable(events)
        try await store.createTable(events)
        try await store.ensureTable(events)
        try await store.createTable(users)
        #expect(try await store.table("events") == events)
        #expect(try await store.listTables().map(\.name) == ["events", "users"])
        var different = events
        different.sortKey = "other"
        await expectAerieError(.alreadyExists, mentioning: "events") { try await store.createTable(different) }
        #expect(try await store.table("events") == events, "the failed create changed nothing")
        try await store.put(table: "users", item: ["id": "u1"])
        try await store.deleteTable("users")
        #expect(try await store.table("users") == nil)
        await expectAerieError(.notFound, mentioning: "users") { try await store.deleteTable("users") }
        try await store.createTable(users)
        #expect(try await store.get(table: "users", key: ItemKey(partition: "u1")) == nil, "a deleted table's items are gone")
    }

    @Sendable static func schemaValidation(_ p: Primitives) async throws {
        let store = p.tables
        for name in ["", "has space", "slash/name", "caf\u{E9}", String(repeating: "t", count: 129)] {
            await expectAerieError(.invalidArgument, "table name \(name.prefix(20))") {
                try await store.createTable(TableSchema(name: name, partitionKey: "id"))
            }
        }
        await expectAerieError(.invalidArgument, "partition key name") { try await store.createTable(TableSchema(name: "t", partitionKey: "a b")) }
        await expectAerieError(.invalidArgument, "sort key name") { try await store.createTable(TableSchema(name: "t", partitionKey: "id", sortKey: "")) }
        await expectAerieError(.invalidArgument, mentioning: "twice") {
            try await store.createTable(TableSchema(name: "t", partitionKey: "id", indexes: [.init(name: "i", partitionKey: "a"), .init(name: "i", partitionKey: "b")]))
        }
        #expect(try await store.listTables().isEmpty)
        try await store.createTable(TableSchema(name: "Valid_name-1.2", partitionKey: "id"))
        #expect(try await store.listTables().count == 1)
    }

    @Sendable static func unknownTable(_ p: Primitives) async throws {
        let store = p.tables
        await expectAerieError(.notFound, mentioning: "ghosts") { try await store.put(table: "ghosts", item: ["id": "1"]) }
        await expectAerieError(.notFound, mentioning: "ghosts") { try await store.get(table: "ghosts", key: ItemKey(partition: "1")) }
        await expectAerieError(.notFound, mentioning: "ghosts") { try await store.delete(table: "ghosts", key: ItemKey(partition: "1")) }
        await expectAerieError(.notFound, mentioning: "ghosts") { try await store.query(table: "ghosts", TableQuery(partition: "1")) }
        await expectAerieError(.notFound, mentioning: "ghosts") { try await store.deleteTable("ghosts") }
    }

    // MARK: - Items

    @Sendable static func putAndGet(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        let value: [String: JSONValue] = item("user-1", "2024-01-01", [
            "title": "caf\u{E9} \u{1F600} \"quoted\"",
            "count": 42,
            "ratio": 0.25,
            "negative": -7,
            "flag": true,
            "nothing": .null,
            "tags": ["a", "b", 3],
            "nested": ["deep": ["deeper": [1, 2, ["x": false]]]],
        ])
        let stored = try await store.put(table: "events", item: value, owner: "alice")
        #expect(stored.item == value)
        #expect(stored.version == 1)
        #expect(stored.owner == "alice")
        let got = try #require(try await store.get(table: "events", key: key("user-1", "2024-01-01")))
        #expect(got.item == value, "JSON round-trips exactly")
        #expect(got.version == 1)
        #expect(got.owner == "alice")
        #expect(abs(got.updatedAt.timeIntervalSince(stored.updatedAt)) < 1)
        #expect(try await store.get(table: "events", key: key("user-1", "2024-01-02")) == nil)
        #expect(try await store.get(table: "events", key: key("user-2", "2024-01-01")) == nil)

        try await store.createTable(users)
        try await store.put(table: "users", item: ["id": 7, "name": "seven"])
        try await store.put(table: "users", item: ["id": "7", "name": "string seven"])
        #expect(try await store.get(table: "users", key: ItemKey(partition: .number(7)))?.item["name"] == "seven", "7 and \"7\" are different keys")
        #expect(try await store.get(table: "users", key: ItemKey(partition: "7"))?.item["name"] == "string seven")
        #expect(try await store.get(table: "users", key: ItemKey(partition: .number(7)))?.owner == nil)
    }

    @Sendable static func missingKeyAttributes(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        await expectAerieError(.invalidArgument, field: "/pk", mentioning: "pk") { try await store.put(table: "events", item: ["sk": "1"]) }
        await expectAerieError(.invalidArgument, field: "/sk", mentioning: "sk") { try await store.put(table: "events", item: ["pk": "1"]) }
        await expectAerieError(.invalidArgument, field: "/pk", "a boolean key") { try await store.put(table: "events", item: ["pk": true, "sk": "1"]) }
        await expectAerieError(.invalidArgument, field: "/sk", "an object key") { try await store.put(table: "events", item: ["pk": "1", "sk": ["a": 1]]) }
        await expectAerieError(.invalidArgument, field: "/pk", "a null key") { try await store.put(table: "events", item: ["pk": .null, "sk": "1"]) }
        #expect(try await store.query(table: "events", TableQuery(partition: "1")).items.isEmpty, "nothing was stored")
    }

    @Sendable static func keyShape(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        try await store.createTable(users)
        await expectAerieError(.invalidArgument, "no sort value for a table with a sort key") {
            try await store.get(table: "events", key: ItemKey(partition: "a"))
        }
        await expectAerieError(.invalidArgument, "a sort value for a table without a sort key") {
            try await store.get(table: "users", key: ItemKey(partition: "a", sort: "b"))
        }
        await expectAerieError(.invalidArgument) { try await store.delete(table: "events", key: ItemKey(partition: "a")) }
    }

    @Sendable static func versions(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        #expect(try await store.put(table: "users", item: ["id": "u", "n": 1]).version == 1)
        #expect(try await store.put(table: "users", item: ["id": "u", "n": 2]).version == 2)
        #expect(try await store.put(table: "users", item: ["id": "u", "n": 3]).version == 3)
        let got = try #require(try await store.get(table: "users", key: ItemKey(partition: "u")))
        #expect(got.version == 3)
        #expect(got.item["n"] == 3)
        #expect(try await store.put(table: "users", item: ["id": "other"]).version == 1, "versions are per item")
        #expect(try await store.delete(table: "users", key: ItemKey(partition: "u")))
        #expect(try await store.put(table: "users", item: ["id": "u"]).version == 1)
    }

    @Sendable static func conditionAbsent(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        #expect(try await store.put(table: "users", item: ["id": "u", "n": 1], owner: "alice", condition: .absent).version == 1)
        await expectAerieError(.conditionFailed) {
            try await store.put(table: "users", item: ["id": "u", "n": 2], owner: "bob", condition: .absent)
        }
        let got = try #require(try await store.get(table: "users", key: ItemKey(partition: "u")))
        #expect(got.item["n"] == 1, "the failed write changed nothing")
        #expect(got.version == 1)
        #expect(got.owner == "alice")
    }

    @Sendable static func conditionVersion(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        await expectAerieError(.conditionFailed, "a version condition on a missing item") {
            try await store.put(table: "users", item: ["id": "u"], owner: nil, condition: .version(1))
        }
        #expect(try await store.get(table: "users", key: ItemKey(partition: "u")) == nil)
        try await store.put(table: "users", item: ["id": "u", "n": 1])
        #expect(try await store.put(table: "users", item: ["id": "u", "n": 2], owner: nil, condition: .version(1)).version == 2)
        await expectAerieError(.conditionFailed, "a stale version") {
            try await store.put(table: "users", item: ["id": "u", "n": 99], owner: nil, condition: .version(1))
        }
        await expectAerieError(.conditionFailed, "a future version") {
            try await store.put(table: "users", item: ["id": "u", "n": 99], owner: nil, condition: .version(3))
        }
        let got = try #require(try await store.get(table: "users", key: ItemKey(partition: "u")))
        #expect(got.item["n"] == 2)
        #expect(got.version == 2)
    }

    @Sendable static func conditionalDelete(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        try await store.put(table: "users", item: ["id": "u"])
        try await store.put(table: "users", item: ["id": "u"])
        await expectAerieError(.conditionFailed) { try await store.delete(table: "users", key: ItemKey(partition: "u"), condition: .version(1)) }
        #expect(try await store.get(table: "users", key: ItemKey(partition: "u")) != nil, "the failed delete kept the item")
        #expect(try await store.delete(table: "users", key: ItemKey(partition: "u"), condition: .version(2)))
        #expect(try await store.get(table: "users", key: ItemKey(partition: "u")) == nil)
        #expect(try await store.delete(table: "users", key: ItemKey(partition: "u")) == false)
        await expectAerieError(.conditionFailed) { try await store.delete(table: "users", key: ItemKey(partition: "u"), condition: .version(2)) }
    }

    // MARK: - Queries

    @Sendable static func queryPartition(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        for sk in ["c", "a", "b"] { try await store.put(table: "events", item: item("p1", sk)) }
        for sk in ["a", "z"] { try await store.put(table: "events", item: item("p2", sk)) }
        try await store.put(table: "events", item: item("p10", "a"))
        let page = try await store.query(table: "events", TableQuery(partition: "p1"))
        #expect(sortKeys(page) == ["a", "b", "c"])
        #expect(page.nextCursor == nil)
        #expect(page.items.allSatisfy { $0.item["pk"] == "p1" })
        #expect(try await store.query(table: "events", TableQuery(partition: "p")).items.isEmpty, "no prefix matching of partitions")
        #expect(try await store.query(table: "events", TableQuery(partition: .number(1))).items.isEmpty)

        try await store.createTable(users)
        try await store.put(table: "users", item: ["id": "solo", "n": 1])
        let solo = try await store.query(table: "users", TableQuery(partition: "solo"))
        #expect(solo.items.map { $0.item["n"] } == [1])
    }

    @Sendable static func numericOrder(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        let numbers: [Double] = [100, -5, 2, 0.25, -0.5, 10, 0, 1e15, -1e15, 3.5]
        for number in numbers { try await store.put(table: "events", item: ["pk": "p", "sk": .number(number)]) }
        for text in ["10", "2", "a", "B"] { try await store.put(table: "events", item: ["pk": "p", "sk": .string(text)]) }
        let page = try await store.query(table: "events", TableQuery(partition: "p"))
        let expected: [JSONValue] = numbers.sorted().map { .number($0) } + ["10", "2", "B", "a"].map { .string($0) }
        #expect(sortKeys(page) == expected)
        #expect(try await store.get(table: "events", key: ItemKey(partition: "p", sort: .number(0.25))) != nil)
        #expect(try await store.get(table: "events", key: ItemKey(partition: "p", sort: .number(-5))) != nil)
        #expect(try await store.get(table: "events", key: ItemKey(partition: "p", sort: .string("100"))) == nil)
    }

    @Sendable static func sortConditions(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        for number in 1...10 { try await store.put(table: "events", item: ["pk": "n", "sk": .number(Double(number))]) }
        let cases: [(SortCondition, [Double])] = [
            (.equal(.number(3)), [3]),
            (.lessThan(.number(3)), [1, 2]),
            (.lessThanOrEqual(.number(3)), [1, 2, 3]),
            (.greaterThan(.number(8)), [9, 10]),
            (.greaterThanOrEqual(.number(8)), [8, 9, 10]),
            (.between(.number(4), .number(6)), [4, 5, 6]),
            (.between(.number(6), .number(4)), []),
            (.equal(.number(11)), []),
        ]
        for (condition, expected) in cases {
            let page = try await store.query(table: "events", TableQuery(partition: "n", sort: condition))
            #expect(sortKeys(page) == expected.map { .number($0) }, "\(condition)")
        }
        for date in ["2024-01-05", "2024-02-01", "2025-01-01", "2023-12-31", "2024"] {
            try await store.put(table: "events", item: item("d", date))
        }
        let textCases: [(SortCondition, [String])] = [
            (.beginsWith("2024-"), ["2024-01-05", "2024-02-01"]),
            (.beginsWith("2024"), ["2024", "2024-01-05", "2024-02-01"]),
            (.beginsWith(""), ["2023-12-31", "2024", "2024-01-05", "2024-02-01", "2025-01-01"]),
            (.between("2024-01-01", "2024-12-31"), ["2024-01-05", "2024-02-01"]),
            (.greaterThan("2024-02-01"), ["2025-01-01"]),
            (.lessThan("2024"), ["2023-12-31"]),
        ]
        for (condition, expected) in textCases {
            let page = try await store.query(table: "events", TableQuery(partition: "d", sort: condition))
            #expect(sortKeys(page) == expected.map { .string($0) }, "\(condition)")
        }
        let descending = try await store.query(table: "events", TableQuery(partition: "d", sort: .beginsWith("2024-"), descending: true))
        #expect(sortKeys(descending) == ["2024-02-01", "2024-01-05"])
        let numbersOnly = try await store.query(table: "events", TableQuery(partition: "n", sort: .beginsWith("1")))
        #expect(numbersOnly.items.isEmpty, "beginsWith matches strings only")
    }

    @Sendable static func descending(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        for sk in ["b", "d", "a", "c"] { try await store.put(table: "events", item: item("p", sk)) }
        let page = try await store.query(table: "events", TableQuery(partition: "p", descending: true))
        #expect(sortKeys(page) == ["d", "c", "b", "a"])
        let limited = try await store.query(table: "events", TableQuery(partition: "p", descending: true, limit: 2))
        #expect(sortKeys(limited) == ["d", "c"], "limit takes from the requested end")
    }

    @Sendable static func secondaryIndex(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        try await store.put(table: "events", item: item("a", "1", ["status": "open", "created": 30, "kind": "x"]))
        try await store.put(table: "events", item: item("b", "1", ["status": "open", "created": 10]))
        try await store.put(table: "events", item: item("c", "1", ["status": "closed", "created": 20, "kind": "x"]))
        try await store.put(table: "events", item: item("d", "1", ["status": "open"]))  // no sort attribute: not in byStatus
        try await store.put(table: "events", item: item("e", "1", ["created": 5]))  // no partition attribute: not in byStatus
        try await store.put(table: "events", item: item("f", "1", ["status": "open", "created": 20]))
        try await store.put(table: "events", item: item("g", "1", ["status": true, "created": 1]))  // not a key type: not indexed

        let open = try await store.query(table: "events", TableQuery(index: "byStatus", partition: "open"))
        #expect(open.items.map { $0.item["pk"] } == ["b", "f", "a"], "ordered by the index's sort key; sparse")
        let recent = try await store.query(table: "events", TableQuery(index: "byStatus", partition: "open", sort: .greaterThanOrEqual(.number(20)), descending: true))
        #expect(recent.items.map { $0.item["pk"] } == ["a", "f"])
        let kinds = try await store.query(table: "events", TableQuery(index: "byKind", partition: "x"))
        #expect(Set(kinds.items.compactMap { $0.item["pk"]?.stringValue }) == ["a", "c"])

        // Index entries follow writes: an update that moves an item out of (or into) an index partition.
        try await store.put(table: "events", item: item("a", "1", ["status": "closed", "created": 30]))
        try await store.delete(table: "events", key: key("b", "1"))
        try await store.put(table: "events", item: item("d", "1", ["status": "open", "created": 0]))
        let after = try await store.query(table: "events", TableQuery(index: "byStatus", partition: "open"))
        #expect(after.items.map { $0.item["pk"] } == ["d", "f"])
        let kindsAfter = try await store.query(table: "events", TableQuery(index: "byKind", partition: "x"))
        #expect(kindsAfter.items.map { $0.item["pk"] } == ["c"])

        await expectAerieError(.notFound, mentioning: "byNothing") {
            try await store.query(table: "events", TableQuery(index: "byNothing", partition: "open"))
        }
    }

    @Sendable static func ownerScoping(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        try await store.put(table: "events", item: item("shared", "1"), owner: "alice")
        try await store.put(table: "events", item: item("shared", "2"), owner: "bob")
        try await store.put(table: "events", item: item("shared", "3"), owner: "alice")
        try await store.put(table: "events", item: item("shared", "4"), owner: nil)
        let alice = try await store.query(table: "events", TableQuery(partition: "shared", owner: "alice"))
        #expect(sortKeys(alice) == ["1", "3"])
        #expect(alice.items.allSatisfy { $0.owner == "alice" })
        #expect(sortKeys(try await store.query(table: "events", TableQuery(partition: "shared", owner: "bob"))) == ["2"])
        #expect(try await store.query(table: "events", TableQuery(partition: "shared", owner: "carol")).items.isEmpty)
        #expect(try await store.query(table: "events", TableQuery(partition: "shared")).items.count == 4, "no owner: every item")
        // Rewriting an item sets its owner.
        try await store.put(table: "events", item: item("shared", "2"), owner: "alice")
        #expect(sortKeys(try await store.query(table: "events", TableQuery(partition: "shared", owner: "alice"))) == ["1", "2", "3"])
        #expect(try await store.get(table: "events", key: key("shared", "2"))?.owner == "alice")
    }

    @Sendable static func equalityFilter(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        try await store.put(table: "events", item: item("p", "1", ["color": "red", "size": 1]))
        try await store.put(table: "events", item: item("p", "2", ["color": "blue", "size": 1]))
        try await store.put(table: "events", item: item("p", "3", ["color": "red", "size": 2]))
        try await store.put(table: "events", item: item("p", "4", ["color": "red", "size": 1, "extra": ["a": 1]]))
        let red = try await store.query(table: "events", TableQuery(partition: "p", filter: ["color": "red"]))
        #expect(sortKeys(red) == ["1", "3", "4"])
        let redSmall = try await store.query(table: "events", TableQuery(partition: "p", filter: ["color": "red", "size": 1]))
        #expect(sortKeys(redSmall) == ["1", "4"])
        #expect(try await store.query(table: "events", TableQuery(partition: "p", filter: ["color": "green"])).items.isEmpty)
        #expect(try await store.query(table: "events", TableQuery(partition: "p", filter: ["missing": "x"])).items.isEmpty)
        #expect(try await store.query(table: "events", TableQuery(partition: "p", filter: ["size": "1"])).items.isEmpty, "types must match")
        let nested = try await store.query(table: "events", TableQuery(partition: "p", filter: ["extra": ["a": 1]]))
        #expect(sortKeys(nested) == ["4"])
    }

    @Sendable static func pagination(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        let all = (0..<23).map { String(format: "%03d", $0) }
        for sk in all.shuffled() { try await store.put(table: "events", item: item("p", sk)) }
        try await store.put(table: "events", item: item("other", "000"))
        for limit in [1, 5, 23, 100] {
            let ascending = try await queryAll(store, table: "events", TableQuery(partition: "p", limit: limit))
            #expect(ascending.map { $0.item["sk"]?.stringValue ?? "" } == all, "limit \(limit)")
            let descending = try await queryAll(store, table: "events", TableQuery(partition: "p", descending: true, limit: limit))
            #expect(descending.map { $0.item["sk"]?.stringValue ?? "" } == all.reversed(), "descending, limit \(limit)")
        }
        let first = try await store.query(table: "events", TableQuery(partition: "p", limit: 5))
        #expect(first.items.count == 5)
        #expect(first.nextCursor != nil)
        let bounded = try await queryAll(store, table: "events", TableQuery(partition: "p", sort: .between("005", "014"), limit: 4))
        #expect(bounded.map { $0.item["sk"]?.stringValue ?? "" } == Array(all[5...14]))
    }

    @Sendable static func paginationTiesAndFilters(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        // Thirty items in one index partition, most sharing a sort value; a page boundary falls inside the ties.
        for index in 0..<30 {
            let created: JSONValue = index < 25 ? 100 : .number(Double(index))
            let owner = index % 3 == 0 ? "alice" : "bob"
            try await store.put(table: "events", item: item("p\(index % 4)", "s\(index)", ["status": "open", "created": created, "even": .bool(index % 2 == 0)]),
                                owner: owner)
        }
        for descending in [false, true] {
            for limit in [1, 4, 7] {
                let items = try await queryAll(store, table: "events", TableQuery(index: "byStatus", partition: "open", descending: descending, limit: limit))
                let ids = items.map { $0.item["sk"]?.stringValue ?? "" }
                #expect(ids.count == 30, "limit \(limit), descending \(descending)")
                #expect(Set(ids).count == 30, "no item repeated: limit \(limit), descending \(descending)")
                let created = items.map { $0.item["created"]?.numberValue ?? -1 }
                #expect(created == (descending ? created.sorted(by: >) : created.sorted()), "in index order")

                let filtered = try await queryAll(store, table: "events", TableQuery(index: "byStatus", partition: "open", filter: ["even": true],
                                                                                     descending: descending, limit: limit))
                #expect(Set(filtered.map { $0.item["sk"]?.stringValue ?? "" }) == Set((0..<30).filter { $0 % 2 == 0 }.map { "s\($0)" }))
                #expect(filtered.count == 15)

                let owned = try await queryAll(store, table: "events", TableQuery(index: "byStatus", partition: "open", owner: "alice",
                                                                                  descending: descending, limit: limit))
                #expect(Set(owned.map { $0.item["sk"]?.stringValue ?? "" }) == Set((0..<30).filter { $0 % 3 == 0 }.map { "s\($0)" }))
                #expect(owned.count == 10)
            }
        }
    }

    @Sendable static func cursorStability(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        for sk in (0..<10).map({ "k\($0)" }) { try await store.put(table: "events", item: item("p", sk)) }
        let first = try await store.query(table: "events", TableQuery(partition: "p", limit: 3))
        #expect(sortKeys(first) == ["k0", "k1", "k2"])
        try await store.delete(table: "events", key: key("p", "k1"))
        try await store.delete(table: "events", key: key("p", "k5"))
        try await store.put(table: "events", item: item("p", "k0a"))
        try await store.put(table: "events", item: item("p", "k55"))
        try await store.put(table: "events", item: item("p", "k2", ["updated": true]))
        let rest = try await queryAll(store, table: "events", TableQuery(partition: "p", limit: 3, cursor: first.nextCursor))
        #expect(rest.map { $0.item["sk"] ?? .null } == ["k3", "k4", "k55", "k6", "k7", "k8", "k9"])
    }

    @Sendable static func queryValidation(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        try await store.createTable(users)
        try await store.put(table: "events", item: item("p", "1"))
        await expectAerieError(.invalidArgument, field: "limit") { try await store.query(table: "events", TableQuery(partition: "p", limit: 0)) }
        await expectAerieError(.invalidArgument, field: "cursor") {
            try await store.query(table: "events", TableQuery(partition: "p", cursor: "%%% not a cursor %%%"))
        }
        await expectAerieError(.invalidArgument, "a sort condition on a table without a sort key") {
            try await store.query(table: "users", TableQuery(partition: "p", sort: .equal("x")))
        }
        await expectAerieError(.invalidArgument, "a sort condition on an index without a sort key") {
            try await store.query(table: "events", TableQuery(index: "byKind", partition: "p", sort: .equal("x")))
        }
    }

    @Sendable static func ttl(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(events)
        let future = Date().timeIntervalSince1970 + 100_000_000
        try await store.put(table: "events", item: item("p", "expired", ["expires": 1_000, "status": "open", "created": 1]))
        try await store.put(table: "events", item: item("p", "live", ["expires": .number(future), "status": "open", "created": 2]))
        try await store.put(table: "events", item: item("p", "forever", ["status": "open", "created": 3]))
        try await store.put(table: "events", item: item("p", "not-a-number", ["expires": "soon"]))

        #expect(try await store.get(table: "events", key: key("p", "expired")) == nil, "an expired item is invisible")
        #expect(try await store.get(table: "events", key: key("p", "live")) != nil)
        #expect(sortKeys(try await store.query(table: "events", TableQuery(partition: "p"))) == ["forever", "live", "not-a-number"])
        let indexed = try await store.query(table: "events", TableQuery(index: "byStatus", partition: "open"))
        #expect(indexed.items.map { $0.item["sk"] } == ["live", "forever"], "expired items are invisible in indexes too")
        // An expired item counts as absent.
        #expect(try await store.put(table: "events", item: item("p", "expired-again", ["expires": 1_000]), owner: nil, condition: .absent).version >= 1)
        #expect(try await store.put(table: "events", item: item("p", "expired-again", ["expires": 2_000]), owner: nil, condition: .absent).version >= 1)

        #expect(try await store.purgeExpired(now: Date()) == 2)
        #expect(try await store.purgeExpired(now: Date()) == 0, "purging is idempotent")
        #expect(try await store.get(table: "events", key: key("p", "live")) != nil, "purging keeps live items")
        #expect(try await store.purgeExpired(now: Date(timeIntervalSince1970: future + 1)) == 1)
        #expect(try await store.get(table: "events", key: key("p", "live")) == nil)
        #expect(sortKeys(try await store.query(table: "events", TableQuery(partition: "p"))) == ["forever", "not-a-number"])
    }

    // MARK: - Concurrency

    @Sendable static func concurrentCreate(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask {
                    do {
                        try await store.put(table: "users", item: ["id": "unique", "writer": .number(Double(index))], owner: nil, condition: .absent)
                        return true
                    } catch let error as AerieError where error.code == .conditionFailed {
                        return false
                    }
                }
            }
            var results: [Bool] = []
            for try await outcome in group { results.append(outcome) }
            return results
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.get(table: "users", key: ItemKey(partition: "unique"))?.version == 1)
    }

    @Sendable static func optimisticCounter(_ p: Primitives) async throws {
        let store = p.tables
        try await store.createTable(users)
        try await store.put(table: "users", item: ["id": "counter", "count": 0])
        let workers = 12
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    for _ in 0..<1_000 {
                        guard let current = try await store.get(table: "users", key: ItemKey(partition: "counter")) else {
                            throw AerieError(.internal, "the counter vanished")
                        }
                        let count = current.item["count"]?.numberValue ?? -1
                        do {
                            try await store.put(table: "users", item: ["id": "counter", "count": .number(count + 1)], owner: nil,
                                                condition: .version(current.version))
                            return
                        } catch let error as AerieError where error.code == .conditionFailed {
                            await Task.yield()
                        }
                    }
                    throw AerieError(.internal, "no progress after 1000 tries")
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await store.get(table: "users", key: ItemKey(partition: "counter")))
        #expect(final.item["count"] == .number(Double(workers)))
        #expect(final.version == Int64(workers) + 1)
    }
}

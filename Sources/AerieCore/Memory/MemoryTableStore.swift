import Foundation

/// The in-memory ``TableStore`` driver, for tests. Queries scan the table; fine for test-sized data.
public actor MemoryTableStore: TableStore {
    /// A primary key compared by the bytes of ``KeyValue/sortable`` (so strings compare byte for byte).
    private struct PrimaryKey: Hashable {
        var partition: [UInt8]
        var sort: [UInt8]?
    }

    private struct Table {
        var schema: TableSchema
        var items: [PrimaryKey: StoredItem] = [:]
    }

    private var tables: [String: Table] = [:]

    public init() {}

    public func createTable(_ schema: TableSchema) async throws {
        if let existing = tables[schema.name] {
            guard existing.schema == schema else {
                throw AerieError(.alreadyExists, "Table \"\(schema.name)\" already exists with a different schema. Delete it first or use another name.")
            }
            return
        }
        tables[schema.name] = Table(schema: schema)
    }

    public func deleteTable(_ name: String) async throws {
        _ = try existing(name)
        tables[name] = nil
    }

    public func listTables() async throws -> [TableSchema] {
        tables.values.map(\.schema).sorted { $0.name < $1.name }
    }

    public func table(_ name: String) async throws -> TableSchema? {
        return tables[name]?.schema
    }

    public func put(table name: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        let schema = try existing(name).schema
        let key = try Self.primaryKey(schema.key(of: item))
        let now = Date()
        let current = tables[name]?.items[key].flatMap { Self.isExpired($0, schema: schema, now: now) ? nil : $0 }
        try condition.check(currentVersion: current?.version, table: name)
        let stored = StoredItem(item: item, version: (current?.version ?? 0) + 1, owner: owner, updatedAt: now)
        tables[name]?.items[key] = stored
        return stored
    }

    public func get(table name: String, key: ItemKey) async throws -> StoredItem? {
        let table = try existing(name)
        let primary = try Self.primaryKey(key, schema: table.schema)
        guard let item = table.items[primary], !Self.isExpired(item, schema: table.schema, now: Date()) else { return nil }
        return item
    }

    public func delete(table name: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        let schema = try existing(name).schema
        let primary = try Self.primaryKey(key, schema: schema)
        let current = tables[name]?.items[primary].flatMap { Self.isExpired($0, schema: schema, now: Date()) ? nil : $0 }
        try condition.check(currentVersion: current?.version, table: name)
        tables[name]?.items[primary] = nil
        return current != nil
    }

    public func query(table name: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        let table = try existing(name)
        let schema = table.schema
        let index = try schema.index(for: query)
        let after = try query.cursor.map(QueryPosition.decode)
        let partition = Array(query.partition.sortable.utf8)
        let now = Date()

        var matches: [(position: QueryPosition, item: StoredItem)] = []
        for (primary, stored) in table.items {
            if Self.isExpired(stored, schema: schema, now: now) { continue }
            let target: (partition: KeyValue, sort: KeyValue?)
            if let index {
                guard let key = schema.indexKey(of: stored.item, index: index) else { continue }
                target = key
            } else {
                guard let key = try? schema.key(of: stored.item) else { continue }
                target = (key.partition, key.sort)
            }
            guard Array(target.partition.sortable.utf8) == partition else { continue }
            if let condition = query.sort, !condition.matches(target.sort) { continue }
            if let owner = query.owner, stored.owner != owner { continue }
            if !query.filter.allSatisfy({ stored.item[$0.key] == $0.value }) { continue }
            let position = QueryPosition(sort: target.sort.map { Array($0.sortable.utf8) } ?? [],
                                         partition: primary.partition, primarySort: primary.sort ?? [])
            matches.append((position, stored))
        }
        matches.sort { query.descending ? $1.position < $0.position : $0.position < $1.position }
        if let after {
            matches.removeAll { query.descending ? !($0.position < after) : !(after < $0.position) }
        }
        let page = matches.prefix(query.limit)
        let next = matches.count > query.limit ? page.last.map { $0.position.encoded() } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    public func purgeExpired(now: Date) async throws -> Int {
        var removed = 0
        for name in Array(tables.keys) {
            guard let schema = tables[name]?.schema, schema.ttlAttribute != nil else { continue }
            let expired = tables[name]?.items.filter { Self.isExpired($0.value, schema: schema, now: now) }.map(\.key) ?? []
            for key in expired { tables[name]?.items[key] = nil }
            removed += expired.count
        }
        return removed
    }

    // MARK: - Internals

    private func existing(_ name: String) throws -> Table {
        guard let table = tables[name] else {
            throw AerieError.notFound("Table \"\(name)\" does not exist. Create it first.")
        }
        return table
    }

    private static func isExpired(_ item: StoredItem, schema: TableSchema, now: Date) -> Bool {
        guard let expiry = schema.expiry(of: item.item) else { return false }
        return expiry <= now
    }

    private static func primaryKey(_ key: ItemKey) -> PrimaryKey {
        PrimaryKey(partition: Array(key.partition.sortable.utf8), sort: key.sort.map { Array($0.sortable.utf8) })
    }

    /// The primary key of `key`, checked against the schema's shape.
    private static func primaryKey(_ key: ItemKey, schema: TableSchema) throws -> PrimaryKey {
        try schema.checkKeyShape(key)
        return primaryKey(key)
    }
}

/// Where a query page ended: the item's sort value under the queried key (table or index), then its primary key,
/// which together order every item totally. Encoded as the opaque cursor.
struct QueryPosition: Comparable, Codable {
    var sort: [UInt8]
    var partition: [UInt8]
    var primarySort: [UInt8]

    static func < (lhs: QueryPosition, rhs: QueryPosition) -> Bool {
        if lhs.sort != rhs.sort { return lhs.sort.lexicographicallyPrecedes(rhs.sort) }
        if lhs.partition != rhs.partition { return lhs.partition.lexicographicallyPrecedes(rhs.partition) }
        return lhs.primarySort.lexicographicallyPrecedes(rhs.primarySort)
    }

    func encoded() -> String {
        let parts = [sort, partition, primarySort].map { Base64URL.encode(Data($0)) }
        return Base64URL.encode(Data(parts.joined(separator: ".").utf8))
    }

    static func decode(_ cursor: String) throws -> QueryPosition {
        let invalid = AerieError.invalid("The cursor is not one this table returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
        guard let outer = Base64URL.decode(cursor), let text = String(data: outer, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { Base64URL.decode(String($0)) }
        guard parts.count == 3, let sort = parts[0], let partition = parts[1], let primarySort = parts[2] else { throw invalid }
        return QueryPosition(sort: Array(sort), partition: Array(partition), primarySort: Array(primarySort))
    }
}

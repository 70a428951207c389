import AerieCore
import Foundation
import GRDB

/// The embedded ``TableStore`` driver: items as JSON text in SQLite with indexed key columns.
///
/// Keys are stored as ``KeyValue/sortable`` text, whose byte order (SQLite's `BINARY` collation) is the order of
/// the values. Secondary-index entries live in their own table and are rewritten in the item's transaction.
/// Conditional writes check and write in one transaction, so they are race-free.
///
/// Tables: `table_schemas`, `table_items`, `table_index_entries`.
public struct SQLiteTableStore: TableStore {
    let database: SQLiteDatabase
    private let schemas = DecodedCache<TableSchema>()

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("tables-v1") { db in
            try db.execute(sql: """
                CREATE TABLE table_schemas (
                    name TEXT PRIMARY KEY NOT NULL,
                    schema TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE table_items (
                    tbl TEXT NOT NULL,
                    pk TEXT NOT NULL,
                    sk TEXT NOT NULL,
                    item TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    owner TEXT,
                    updated_at REAL NOT NULL,
                    expires_at REAL,
                    PRIMARY KEY (tbl, pk, sk)
                ) WITHOUT ROWID;
                CREATE INDEX table_items_expiry ON table_items (expires_at) WHERE expires_at IS NOT NULL;
                CREATE TABLE table_index_entries (
                    tbl TEXT NOT NULL,
                    idx TEXT NOT NULL,
                    ipk TEXT NOT NULL,
                    isk TEXT NOT NULL,
                    pk TEXT NOT NULL,
                    sk TEXT NOT NULL,
                    PRIMARY KEY (tbl, idx, ipk, isk, pk, sk)
                ) WITHOUT ROWID;
                CREATE INDEX table_index_entries_item ON table_index_entries (tbl, pk, sk);
                """)
        }
    }

    // MARK: - Tables

    public func createTable(_ schema: TableSchema) async throws {
        let text = try Self.encode(schema)
        try await database.write { db in
            if let existing = try Self.schema(db, name: schema.name) {
                guard existing == schema else {
                    throw AerieError(.alreadyExists, "Table \"\(schema.name)\" already exists with a different schema. Delete it first or use another name.")
                }
                return
            }
            try db.execute(sql: "INSERT INTO table_schemas (name, schema) VALUES (?, ?)", arguments: [schema.name, text])
        }
    }

    public func deleteTable(_ name: String) async throws {
        try await database.write { db in
            _ = try Self.existing(db, name: name)
            try db.execute(sql: "DELETE FROM table_index_entries WHERE tbl = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM table_items WHERE tbl = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM table_schemas WHERE name = ?", arguments: [name])
        }
    }

    public func listTables() async throws -> [TableSchema] {
        try await database.read { db in
            try String.fetchAll(db, sql: "SELECT schema FROM table_schemas ORDER BY name").map(Self.decodeSchema)
        }
    }

    public func table(_ name: String) async throws -> TableSchema? {
        return try await database.read { db in try Self.schema(db, name: name) }
    }

    // MARK: - Items

    @discardableResult
    public func put(table name: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        let text = JSONValue.object(item).encodedString()
        let stored = try await database.groupedWrite { db in
            let schema = try Self.existing(db, name: name, cache: schemas)
            let key = try schema.key(of: item)
            let pk = key.partition.sortable
            let sk = key.sort?.sortable ?? ""
            let now = Date()
            let current = try Self.currentVersion(db, table: name, pk: pk, sk: sk, now: now)
            try condition.check(currentVersion: current, table: name)
            let stored = StoredItem(item: item, version: (current ?? 0) + 1, owner: owner, updatedAt: now)
            try db.cachedStatement(sql: """
                INSERT INTO table_items (tbl, pk, sk, item, version, owner, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tbl, pk, sk) DO UPDATE SET item = excluded.item, version = excluded.version, owner = excluded.owner,
                    updated_at = excluded.updated_at, expires_at = excluded.expires_at
                """).execute(arguments: [name, pk, sk, text, stored.version, owner, now.storedSeconds,
                                         schema.expiry(of: item)?.storedSeconds])
            if !schema.indexes.isEmpty {
                try db.cachedStatement(sql: "DELETE FROM table_index_entries WHERE tbl = ? AND pk = ? AND sk = ?")
                    .execute(arguments: [name, pk, sk])
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO table_index_entries (tbl, idx, ipk, isk, pk, sk) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for index in schema.indexes {
                    guard let indexKey = schema.indexKey(of: item, index: index) else { continue }
                    try insert.execute(arguments: [name, index.name, indexKey.partition.sortable, indexKey.sort?.sortable ?? "", pk, sk])
                }
            }
            return stored
        }
        CrashPoint.reach("table.written", name)
        return stored
    }

    public func get(table name: String, key: ItemKey) async throws -> StoredItem? {
        return try await database.readPoint { db in
            let schema = try Self.existing(db, name: name, cache: schemas)
            let (pk, sk) = try schema.sortableKey(key)
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT item, version, owner, updated_at FROM table_items
                WHERE tbl = ? AND pk = ? AND sk = ? AND (expires_at IS NULL OR expires_at > ?)
                """), arguments: [name, pk, sk, Date().storedSeconds])
            return try row.map(Self.storedItem)
        }
    }

    @discardableResult
    public func delete(table name: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        return try await database.groupedWrite { db in
            let schema = try Self.existing(db, name: name, cache: schemas)
            let (pk, sk) = try schema.sortableKey(key)
            let current = try Self.currentVersion(db, table: name, pk: pk, sk: sk, now: Date())
            try condition.check(currentVersion: current, table: name)
            try db.cachedStatement(sql: "DELETE FROM table_index_entries WHERE tbl = ? AND pk = ? AND sk = ?")
                .execute(arguments: [name, pk, sk])
            try db.cachedStatement(sql: "DELETE FROM table_items WHERE tbl = ? AND pk = ? AND sk = ?")
                .execute(arguments: [name, pk, sk])
            return current != nil
        }
    }

    public func query(table name: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        let start = try query.sortablePosition()
        return try await database.read { db in
            let schema = try Self.existing(db, name: name, cache: schemas)
            let index = try schema.index(for: query)
            return try Self.scan(db, table: name, index: index, query: query, after: start)
        }
    }

    @discardableResult
    public func purgeExpired(now: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: """
                DELETE FROM table_index_entries WHERE (tbl, pk, sk) IN
                    (SELECT tbl, pk, sk FROM table_items WHERE expires_at IS NOT NULL AND expires_at <= ?)
                """, arguments: [now.storedSeconds])
            try db.execute(sql: "DELETE FROM table_items WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now.storedSeconds])
            return db.changesCount
        }
    }

    // MARK: - Internals

    /// Reads matching items in (sort, partition, primary sort) order, `limit + 1` at most, applying the filter.
    private static func scan(_ db: Database, table: String, index: TableSchema.Index?, query: TableQuery, after: [String]?) throws -> Page<StoredItem> {
        // The position columns: the sort value under the queried key, then the item's primary key.
        let (sortColumn, pkColumn, skColumn): (String, String, String)
        var sql: String
        var arguments: StatementArguments
        if let index {
            (sortColumn, pkColumn, skColumn) = ("e.isk", "e.pk", "e.sk")
            sql = """
                SELECT e.isk AS position_sort, e.pk AS position_pk, e.sk AS position_sk, i.item, i.version, i.owner, i.updated_at
                FROM table_index_entries e JOIN table_items i ON i.tbl = e.tbl AND i.pk = e.pk AND i.sk = e.sk
                WHERE e.tbl = ? AND e.idx = ? AND e.ipk = ?
                """
            arguments = [table, index.name, query.partition.sortable]
        } else {
            (sortColumn, pkColumn, skColumn) = ("i.sk", "i.pk", "i.sk")
            sql = """
                SELECT i.sk AS position_sort, i.pk AS position_pk, i.sk AS position_sk, i.item, i.version, i.owner, i.updated_at
                FROM table_items i
                WHERE i.tbl = ? AND i.pk = ?
                """
            arguments = [table, query.partition.sortable]
        }
        sql += " AND (i.expires_at IS NULL OR i.expires_at > ?)"
        arguments += [Date().storedSeconds]
        if let owner = query.owner {
            sql += " AND i.owner = ?"
            arguments += [owner]
        }
        if let sort = query.sort {
            switch sort {
            case .equal(let value):
                sql += " AND \(sortColumn) = ?"
                arguments += [value.sortable]
            case .lessThan(let value):
                sql += " AND \(sortColumn) < ?"
                arguments += [value.sortable]
            case .lessThanOrEqual(let value):
                sql += " AND \(sortColumn) <= ?"
                arguments += [value.sortable]
            case .greaterThan(let value):
                sql += " AND \(sortColumn) > ?"
                arguments += [value.sortable]
            case .greaterThanOrEqual(let value):
                sql += " AND \(sortColumn) >= ?"
                arguments += [value.sortable]
            case .between(let low, let high):
                sql += " AND \(sortColumn) >= ? AND \(sortColumn) <= ?"
                arguments += [low.sortable, high.sortable]
            case .beginsWith(let prefix):
                let stored = KeyValue.string(prefix).sortable
                sql += " AND \(sortColumn) >= ? AND substr(\(sortColumn), 1, length(?)) = ?"
                arguments += [stored, stored, stored]
            }
        }
        let direction = query.descending ? "DESC" : "ASC"
        let comparison = query.descending ? "<" : ">"
        let order = " ORDER BY \(sortColumn) \(direction), \(pkColumn) \(direction), \(skColumn) \(direction) LIMIT ?"
        let continued = sql + " AND (\(sortColumn), \(pkColumn), \(skColumn)) \(comparison) (?, ?, ?)" + order

        let batch = query.filter.isEmpty ? query.limit + 1 : max(query.limit + 1, 100)
        var position = after
        var matches: [(position: [String], item: StoredItem)] = []
        while matches.count <= query.limit {
            let rows: [Row]
            if let position {
                rows = try Row.fetchAll(db, sql: continued, arguments: arguments + StatementArguments(position) + [batch])
            } else {
                rows = try Row.fetchAll(db, sql: sql + order, arguments: arguments + [batch])
            }
            for row in rows {
                let item = try storedItem(row)
                position = [row["position_sort"], row["position_pk"], row["position_sk"]]
                if !query.filter.allSatisfy({ item.item[$0.key] == $0.value }) { continue }
                matches.append((position ?? [], item))
                if matches.count > query.limit { break }
            }
            if rows.count < batch { break }
        }
        let page = matches.prefix(query.limit)
        let next = matches.count > query.limit ? page.last.map { Base64URL.encodeCursor($0.position) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    private static func schema(_ db: Database, name: String, cache: DecodedCache<TableSchema>? = nil) throws -> TableSchema? {
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT schema FROM table_schemas WHERE name = ?"), arguments: [name]) else {
            return nil
        }
        guard let cache else { return try decodeSchema(text) }
        return try cache.value(for: text, decode: decodeSchema)
    }

    private static func existing(_ db: Database, name: String, cache: DecodedCache<TableSchema>? = nil) throws -> TableSchema {
        guard let schema = try schema(db, name: name, cache: cache) else {
            throw AerieError.notFound("Table \"\(name)\" does not exist. Create it first.")
        }
        return schema
    }

    /// The version of the live (not expired) item with this key, or nil.
    private static func currentVersion(_ db: Database, table: String, pk: String, sk: String, now: Date) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT version FROM table_items
            WHERE tbl = ? AND pk = ? AND sk = ? AND (expires_at IS NULL OR expires_at > ?)
            """), arguments: [table, pk, sk, now.storedSeconds])
    }

    private static func storedItem(_ row: Row) throws -> StoredItem {
        let text: String = row["item"]
        guard case .object(let item) = try JSONValue.parse(bytes: text.utf8) else {
            throw AerieError(.internal, "A stored table item is not a JSON object. The database may be damaged; restore it from a backup.")
        }
        return StoredItem(item: item, version: row["version"], owner: row["owner"], updatedAt: Date(storedSeconds: row["updated_at"]))
    }

    private static func encode(_ schema: TableSchema) throws -> String {
        String(decoding: try JSONCoding.encode(schema), as: UTF8.self)
    }

    private static func decodeSchema(_ text: String) throws -> TableSchema {
        try JSONCoding.decode(TableSchema.self, from: Data(text.utf8))
    }
}

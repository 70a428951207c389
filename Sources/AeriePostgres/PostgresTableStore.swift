import AerieCore
import Foundation
import Logging
import PostgresNIO

/// The scale-out ``TableStore`` driver: items as JSONB in PostgreSQL, with the embedded driver's layout and rules.
///
/// Keys are stored as ``KeyValue/sortable`` text in the `C` collation, whose byte order is the order of the values,
/// so queries, cursors and index entries work as in ``SQLiteTableStore``. A write takes a transaction-scoped advisory
/// lock on its item's key before reading the current version, so conditional writes from any number of nodes are
/// race-free, including create-only writes of a key no row holds yet.
///
/// Tables: `aerie_table_schemas`, `aerie_table_items`, `aerie_table_index_entries`.
public struct PostgresTableStore: TableStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    public static let migrations = [
        PostgresDatabase.Migration("tables-v1", [
            """
            CREATE TABLE aerie_table_schemas (
                name text COLLATE "C" PRIMARY KEY,
                schema text NOT NULL
            )
            """,
            """
            CREATE TABLE aerie_table_items (
                tbl text COLLATE "C" NOT NULL,
                pk text COLLATE "C" NOT NULL,
                sk text COLLATE "C" NOT NULL,
                item jsonb NOT NULL,
                version bigint NOT NULL,
                owner text,
                updated_at double precision NOT NULL,
                expires_at double precision,
                PRIMARY KEY (tbl, pk, sk)
            )
            """,
            "CREATE INDEX aerie_table_items_expiry ON aerie_table_items (expires_at) WHERE expires_at IS NOT NULL",
            """
            CREATE TABLE aerie_table_index_entries (
                tbl text COLLATE "C" NOT NULL,
                idx text COLLATE "C" NOT NULL,
                ipk text COLLATE "C" NOT NULL,
                isk text COLLATE "C" NOT NULL,
                pk text COLLATE "C" NOT NULL,
                sk text COLLATE "C" NOT NULL,
                PRIMARY KEY (tbl, idx, ipk, isk, pk, sk)
            )
            """,
            "CREATE INDEX aerie_table_index_entries_item ON aerie_table_index_entries (tbl, pk, sk)",
        ]),
    ]

    private var logger: Logger { database.logger }

    // MARK: - Tables

    public func createTable(_ schema: TableSchema) async throws {
        let text = try Self.encode(schema)
        let name = schema.name
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\("table:" + name), 0))", logger: logger)
            if let existing = try await Self.schema(connection, name: name, logger: logger) {
                guard existing == schema else {
                    throw AerieError(.alreadyExists, "Table \"\(name)\" already exists with a different schema. Delete it first or use another name.")
                }
                return
            }
            try await connection.query("INSERT INTO aerie_table_schemas (name, schema) VALUES (\(name), \(text))", logger: logger)
        }
    }

    public func deleteTable(_ name: String) async throws {
        try await database.transaction { connection in
            _ = try await Self.existing(connection, name: name, logger: logger)
            try await connection.query("DELETE FROM aerie_table_index_entries WHERE tbl = \(name)", logger: logger)
            try await connection.query("DELETE FROM aerie_table_items WHERE tbl = \(name)", logger: logger)
            try await connection.query("DELETE FROM aerie_table_schemas WHERE name = \(name)", logger: logger)
        }
    }

    public func listTables() async throws -> [TableSchema] {
        try await database.connection { connection in
            var schemas: [TableSchema] = []
            for try await text in try await connection.query("SELECT schema FROM aerie_table_schemas ORDER BY name", logger: logger).decode(String.self) {
                schemas.append(try Self.decodeSchema(text))
            }
            return schemas
        }
    }

    public func table(_ name: String) async throws -> TableSchema? {
        try await database.connection { connection in try await Self.schema(connection, name: name, logger: logger) }
    }

    // MARK: - Items

    @discardableResult
    public func put(table name: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        let text = JSONValue.object(item).encodedString()
        let stored = try await database.transaction { connection in
            let schema = try await Self.existing(connection, name: name, logger: logger)
            let key = try schema.key(of: item)
            let pk = key.partition.sortable
            let sk = key.sort?.sortable ?? ""
            let now = Date()
            try await Self.lock(connection, table: name, pk: pk, sk: sk, logger: logger)
            let current = try await Self.currentVersion(connection, table: name, pk: pk, sk: sk, now: now, logger: logger)
            try condition.check(currentVersion: current, table: name)
            let stored = StoredItem(item: item, version: (current ?? 0) + 1, owner: owner, updatedAt: now)
            let expires = schema.expiry(of: item)?.timeIntervalSince1970
            try await connection.query("""
                INSERT INTO aerie_table_items (tbl, pk, sk, item, version, owner, updated_at, expires_at)
                VALUES (\(name), \(pk), \(sk), \(text)::jsonb, \(stored.version), \(owner), \(now.timeIntervalSince1970), \(expires))
                ON CONFLICT (tbl, pk, sk) DO UPDATE SET item = excluded.item, version = excluded.version, owner = excluded.owner,
                    updated_at = excluded.updated_at, expires_at = excluded.expires_at
                """, logger: logger)
            if !schema.indexes.isEmpty {
                try await connection.query("DELETE FROM aerie_table_index_entries WHERE tbl = \(name) AND pk = \(pk) AND sk = \(sk)", logger: logger)
                for index in schema.indexes {
                    guard let indexKey = schema.indexKey(of: item, index: index) else { continue }
                    try await connection.query("""
                        INSERT INTO aerie_table_index_entries (tbl, idx, ipk, isk, pk, sk)
                        VALUES (\(name), \(index.name), \(indexKey.partition.sortable), \(indexKey.sort?.sortable ?? ""), \(pk), \(sk))
                        """, logger: logger)
                }
            }
            return stored
        }
        CrashPoint.reach("table.written", name)
        return stored
    }

    public func get(table name: String, key: ItemKey) async throws -> StoredItem? {
        try await database.connection { connection in
            let schema = try await Self.existing(connection, name: name, logger: logger)
            let (pk, sk) = try schema.sortableKey(key)
            let rows = try await connection.query("""
                SELECT item::text, version, owner, updated_at FROM aerie_table_items
                WHERE tbl = \(name) AND pk = \(pk) AND sk = \(sk) AND (expires_at IS NULL OR expires_at > \(Date().timeIntervalSince1970))
                """, logger: logger)
            for try await (item, version, owner, updated) in rows.decode((String, Int64, String?, Double).self) {
                return try Self.storedItem(item: item, version: version, owner: owner, updatedAt: updated)
            }
            return nil
        }
    }

    @discardableResult
    public func delete(table name: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        try await database.transaction { connection in
            let schema = try await Self.existing(connection, name: name, logger: logger)
            let (pk, sk) = try schema.sortableKey(key)
            try await Self.lock(connection, table: name, pk: pk, sk: sk, logger: logger)
            let current = try await Self.currentVersion(connection, table: name, pk: pk, sk: sk, now: Date(), logger: logger)
            try condition.check(currentVersion: current, table: name)
            try await connection.query("DELETE FROM aerie_table_index_entries WHERE tbl = \(name) AND pk = \(pk) AND sk = \(sk)", logger: logger)
            try await connection.query("DELETE FROM aerie_table_items WHERE tbl = \(name) AND pk = \(pk) AND sk = \(sk)", logger: logger)
            return current != nil
        }
    }

    public func query(table name: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        let start = try query.sortablePosition()
        return try await database.connection { connection in
            let schema = try await Self.existing(connection, name: name, logger: logger)
            let index = try schema.index(for: query)
            return try await Self.scan(connection, table: name, index: index, query: query, after: start, logger: logger)
        }
    }

    @discardableResult
    public func purgeExpired(now: Date) async throws -> Int {
        let seconds = now.timeIntervalSince1970
        return try await database.transaction { connection in
            try await connection.query("""
                DELETE FROM aerie_table_index_entries e USING aerie_table_items i
                WHERE i.tbl = e.tbl AND i.pk = e.pk AND i.sk = e.sk AND i.expires_at IS NOT NULL AND i.expires_at <= \(seconds)
                """, logger: logger)
            let rows = try await connection.query("""
                WITH gone AS (DELETE FROM aerie_table_items WHERE expires_at IS NOT NULL AND expires_at <= \(seconds) RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger)
            var count = 0
            for try await removed in rows.decode(Int64.self) { count = Int(removed) }
            return count
        }
    }

    // MARK: - Internals

    /// Reads matching items in (sort, partition, primary sort) order, `limit + 1` at most, applying the filter.
    private static func scan(_ connection: PostgresConnection, table: String, index: TableSchema.Index?, query: TableQuery,
                             after: [String]?, logger: Logger) async throws -> Page<StoredItem> {
        // The position columns: the sort value under the queried key, then the item's primary key.
        let (sortColumn, pkColumn, skColumn): (String, String, String)
        var base = SQLStatement()
        if let index {
            (sortColumn, pkColumn, skColumn) = ("e.isk", "e.pk", "e.sk")
            base.sql = """
                SELECT e.isk, e.pk, e.sk, i.item::text, i.version, i.owner, i.updated_at
                FROM aerie_table_index_entries e JOIN aerie_table_items i ON i.tbl = e.tbl AND i.pk = e.pk AND i.sk = e.sk
                WHERE e.tbl = \(base.bind(table)) AND e.idx = \(base.bind(index.name)) AND e.ipk = \(base.bind(query.partition.sortable))
                """
        } else {
            (sortColumn, pkColumn, skColumn) = ("i.sk", "i.pk", "i.sk")
            base.sql = """
                SELECT i.sk, i.pk, i.sk, i.item::text, i.version, i.owner, i.updated_at
                FROM aerie_table_items i
                WHERE i.tbl = \(base.bind(table)) AND i.pk = \(base.bind(query.partition.sortable))
                """
        }
        base.sql += " AND (i.expires_at IS NULL OR i.expires_at > \(base.bind(Date().timeIntervalSince1970)))"
        if let owner = query.owner {
            base.sql += " AND i.owner = \(base.bind(owner))"
        }
        if let sort = query.sort {
            switch sort {
            case .equal(let value): base.sql += " AND \(sortColumn) = \(base.bind(value.sortable))"
            case .lessThan(let value): base.sql += " AND \(sortColumn) < \(base.bind(value.sortable))"
            case .lessThanOrEqual(let value): base.sql += " AND \(sortColumn) <= \(base.bind(value.sortable))"
            case .greaterThan(let value): base.sql += " AND \(sortColumn) > \(base.bind(value.sortable))"
            case .greaterThanOrEqual(let value): base.sql += " AND \(sortColumn) >= \(base.bind(value.sortable))"
            case .between(let low, let high):
                base.sql += " AND \(sortColumn) >= \(base.bind(low.sortable)) AND \(sortColumn) <= \(base.bind(high.sortable))"
            case .beginsWith(let prefix):
                let stored = KeyValue.string(prefix).sortable
                let placeholder = base.bind(stored)
                base.sql += " AND \(sortColumn) >= \(placeholder) AND left(\(sortColumn), length(\(placeholder))) = \(placeholder)"
            }
        }
        let direction = query.descending ? "DESC" : "ASC"
        let comparison = query.descending ? "<" : ">"
        let batch = query.filter.isEmpty ? query.limit + 1 : max(query.limit + 1, 100)

        var position = after
        var matches: [(position: [String], item: StoredItem)] = []
        while matches.count <= query.limit {
            var statement = base
            if let position {
                statement.sql += " AND (\(sortColumn), \(pkColumn), \(skColumn)) \(comparison) (\(statement.bind(position[0])), \(statement.bind(position[1])), \(statement.bind(position[2])))"
            }
            statement.sql += " ORDER BY \(sortColumn) \(direction), \(pkColumn) \(direction), \(skColumn) \(direction) LIMIT \(statement.bind(batch))"
            var count = 0
            let rows = try await connection.query(statement.query, logger: logger)
            for try await (sortValue, pk, sk, text, version, owner, updated) in rows.decode((String, String, String, String, Int64, String?, Double).self) {
                count += 1
                position = [sortValue, pk, sk]
                if matches.count > query.limit { continue }
                let item = try storedItem(item: text, version: version, owner: owner, updatedAt: updated)
                if !query.filter.allSatisfy({ item.item[$0.key] == $0.value }) { continue }
                matches.append(([sortValue, pk, sk], item))
            }
            if count < batch { break }
        }
        let page = matches.prefix(query.limit)
        let next = matches.count > query.limit ? page.last.map { Base64URL.encodeCursor($0.position) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    /// Serializes writers of one item across connections and nodes until the transaction ends.
    private static func lock(_ connection: PostgresConnection, table: String, pk: String, sk: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(table + "\u{1F}" + pk + "\u{1F}" + sk), 1))", logger: logger)
    }

    private static func schema(_ connection: PostgresConnection, name: String, logger: Logger) async throws -> TableSchema? {
        let rows = try await connection.query("SELECT schema FROM aerie_table_schemas WHERE name = \(name)", logger: logger)
        for try await text in rows.decode(String.self) { return try decodeSchema(text) }
        return nil
    }

    private static func existing(_ connection: PostgresConnection, name: String, logger: Logger) async throws -> TableSchema {
        guard let schema = try await schema(connection, name: name, logger: logger) else {
            throw AerieError.notFound("Table \"\(name)\" does not exist. Create it first.")
        }
        return schema
    }

    /// The version of the live (not expired) item with this key, or nil.
    private static func currentVersion(_ connection: PostgresConnection, table: String, pk: String, sk: String, now: Date,
                                       logger: Logger) async throws -> Int64? {
        let rows = try await connection.query("""
            SELECT version FROM aerie_table_items
            WHERE tbl = \(table) AND pk = \(pk) AND sk = \(sk) AND (expires_at IS NULL OR expires_at > \(now.timeIntervalSince1970))
            """, logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        return nil
    }

    private static func storedItem(item text: String, version: Int64, owner: String?, updatedAt: Double) throws -> StoredItem {
        guard case .object(let item) = try JSONValue.parse(bytes: text.utf8) else {
            throw AerieError(.internal, "A stored table item is not a JSON object. The database may be damaged; restore it from a backup.")
        }
        return StoredItem(item: item, version: version, owner: owner, updatedAt: Date(timeIntervalSince1970: updatedAt))
    }

    private static func encode(_ schema: TableSchema) throws -> String {
        String(decoding: try JSONCoding.encode(schema), as: UTF8.self)
    }

    private static func decodeSchema(_ text: String) throws -> TableSchema {
        try JSONCoding.decode(TableSchema.self, from: Data(text.utf8))
    }
}

import AerieCore
import Foundation
import GRDB

/// Reads an embedded data directory's rows for `aerie migrate --to` (see ``StorageRows``), while no other process
/// has the directory open: a migration copies a deployment that stands still, so nothing written during the copy is
/// left behind. It holds the object folder's open lock exclusively until it is released, so an `aerie serve` started
/// on the directory meanwhile waits for the copy to end.
public final class EmbeddedExport: Sendable {
    public let directory: URL
    private let database: SQLiteDatabase
    private let presence: FileLock

    /// The folder of the object bodies the `objects` rows name in their `body` (SQLite: `file`) column.
    public var objectsDirectory: URL { directory.appendingPathComponent(EmbeddedStorage.objectsFolder, isDirectory: true) }
    /// The vector collections (a `FileVectorStore` folder).
    public var vectorsDirectory: URL { directory.appendingPathComponent(EmbeddedStorage.vectorsFolder, isDirectory: true) }

    /// Opens `directory`, which must hold an Aerie database, and takes it for the copy. Throws `.conflict` when a
    /// process (the server, a backup) has it open.
    public init(directory: URL) throws {
        self.directory = directory
        let file = directory.appendingPathComponent(SQLiteDatabase.fileName)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw AerieError.notFound("\(directory.path) holds no Aerie database (\(SQLiteDatabase.fileName)). Give the data directory of the deployment to move with --data.")
        }
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent(EmbeddedStorage.objectsFolder, isDirectory: true), withIntermediateDirectories: true)
        presence = try FileLock(url: directory.appendingPathComponent(EmbeddedStorage.objectsFolder).appendingPathComponent(".open.lock"))
        guard presence.tryLock(exclusive: true) else {
            throw AerieError(.conflict, "Another process (an `aerie serve` or `aerie backup`) is using \(directory.path). Stop it first: a migration copies a deployment that no one writes to.")
        }
        database = try SQLiteDatabase(url: file)
        try database.migrate()
    }

    /// The columns of `table` as the database has them (to check them against ``StorageRows``).
    public func columns(of table: String) async throws -> [String] {
        try await database.read { db in try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table]).map { $0["name"] } }
    }

    /// The database's own tables (not SQLite's, not the migrations' record).
    public func tableNames() async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
        }
    }

    /// The number of rows in `table`.
    public func count(_ table: StorageRows.Table) async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0 }
    }

    /// Up to `limit` rows of `table` in key order, after the row whose key is `after` (nil: from the first), with
    /// their values in `table.columns`' order (times in seconds since 1970).
    func rows(_ table: StorageRows.Table, after: [StorageRows.Value]?, limit: Int) async throws -> [[StorageRows.Value]] {
        let columns = table.columns.map(\.sourceName).joined(separator: ", ")
        let key = table.key.joined(separator: ", ")
        let placeholders = table.key.map { _ in "?" }.joined(separator: ", ")
        let filter = after == nil ? "" : "WHERE (\(key)) > (\(placeholders))"
        let sql = "SELECT \(columns) FROM \(table.name) \(filter) ORDER BY \(key) LIMIT \(limit)"
        let arguments = StatementArguments((after ?? []).map(Self.databaseValue))
        return try await database.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                table.columns.indices.map { index in Self.value(row[index] as DatabaseValue, kind: table.columns[index].kind) }
            }
        }
    }

    /// Calls `body` with every row of `table`, a page of up to `pageSize` rows at a time, in key order.
    public func forEachPage(of table: StorageRows.Table, pageSize: Int = 1_000,
                            _ body: ([[StorageRows.Value]]) async throws -> Void) async throws {
        let keyColumns = table.key.map { name in table.columns.firstIndex { $0.sourceName == name }! }
        var after: [StorageRows.Value]?
        while true {
            let page = try await rows(table, after: after, limit: pageSize)
            guard let last = page.last else { return }
            after = keyColumns.map { last[$0] }
            try await body(page)
        }
    }

    private static func value(_ stored: DatabaseValue, kind: StorageRows.Kind) -> StorageRows.Value {
        switch stored.storage {
        case .null: return .null
        case .int64(let value):
            switch kind {
            case .real: return .real(Double(value))
            case .time: return .real(Date(storedSeconds: Double(value)).timeIntervalSince1970)
            default: return .integer(value)
            }
        case .double(let value):
            return kind == .time ? .real(Date(storedSeconds: value).timeIntervalSince1970) : .real(value)
        case .string(let value): return .text(value)
        case .blob(let data): return kind == .text || kind == .json ? .text(String(decoding: data, as: UTF8.self)) : .blob(Array(data))
        }
    }

    private static func databaseValue(_ value: StorageRows.Value) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let value): Data(value).databaseValue
        }
    }
}

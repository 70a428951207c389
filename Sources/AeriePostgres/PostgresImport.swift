import AerieCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

extension PostgresStorage {
    /// The tables of ``StorageRows`` that hold rows: none in a database no deployment has written to.
    public func tablesWithRows() async throws -> [String] {
        try await database.connection { connection in
            var found: [String] = []
            for table in StorageRows.tables {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(table.targetName))"), logger: database.logger)
                for try await exists in rows.decode(Bool.self) where exists { found.append(table.targetName) }
            }
            return found
        }
    }

    /// The columns of `table` as the database has them (to check them against ``StorageRows``).
    public func columns(of table: String) async throws -> [String] {
        try await database.connection { connection in
            var names: [String] = []
            let rows = try await connection.query("""
                SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)
                ORDER BY ordinal_position
                """, logger: database.logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
    }

    /// Runs `fill` in one transaction that it fills through a ``PostgresRowImporter``: all its rows commit, or none.
    /// Returns what `fill` returned.
    public func importRows<Result: Sendable>(_ fill: @Sendable (PostgresRowImporter) async throws -> Result) async throws -> Result {
        let logger = database.logger
        return try await database.transaction { connection in
            let importer = PostgresRowImporter(connection: connection, logger: logger)
            let result = try await fill(importer)
            // Sequences continue after the copied rows, so new messages sort after them.
            for table in StorageRows.tables {
                guard let serial = table.serial else { continue }
                try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table.targetName)', '\(serial)'),
                                  GREATEST((SELECT max(\(serial)) FROM \(table.targetName)), 1))
                    """), logger: logger)
            }
            return result
        }
    }
}

/// Inserts rows of ``StorageRows`` tables inside the transaction of ``PostgresStorage/importRows(_:)``.
public struct PostgresRowImporter: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Inserts `rows` (values in `table.columns`' order, times in seconds since 1970) into `table`.
    public func insert(_ table: StorageRows.Table, rows: [[StorageRows.Value]]) async throws {
        // A few hundred rows a statement: PostgreSQL takes at most 65,535 parameters.
        let perStatement = max(1, 8_000 / table.columns.count)
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(start + perStatement, rows.count)]
            var statement = SQLStatement()
            let tuples = batch.map { row -> String in
                let values = zip(table.columns, row).map { column, value -> String in
                    let placeholder = Self.bind(value, into: &statement)
                    return column.kind == .json && value != .null ? placeholder + "::jsonb" : placeholder
                }
                return "(" + values.joined(separator: ", ") + ")"
            }
            statement.sql = "INSERT INTO \(table.targetName) (\(table.columns.map(\.name).joined(separator: ", "))) VALUES "
                + tuples.joined(separator: ", ")
            try await connection.query(statement.query, logger: logger)
            start += perStatement
        }
    }

    /// Appends `events` to `topic` (after what the copied rows hold).
    public func append(topic: String, events: [OutgoingEvent]) async throws {
        _ = try await PostgresEventLog.append(connection, topic: topic, events: events, now: Date(), logger: logger)
    }

    private static func bind(_ value: StorageRows.Value, into statement: inout SQLStatement) -> String {
        switch value {
        case .null:
            statement.binds.appendNull()
            return "$\(statement.binds.count)"
        case .integer(let value): return statement.bind(value)
        case .real(let value): return statement.bind(value)
        case .text(let value): return statement.bind(value)
        case .blob(let value): return statement.bind(ByteBuffer(bytes: value))
        }
    }
}

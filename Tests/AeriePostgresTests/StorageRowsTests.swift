import AerieCore
import AeriePostgres
import AerieSQLite
import AerieTesting
import Foundation
import Testing

/// `aerie migrate --to` copies the rows ``StorageRows`` describes: a column added to either database and not to the
/// layout would be lost on the way, so the layout must name exactly the columns of both.
@Suite(.enabled(if: ScratchPostgres.unavailableReason == nil, Comment(rawValue: ScratchPostgres.unavailableReason ?? "")))
struct StorageRowsTests {
    @Test("The layout names every column of the SQLite and the PostgreSQL tables, and every table")
    func layoutMatchesBothDatabases() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-layout-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try EmbeddedStorage.migrate(directory: directory)
        let source = try EmbeddedExport(directory: directory)
        let bodies = try DirectoryBodyStore(directory: directory.appendingPathComponent("bodies"))
        let target = try await PostgresStorage.open(url: try ScratchPostgres.shared().createDatabase(), bodies: bodies)
        defer { target.close() }
        for table in StorageRows.tables {
            #expect(Set(try await source.columns(of: table.name)) == Set(table.columns.map(\.sourceName)), "SQLite \(table.name)")
            #expect(Set(try await target.columns(of: table.targetName)) == Set(table.columns.map(\.name)), "PostgreSQL \(table.targetName)")
        }
        #expect(try await target.tablesWithRows().isEmpty)
        // Every table of the SQLite database is in the layout (a new primitive's table would otherwise stay behind).
        let named = Set(StorageRows.tables.map(\.name))
        for table in try await source.tableNames() {
            #expect(named.contains(table), "SQLite table \(table) is not in StorageRows")
        }
    }

    @Test("A data directory in use by another process is refused")
    func refusesAnOpenDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-layout-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let running = try EmbeddedStorage(directory: directory)
        #expect(throws: AerieError.self) { try EmbeddedExport(directory: directory) }
        _ = running
    }
}

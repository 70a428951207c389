import AerieCore
import AeriePostgres
import AerieSQLite
import AerieVectors
import Foundation

/// Moves an embedded deployment (a data directory) onto PostgreSQL and an object store: `aerie migrate --to`.
///
/// The two databases have twin layouts (``StorageRows``), so the move copies rows: users, keys, sessions, the token
/// secret, tables, queued messages, the event log with every consumer group's position (so triggers carry on where
/// they were instead of firing again), invocation records and app state. Object bodies go to the body store first;
/// then every row commits in one PostgreSQL transaction, so a move that fails part-way leaves the database empty (and
/// bodies no row names, which the nodes' sweeper removes). Vector collections become writes in the `aerie.vectors`
/// topic, which every node of the new deployment replays. The data directory is only read.
struct DeploymentMigration {
    let source: EmbeddedExport
    let target: PostgresStorage
    let bodies: any ObjectBodyStore
    let progress: ProgressLine

    struct Summary: CustomStringConvertible {
        var rows = 0
        var objects = 0
        var bytes: Int64 = 0
        var collections = 0
        var vectors = 0

        var description: String {
            "\(rows) rows, \(objects) objects (\(ByteSize(bytes))), \(collections) vector collections (\(vectors) vectors)"
        }
    }

    func run() async throws -> Summary {
        let occupied = try await target.tablesWithRows()
        guard occupied.isEmpty else {
            throw AerieError(.conflict, "The target database already holds a deployment (rows in \(occupied.prefix(3).joined(separator: ", "))). Migrate into a new, empty database (createdb).")
        }
        // A column one side has and the layout does not name would be lost on the way: refuse instead.
        for table in StorageRows.tables {
            let source = Set(try await self.source.columns(of: table.name)), target = Set(try await self.target.columns(of: table.targetName))
            guard source == Set(table.columns.map(\.sourceName)), target == Set(table.columns.map(\.name)) else {
                throw AerieError(.internal, "This version of aerie cannot move table \(table.name): its columns (\(source.sorted()) here, \(target.sorted()) on PostgreSQL) differ from what it copies. This is a bug; please report it.")
            }
        }
        var summary = Summary()
        let (objectRows, written) = try await copyBodies(summary: &summary)
        let vectors = try await vectorEvents(summary: &summary)
        do {
            let counted = try await copyRows(objects: objectRows, vectors: vectors)
            summary.rows = counted
        } catch {
            for name in written { await bodies.remove(name) }
            throw error
        }
        return summary
    }

    /// Copies every object's body to the body store; returns the objects' rows naming the new bodies, and the names.
    private func copyBodies(summary: inout Summary) async throws -> (rows: [[StorageRows.Value]], written: [String]) {
        guard let table = StorageRows.tables.first(where: { $0.name == StorageRows.objectsTable }),
              let bodyColumn = table.index(of: "body"), let sizeColumn = table.index(of: "size"),
              let bucketColumn = table.index(of: "bucket"), let keyColumn = table.index(of: "key") else {
            throw AerieError(.internal, "The storage layout has no objects table.")
        }
        let total = try await source.count(table)
        let sourceBodies = try DirectoryBodyStore(directory: source.objectsDirectory)
        var rows: [[StorageRows.Value]] = []
        var written: [String] = []
        do {
            try await source.forEachPage(of: table) { page in
                for var row in page {
                    guard let file = row[bodyColumn].text, let size = row[sizeColumn].integer,
                          let bucket = row[bucketColumn].text, let key = row[keyColumn].text else {
                        throw AerieError(.internal, "An object row in \(source.directory.path) is damaged.")
                    }
                    let description = "object \"\(key)\" in bucket \"\(bucket)\""
                    guard let chunks = try await sourceBodies.open(file, range: nil, size: size, description: description) else {
                        throw AerieError(.notFound, "The file of \(description) is missing from \(source.objectsDirectory.path): the data directory is damaged. Restore it from a backup (aerie restore) and migrate again.")
                    }
                    let stored = try await bodies.write(bucket: bucket, key: key, body: chunks, maxSize: .max)
                    written.append(stored.name)
                    guard stored.size == size else {
                        throw AerieError(.internal, "The file of \(description) holds \(stored.size) bytes, not the \(size) its metadata says: the data directory is damaged.")
                    }
                    row[bodyColumn] = .text(stored.name)
                    rows.append(row)
                    summary.objects += 1
                    summary.bytes += size
                    progress.update("objects \(summary.objects)/\(total) (\(ByteSize(summary.bytes)))")
                }
            }
        } catch {
            for name in written { await bodies.remove(name) }
            throw error
        }
        return (rows, written)
    }

    /// The `aerie.vectors` events that recreate every vector collection.
    private func vectorEvents(summary: inout Summary) async throws -> [OutgoingEvent] {
        guard FileManager.default.fileExists(atPath: source.vectorsDirectory.path) else { return [] }
        let store = try FileVectorStore(directory: source.vectorsDirectory)
        var events: [OutgoingEvent] = []
        for info in try await store.collections() {
            guard let index = try await store.collection(info.name) as? VectorIndex else { continue }
            let records = try await index.allRecords()
            events += try ReplicatedVectorStore.copyEvents(of: info, records: records)
            summary.collections += 1
            summary.vectors += records.count
            progress.update("vector collections \(summary.collections) (\(summary.vectors) vectors)")
        }
        return events
    }

    /// Copies every table's rows (objects: `objects`) and appends `vectors`, in one transaction; returns the row count.
    private func copyRows(objects: [[StorageRows.Value]], vectors: [OutgoingEvent]) async throws -> Int {
        let source = self.source, progress = self.progress
        return try await target.importRows { importer in
            var copied = 0
            for table in StorageRows.tables {
                if table.name == StorageRows.objectsTable {
                    try await importer.insert(table, rows: objects)
                    copied += objects.count
                    continue
                }
                try await source.forEachPage(of: table) { page in
                    try await importer.insert(table, rows: page)
                    copied += page.count
                    progress.update("rows \(copied) (\(table.name))")
                }
            }
            if !vectors.isEmpty {
                try await importer.append(topic: ReplicatedVectorStore.topic, events: vectors)
            }
            return copied
        }
    }
}

/// Bytes for people: 1.5 MB, 320 kB, 12 B.
struct ByteSize: CustomStringConvertible {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }

    var description: String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}

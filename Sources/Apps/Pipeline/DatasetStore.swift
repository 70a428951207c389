import AerieCore
import Foundation

/// The dataset versions in table `pipeline_datasets`: partition `dataset` (`<owner>/<name>`), sort `version`, and
/// index `by_owner` to list one user's datasets.
struct DatasetStore: Sendable {
    static let schema = TableSchema(
        name: "pipeline_datasets", partitionKey: "dataset", sortKey: "version",
        indexes: [.init(name: "by_owner", partitionKey: "owner", sortKey: "dataset")]
    )

    let tables: any TableStore

    private func itemKey(owner: String, name: String, version: Int) -> ItemKey {
        ItemKey(partition: .string(DatasetRecord.key(owner: owner, name: name)), sort: .number(Double(version)))
    }

    func get(owner: String, name: String, version: Int) async throws -> (record: DatasetRecord, version: Int64)? {
        guard let stored = try await tables.get(table: Self.schema.name, key: itemKey(owner: owner, name: name, version: version)) else {
            return nil
        }
        return (try PipelineJSON.decode(DatasetRecord.self, from: .object(stored.item)), stored.version)
    }

    /// Every version of a dataset, oldest first.
    func versions(owner: String, name: String) async throws -> [DatasetRecord] {
        var records: [DatasetRecord] = []
        var cursor: String?
        repeat {
            let page = try await tables.query(table: Self.schema.name, TableQuery(
                partition: .string(DatasetRecord.key(owner: owner, name: name)), limit: 500, cursor: cursor))
            records += try page.items.map { try PipelineJSON.decode(DatasetRecord.self, from: .object($0.item)) }
            cursor = page.nextCursor
        } while cursor != nil
        return records
    }

    /// Every version of every dataset of `owner`, grouped by name (names sorted, versions oldest first).
    func all(owner: String) async throws -> [(name: String, versions: [DatasetRecord])] {
        var records: [DatasetRecord] = []
        var cursor: String?
        repeat {
            let page = try await tables.query(table: Self.schema.name, TableQuery(
                index: "by_owner", partition: .string(owner), limit: 500, cursor: cursor))
            records += try page.items.map { try PipelineJSON.decode(DatasetRecord.self, from: .object($0.item)) }
            cursor = page.nextCursor
        } while cursor != nil
        let grouped = Dictionary(grouping: records, by: \.name)
        return grouped.keys.sorted().map { name in (name, (grouped[name] ?? []).sorted { $0.version < $1.version }) }
    }

    func put(_ record: DatasetRecord, condition: WriteCondition = .none) async throws {
        try await tables.put(table: Self.schema.name, item: try PipelineJSON.object(record),
                             owner: record.owner.isEmpty ? nil : record.owner, condition: condition)
    }

    /// Reads, changes and writes back a version, retrying when another writer got there first.
    @discardableResult
    func update(owner: String, name: String, version: Int, _ change: (inout DatasetRecord) throws -> Void) async throws -> DatasetRecord {
        for _ in 0..<10 {
            guard let (current, itemVersion) = try await get(owner: owner, name: name, version: version) else {
                throw AerieError.notFound("Dataset \(name) has no version \(version) (it may have been deleted).")
            }
            var record = current
            try change(&record)
            do {
                try await put(record, condition: .version(itemVersion))
                return record
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
        }
        throw AerieError(.conflict, "Dataset \(name) version \(version) kept changing while it was being updated; try again.")
    }

    /// Records a new version (the latest plus one) of a dataset in stage `queued`.
    func allocate(owner: String, name: String, options: TrainingRequest, source: DatasetRecord.Source?) async throws -> DatasetRecord {
        for _ in 0..<10 {
            let latest = try await versions(owner: owner, name: name).last?.version ?? 0
            let record = DatasetRecord(owner: owner, name: name, version: latest + 1, options: options, source: source, now: Date())
            do {
                try await put(record, condition: .absent)
                return record
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
        }
        throw AerieError(.conflict, "Dataset \(name) is being uploaded by several requests at once; try again.")
    }

    func delete(owner: String, name: String, version: Int) async throws {
        try await tables.delete(table: Self.schema.name, key: itemKey(owner: owner, name: name, version: version))
    }
}

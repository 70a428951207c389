import Foundation

/// The Tables primitive's front end: checks schemas, table names and query limits once, so the drivers (memory,
/// SQLite, PostgreSQL) carry no copy of the rules. ``Primitives`` wraps every table store in it. Checks that need the
/// stored schema (an item's key attributes, an index's existence) and the drivers' own cursors stay with the drivers.
public struct CheckedTableStore: TableStore {
    public let driver: any TableStore
    public var appResources = AppResources()

    /// `store` behind the checks (a store that is already checked is returned as it is).
    public static func wrap(_ store: any TableStore, appResources: AppResources = AppResources()) -> any TableStore {
        store is CheckedTableStore ? store : CheckedTableStore(driver: store, appResources: appResources)
    }

    public func createTable(_ schema: TableSchema) async throws {
        try schema.validate()
        try await driver.createTable(schema)
    }

    public func deleteTable(_ name: String) async throws {
        try Self.validateTable(name)
        try appResources.checkDeletable(.table, name)
        try await driver.deleteTable(name)
    }

    public func listTables() async throws -> [TableSchema] {
        try await driver.listTables()
    }

    public func table(_ name: String) async throws -> TableSchema? {
        try Self.validateTable(name)
        return try await driver.table(name)
    }

    public func put(table: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem {
        try Self.validateTable(table)
        return try await driver.put(table: table, item: item, owner: owner, condition: condition)
    }

    public func get(table: String, key: ItemKey) async throws -> StoredItem? {
        try Self.validateTable(table)
        return try await driver.get(table: table, key: key)
    }

    public func delete(table: String, key: ItemKey, condition: WriteCondition) async throws -> Bool {
        try Self.validateTable(table)
        return try await driver.delete(table: table, key: key, condition: condition)
    }

    public func query(table: String, _ query: TableQuery) async throws -> Page<StoredItem> {
        try Self.validateTable(table)
        guard query.limit >= 1 else {
            throw AerieError.invalid("limit must be at least 1 (got \(query.limit)).", field: "limit")
        }
        return try await driver.query(table: table, query)
    }

    public func purgeExpired(now: Date) async throws -> Int {
        try await driver.purgeExpired(now: now)
    }

    static func validateTable(_ name: String) throws {
        try TableSchema.validateName(name, what: "Table name", field: "table")
    }
}

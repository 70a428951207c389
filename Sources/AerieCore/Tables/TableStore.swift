import Foundation

/// A key value: tables accept strings and numbers as partition and sort keys.
public enum KeyValue: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    case string(String)
    case number(Double)

    public init(_ json: JSONValue, attribute: String) throws {
        switch json {
        case .string(let value): self = .string(value)
        case .number(let value): self = .number(value)
        default:
            throw AerieError.invalid("Key attribute \"\(attribute)\" must be a string or a number.", field: "/\(attribute)")
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    public var json: JSONValue {
        switch self {
        case .string(let value): .string(value)
        case .number(let value): .number(value)
        }
    }

    /// Numbers sort before strings; numbers numerically, strings by UTF-8 bytes.
    public static func < (lhs: KeyValue, rhs: KeyValue) -> Bool {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): a < b
        case (.string(let a), .string(let b)): Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        case (.number, .string): true
        case (.string, .number): false
        }
    }

    /// A string whose byte order is the order of the values, for storage engines that index text.
    /// Numbers become `n` + 16 hex digits of an order-preserving transform of the IEEE bits; strings `s` + the string.
    public var sortable: String {
        switch self {
        case .string(let value):
            return "s" + value
        case .number(let value):
            let bits = value.bitPattern
            let ordered = (bits & (1 << 63)) != 0 ? ~bits : bits | (1 << 63)
            let hex = String(ordered, radix: 16)
            return "n" + String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .number(let value): value.rounded() == value ? String(Int64(value)) : String(value)
        }
    }
}

/// The primary key of an item.
public struct ItemKey: Sendable, Hashable, Codable {
    public var partition: KeyValue
    public var sort: KeyValue?
    public init(partition: KeyValue, sort: KeyValue? = nil) {
        self.partition = partition
        self.sort = sort
    }
}

/// An item as stored: its JSON object, its version (1 on first write, +1 on each), its owner.
public struct StoredItem: Sendable, Hashable, Codable {
    public var item: [String: JSONValue]
    public var version: Int64
    public var owner: String?
    public var updatedAt: Date
    public init(item: [String: JSONValue], version: Int64, owner: String?, updatedAt: Date) {
        self.item = item
        self.version = version
        self.owner = owner
        self.updatedAt = updatedAt
    }
}

/// A condition on a write; a failed condition throws `.conditionFailed`.
public enum WriteCondition: Sendable, Hashable {
    case none
    /// Only if no item with this key exists.
    case absent
    /// Only if the item exists with exactly this version.
    case version(Int64)
}

extension WriteCondition {
    /// Checks the condition against the version of the live item with the same key (nil when there is none);
    /// throws `.conditionFailed` saying what to do. Every driver's conditional write calls this.
    public func check(currentVersion current: Int64?, table: String) throws {
        switch self {
        case .none:
            return
        case .absent:
            if current != nil {
                throw AerieError(.conditionFailed, "An item with this key already exists in table \"\(table)\". Read it and update it with its version instead.")
            }
        case .version(let expected):
            guard let current else {
                throw AerieError(.conditionFailed, "No item with this key exists in table \"\(table)\", so version \(expected) cannot match.")
            }
            if current != expected {
                throw AerieError(.conditionFailed, "The item is at version \(current), not \(expected): it changed since it was read. Read it again and retry.")
            }
        }
    }
}

/// A condition on the sort key in a query.
public enum SortCondition: Sendable, Hashable {
    case equal(KeyValue)
    case lessThan(KeyValue)
    case lessThanOrEqual(KeyValue)
    case greaterThan(KeyValue)
    case greaterThanOrEqual(KeyValue)
    case between(KeyValue, KeyValue)
    case beginsWith(String)

    public func matches(_ value: KeyValue?) -> Bool {
        guard let value else { return false }
        switch self {
        case .equal(let other): return value == other
        case .lessThan(let other): return value < other
        case .lessThanOrEqual(let other): return value <= other
        case .greaterThan(let other): return value > other
        case .greaterThanOrEqual(let other): return value >= other
        case .between(let low, let high): return low <= value && value <= high
        case .beginsWith(let prefix):
            if case .string(let text) = value { return text.hasPrefix(prefix) }
            return false
        }
    }
}

/// A query: items of one partition of the table or of one of its indexes, in sort-key order.
public struct TableQuery: Sendable, Hashable {
    /// Query this secondary index instead of the primary key.
    public var index: String?
    public var partition: KeyValue
    public var sort: SortCondition?
    /// Only items with this owner (for per-user scoping).
    public var owner: String?
    /// Only items whose top-level attributes equal these values (applied after the key condition).
    public var filter: [String: JSONValue]
    public var descending: Bool
    public var limit: Int
    public var cursor: String?

    public init(index: String? = nil, partition: KeyValue, sort: SortCondition? = nil, owner: String? = nil,
                filter: [String: JSONValue] = [:], descending: Bool = false, limit: Int = 100, cursor: String? = nil) {
        self.index = index
        self.partition = partition
        self.sort = sort
        self.owner = owner
        self.filter = filter
        self.descending = descending
        self.limit = limit
        self.cursor = cursor
    }
}

/// A page of results with the cursor for the next one (nil on the last page).
public struct Page<Element: Sendable>: Sendable {
    public var items: [Element]
    public var nextCursor: String?
    public init(items: [Element], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Equatable where Element: Equatable {}

/// The Tables primitive: DynamoDB-like tables of JSON items.
///
/// Items are JSON objects; the schema names the key attributes, which every item must carry as a string or number.
/// Writes can be conditional; every write bumps the item's version. Items may carry an owner, and queries can be
/// scoped by it. Items whose TTL attribute is in the past are invisible to reads and removed eventually.
public protocol TableStore: Sendable {
    /// Creates a table; creating an identical one again is a no-op, a different one with the same name is `.alreadyExists`.
    func createTable(_ schema: TableSchema) async throws
    func deleteTable(_ name: String) async throws
    func listTables() async throws -> [TableSchema]
    func table(_ name: String) async throws -> TableSchema?

    /// Writes an item (replacing any with the same key) and returns it as stored.
    @discardableResult
    func put(table: String, item: [String: JSONValue], owner: String?, condition: WriteCondition) async throws -> StoredItem
    func get(table: String, key: ItemKey) async throws -> StoredItem?
    /// Deletes an item; returns whether it existed. A `.version` condition must match.
    @discardableResult
    func delete(table: String, key: ItemKey, condition: WriteCondition) async throws -> Bool
    func query(table: String, _ query: TableQuery) async throws -> Page<StoredItem>
    /// Removes items whose TTL has passed; returns how many.
    @discardableResult
    func purgeExpired(now: Date) async throws -> Int
}

extension TableStore {
    @discardableResult
    public func put(table: String, item: [String: JSONValue], owner: String? = nil) async throws -> StoredItem {
        try await put(table: table, item: item, owner: owner, condition: .none)
    }

    @discardableResult
    public func delete(table: String, key: ItemKey) async throws -> Bool {
        try await delete(table: table, key: key, condition: .none)
    }

    /// Creates the table unless an identical one exists.
    public func ensureTable(_ schema: TableSchema) async throws {
        try await createTable(schema)
    }
}

extension TableSchema {
    /// The primary key of `item` under this schema; throws naming the missing or mistyped attribute.
    public func key(of item: [String: JSONValue]) throws -> ItemKey {
        guard let partition = item[partitionKey] else {
            throw AerieError.invalid("The item has no partition key attribute \"\(partitionKey)\".", field: "/\(partitionKey)")
        }
        let partitionValue = try KeyValue(partition, attribute: partitionKey)
        guard let sortKey else { return ItemKey(partition: partitionValue) }
        guard let sort = item[sortKey] else {
            throw AerieError.invalid("The item has no sort key attribute \"\(sortKey)\".", field: "/\(sortKey)")
        }
        return ItemKey(partition: partitionValue, sort: try KeyValue(sort, attribute: sortKey))
    }

    /// The item's expiry, if it has a TTL attribute holding seconds since 1970.
    public func expiry(of item: [String: JSONValue]) -> Date? {
        guard let ttlAttribute, let seconds = item[ttlAttribute]?.numberValue else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// The (partition, sort) an item has under a secondary index, or nil when the item lacks the index's attributes
    /// (sparse indexes, as DynamoDB).
    public func indexKey(of item: [String: JSONValue], index: Index) -> (partition: KeyValue, sort: KeyValue?)? {
        guard let partitionJSON = item[index.partitionKey], let partition = try? KeyValue(partitionJSON, attribute: index.partitionKey) else {
            return nil
        }
        guard let sortAttribute = index.sortKey else { return (partition, nil) }
        guard let sortJSON = item[sortAttribute], let sort = try? KeyValue(sortJSON, attribute: sortAttribute) else { return nil }
        return (partition, sort)
    }
}

extension TableSchema {
    /// Checks that `key` has exactly this schema's parts: a sort value when the table has a sort key, none otherwise.
    public func checkKeyShape(_ key: ItemKey) throws {
        switch (sortKey, key.sort) {
        case (.some(let sortKey), nil):
            throw AerieError.invalid("Table \"\(name)\" has sort key \"\(sortKey)\"; give it in the key.", field: "/\(sortKey)")
        case (nil, .some):
            throw AerieError.invalid("Table \"\(name)\" has no sort key; leave the sort value out of the key.", field: "sort")
        default:
            return
        }
    }

    /// `key` as the drivers that index text store it (``KeyValue/sortable``; "" for no sort value), after
    /// ``checkKeyShape(_:)``.
    public func sortableKey(_ key: ItemKey) throws -> (partition: String, sort: String) {
        try checkKeyShape(key)
        return (key.partition.sortable, key.sort?.sortable ?? "")
    }
}

extension TableQuery {
    /// Where a query resumes for the drivers that index text (SQLite, PostgreSQL): the (sort, partition, primary
    /// sort) text of the last item of the previous page, from ``cursor``; nil without one.
    public func sortablePosition() throws -> [String]? {
        guard let cursor else { return nil }
        guard let parts = Base64URL.decodeCursor(cursor, count: 3) else {
            throw AerieError.invalid("The cursor is not one this table returned. Pass back nextCursor unchanged, or leave it out to start over.", field: "cursor")
        }
        return parts
    }
}

extension TableSchema {
    /// The secondary index a query names (nil for the primary key), after checking that it exists and that a sort
    /// condition has a sort key to apply to. Every driver's `query` starts here.
    public func index(for query: TableQuery) throws -> Index? {
        let index: Index?
        if let indexName = query.index {
            guard let found = indexes.first(where: { $0.name == indexName }) else {
                throw AerieError.notFound("Table \"\(name)\" has no index \"\(indexName)\". Declare it in the table's schema.")
            }
            index = found
        } else {
            index = nil
        }
        if query.sort != nil, (index.map(\.sortKey) ?? sortKey) == nil {
            throw AerieError.invalid(
                "\(index.map { "Index \"\($0.name)\"" } ?? "Table \"\(name)\"") has no sort key, so a sort condition cannot apply. Leave it out.",
                field: "sort")
        }
        return index
    }
}

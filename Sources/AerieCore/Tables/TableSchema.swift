/// The shape of a table: which attributes form the key, which secondary indexes exist, which attribute holds the TTL.
public struct TableSchema: Sendable, Hashable, Codable {
    /// A secondary index: items are found by `partitionKey` (and ordered by `sortKey`) of the index.
    public struct Index: Sendable, Hashable, Codable {
        public var name: String
        public var partitionKey: String
        public var sortKey: String?
        public init(name: String, partitionKey: String, sortKey: String? = nil) {
            self.name = name
            self.partitionKey = partitionKey
            self.sortKey = sortKey
        }
    }

    public var name: String
    /// Attribute holding the partition key (a string or a number) of every item.
    public var partitionKey: String
    /// Attribute holding the sort key, if items in a partition are ordered.
    public var sortKey: String?
    public var indexes: [Index]
    /// Attribute holding an expiry time in seconds since 1970; expired items are invisible and purged.
    public var ttlAttribute: String?

    public init(name: String, partitionKey: String, sortKey: String? = nil, indexes: [Index] = [], ttlAttribute: String? = nil) {
        self.name = name
        self.partitionKey = partitionKey
        self.sortKey = sortKey
        self.indexes = indexes
        self.ttlAttribute = ttlAttribute
    }

    /// Checks the table and attribute names: 1–128 characters of letters, digits, `_`, `-`, `.`.
    public func validate() throws {
        try TableSchema.validateName(name, what: "Table name", field: "name")
        try TableSchema.validateName(partitionKey, what: "Partition key attribute", field: "partition_key")
        if let sortKey { try TableSchema.validateName(sortKey, what: "Sort key attribute", field: "sort_key") }
        var seen = Set<String>()
        for index in indexes {
            try TableSchema.validateName(index.name, what: "Index name", field: "indexes")
            guard seen.insert(index.name).inserted else {
                throw AerieError.invalid("Index \"\(index.name)\" is declared twice.", field: "indexes")
            }
        }
    }

    public static func validateName(_ name: String, what: String, field: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 128, allowed else {
            throw AerieError.invalid("\(what) \"\(name)\" is invalid: use 1–128 letters, digits, '_', '-' or '.'.", field: field)
        }
    }
}

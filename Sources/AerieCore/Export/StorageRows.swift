/// The rows a deployment's database holds, described once for `aerie migrate --to`.
///
/// The embedded database (SQLite) and the scale-out one (PostgreSQL) have twin layouts: each PostgreSQL table is the
/// SQLite table of the same name with an `aerie_` prefix, the same columns and the same key encodings (both drivers
/// pass the same conformance suites). So a deployment moves by copying rows, table by table, in ``tables``' order. Two
/// things differ and are converted on the way: times (SQLite keeps seconds since 2001, PostgreSQL since 1970: a
/// ``Value`` carries seconds since 1970) and object bodies (a body is copied to the target's body store first, and the
/// row then names the new body).
public enum StorageRows {
    /// How a column's values are kept.
    public enum Kind: Sendable, Hashable {
        case text
        case integer
        case real
        /// Seconds since 1970 in a ``Value``.
        case time
        /// JSON text (`jsonb` on PostgreSQL).
        case json
        case blob
    }

    public struct Column: Sendable, Hashable {
        /// The name on PostgreSQL.
        public var name: String
        /// The name on SQLite, where it differs.
        public var sourceName: String
        public var kind: Kind

        init(_ name: String, _ kind: Kind, source: String? = nil) {
            self.name = name
            self.kind = kind
            self.sourceName = source ?? name
        }
    }

    public struct Table: Sendable, Hashable {
        /// The SQLite name; PostgreSQL's is ``targetName``.
        public var name: String
        public var columns: [Column]
        /// The key columns (SQLite names): rows are read in this order, a page at a time.
        public var key: [String]
        /// A `bigserial` column whose sequence must continue after the copied rows.
        public var serial: String?

        public var targetName: String { "aerie_" + name }

        init(_ name: String, _ columns: [Column], key: [String], serial: String? = nil) {
            self.name = name
            self.columns = columns
            self.key = key
            self.serial = serial
        }

        public func index(of column: String) -> Int? { columns.firstIndex { $0.name == column } }
    }

    /// One value as it travels between the databases.
    public enum Value: Sendable, Hashable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])

        public var text: String? {
            if case .text(let value) = self { return value }
            return nil
        }

        public var integer: Int64? {
            switch self {
            case .integer(let value): value
            case .real(let value): Int64(exactly: value)
            default: nil
            }
        }
    }

    /// The table holding object metadata; its `body` column names a body in the body store.
    public static let objectsTable = "objects"

    /// Every table of the layout, in the order they are copied (buckets before the objects that reference them).
    public static let tables: [Table] = [
        Table("table_schemas", [Column("name", .text), Column("schema", .text)], key: ["name"]),
        Table("table_items", [
            Column("tbl", .text), Column("pk", .text), Column("sk", .text), Column("item", .json), Column("version", .integer),
            Column("owner", .text), Column("updated_at", .time), Column("expires_at", .time),
        ], key: ["tbl", "pk", "sk"]),
        Table("table_index_entries", [
            Column("tbl", .text), Column("idx", .text), Column("ipk", .text), Column("isk", .text), Column("pk", .text), Column("sk", .text),
        ], key: ["tbl", "idx", "ipk", "isk", "pk", "sk"]),
        Table("queue_configs", [Column("name", .text), Column("config", .text)], key: ["name"]),
        Table("queue_messages", [
            Column("seq", .integer), Column("queue", .text), Column("id", .text), Column("body", .blob), Column("sent_at", .time),
            Column("visible_at", .time), Column("attempts", .integer), Column("receipt", .text), Column("last_error", .text),
        ], key: ["seq"], serial: "seq"),
        Table("queue_dead_letters", [
            Column("seq", .integer), Column("queue", .text), Column("id", .text), Column("body", .blob), Column("attempts", .integer),
            Column("last_error", .text), Column("sent_at", .time), Column("dead_at", .time),
        ], key: ["seq"], serial: "seq"),
        Table("queue_dedup", [
            Column("queue", .text), Column("dedup_id", .text), Column("message_id", .text), Column("expires_at", .time),
        ], key: ["queue", "dedup_id"]),
        Table("event_topics", [Column("name", .text), Column("next_position", .integer)], key: ["name"]),
        Table("events", [
            Column("topic", .text), Column("position", .integer), Column("key", .text), Column("payload", .blob), Column("time", .time),
        ], key: ["topic", "position"]),
        Table("event_consumers", [
            Column("topic", .text), Column("grp", .text), Column("position", .integer), Column("updated_at", .time),
        ], key: ["topic", "grp"]),
        Table("object_buckets", [Column("name", .text), Column("created_at", .time)], key: ["name"]),
        Table(objectsTable, [
            Column("bucket", .text), Column("key", .text), Column("body", .text, source: "file"), Column("size", .integer),
            Column("etag", .text), Column("content_type", .text), Column("metadata", .text), Column("last_modified", .time),
        ], key: ["bucket", "key"]),
    ]
}

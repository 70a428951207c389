import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird

/// The tables primitive over HTTP: `/v1/tables/…`. Conditional writes use `If-None-Match: *` (only if absent)
/// and `If-Match: <version>`; a failed condition is `412`.
struct TableRoutes {
    let tables: any TableStore
    let configuration: GatewayConfiguration

    struct SchemaBody: Codable {
        struct IndexBody: Codable {
            var name: String
            var partitionKey: String
            var sortKey: String?
            enum CodingKeys: String, CodingKey {
                case name
                case partitionKey = "partition_key"
                case sortKey = "sort_key"
            }
        }
        var name: String
        var partitionKey: String
        var sortKey: String?
        var indexes: [IndexBody]?
        var ttlAttribute: String?
        enum CodingKeys: String, CodingKey {
            case name, indexes
            case partitionKey = "partition_key"
            case sortKey = "sort_key"
            case ttlAttribute = "ttl_attribute"
        }

        init(_ schema: TableSchema) {
            name = schema.name
            partitionKey = schema.partitionKey
            sortKey = schema.sortKey
            indexes = schema.indexes.map { IndexBody(name: $0.name, partitionKey: $0.partitionKey, sortKey: $0.sortKey) }
            ttlAttribute = schema.ttlAttribute
        }

        var schema: TableSchema {
            TableSchema(name: name, partitionKey: partitionKey, sortKey: sortKey,
                        indexes: (indexes ?? []).map { TableSchema.Index(name: $0.name, partitionKey: $0.partitionKey, sortKey: $0.sortKey) },
                        ttlAttribute: ttlAttribute)
        }
    }

    struct StoredItemBody: Encodable {
        var item: [String: JSONValue]
        var version: Int64
        var owner: String?
        var updatedAt: Date
        init(_ stored: StoredItem) {
            item = stored.item
            version = stored.version
            owner = stored.owner
            updatedAt = stored.updatedAt
        }
        enum CodingKeys: String, CodingKey {
            case item, version, owner
            case updatedAt = "updated_at"
        }
    }

    struct QueryBody: Decodable {
        struct Sort: Decodable {
            var op: String
            var value: JSONValue
            var value2: JSONValue?
        }
        var index: String?
        var partition: JSONValue
        var sort: Sort?
        var filter: [String: JSONValue]?
        var descending: Bool?
        var limit: Int?
        var cursor: String?
    }

    /// Tables named `aerie_…` hold the platform's own state (users, password hashes, API keys, sessions,
    /// invocation records): only the platform's own services change them, so that every change goes through the
    /// checks and the credential cache's invalidation. Not even admins reach them through this API.
    static let reservedPrefix = "aerie_"

    static func checkNotReserved(_ name: String) throws {
        if name.hasPrefix(reservedPrefix) {
            throw AerieError(.forbidden, "Tables named \(reservedPrefix)… belong to the platform; use /v1/users, /v1/keys and /v1/invocations instead.")
        }
    }

    func schema(_ name: String) async throws -> TableSchema {
        try Self.checkNotReserved(name)
        guard let schema = try await tables.table(name) else {
            throw AerieError.notFound("No table named \"\(name)\"; create it with POST /v1/tables.")
        }
        return schema
    }

    /// The key from the path: a segment that reads as a number is tried as a number first, then as a string.
    func find(_ table: String, _ schema: TableSchema, _ context: AerieRequestContext) async throws -> (ItemKey, StoredItem)? {
        let partitionText = try context.pathParameter("pk")
        let sortText = context.parameters.get("sk") != nil ? try context.pathParameter("sk") : nil
        if schema.sortKey != nil, sortText == nil {
            throw AerieError.invalid("Table \"\(table)\" has a sort key; address items as /items/{pk}/{sk}.", field: "sk")
        }
        if schema.sortKey == nil, sortText != nil {
            throw AerieError.invalid("Table \"\(table)\" has no sort key; address items as /items/{pk}.", field: "sk")
        }
        var candidates: [ItemKey] = []
        for partition in Self.keyCandidates(partitionText) {
            if let sortText {
                for sort in Self.keyCandidates(sortText) { candidates.append(ItemKey(partition: partition, sort: sort)) }
            } else {
                candidates.append(ItemKey(partition: partition))
            }
        }
        for key in candidates {
            if let stored = try await tables.get(table: table, key: key) { return (key, stored) }
        }
        return nil
    }

    static func keyCandidates(_ text: String) -> [KeyValue] {
        if let number = Double(text), number.isFinite { return [.number(number), .string(text)] }
        return [.string(text)]
    }

    static func condition(_ request: Request) throws -> WriteCondition {
        if let match = request.headers[.ifMatch] {
            guard let version = Int64(match.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))) else {
                throw AerieError.invalid("If-Match must be an item version (an integer), e.g. If-Match: 3.", field: "If-Match")
            }
            return .version(version)
        }
        if let noneMatch = request.headers[.ifNoneMatch] {
            guard noneMatch.trimmingCharacters(in: .whitespaces) == "*" else {
                throw AerieError.invalid("If-None-Match on items accepts only `*` (write only if absent).", field: "If-None-Match")
            }
            return .absent
        }
        return .none
    }

    static func sortCondition(_ sort: QueryBody.Sort) throws -> SortCondition {
        func key(_ value: JSONValue, _ field: String) throws -> KeyValue {
            do { return try KeyValue(value, attribute: field) } catch { throw AerieError.invalid("sort.\(field) must be a string or a number.", field: "/sort/\(field)") }
        }
        switch sort.op {
        case "eq": return .equal(try key(sort.value, "value"))
        case "lt": return .lessThan(try key(sort.value, "value"))
        case "le": return .lessThanOrEqual(try key(sort.value, "value"))
        case "gt": return .greaterThan(try key(sort.value, "value"))
        case "ge": return .greaterThanOrEqual(try key(sort.value, "value"))
        case "between":
            guard let high = sort.value2 else { throw AerieError.invalid("between needs value2.", field: "/sort/value2") }
            return .between(try key(sort.value, "value"), try key(high, "value2"))
        case "begins_with":
            guard let prefix = sort.value.stringValue else { throw AerieError.invalid("begins_with needs a string value.", field: "/sort/value") }
            return .beginsWith(prefix)
        default:
            throw AerieError.invalid("Unknown sort op \"\(sort.op)\"; use eq, lt, le, gt, ge, between or begins_with.", field: "/sort/op")
        }
    }

    var routes: [GatewayRoute] {
        let access = Access.platform(scope: APIKeyScope.tables)
        let limit = configuration.maxJSONBodySize
        let itemRoutes: [GatewayRoute] = ["/v1/tables/{table}/items/{pk}", "/v1/tables/{table}/items/{pk}/{sk}"].flatMap { path in
            [
                GatewayRoute(.get, path, summary: "Read an item by key", tag: "tables", access: access, response: .json("StoredItem")) { [self] _, context in
                    let table = try context.pathParameter("table")
                    guard let (_, stored) = try await find(table, try await schema(table), context) else {
                        throw AerieError.notFound("No item with that key in table \"\(table)\".")
                    }
                    return try Response.json(StoredItemBody(stored), headers: [.eTag: "\"\(stored.version)\""])
                },
                GatewayRoute(.delete, path, summary: "Delete an item (If-Match: <version> to make it conditional)", tag: "tables",
                             access: access, status: 204) { [self] request, context in
                    let table = try context.pathParameter("table")
                    let condition = try Self.condition(request)
                    guard let (key, _) = try await find(table, try await schema(table), context) else {
                        throw AerieError.notFound("No item with that key in table \"\(table)\".")
                    }
                    try await tables.delete(table: table, key: key, condition: condition)
                    return Response.empty(.noContent)
                },
            ]
        }
        return [
            GatewayRoute(.post, "/v1/tables", summary: "Create a table", tag: "tables", access: access, request: .json("TableSchema"),
                         status: 201, response: .json("TableSchema")) { [tables] request, _ in
                let body = try await request.decodeJSON(SchemaBody.self, limit: limit)
                let schema = body.schema
                try Self.checkNotReserved(schema.name)
                try schema.validate()
                try await tables.createTable(schema)
                return try Response.json(SchemaBody(schema), status: .created)
            },
            GatewayRoute(.get, "/v1/tables", summary: "List tables", tag: "tables", access: access, response: .json("TableList")) { [tables] _, _ in
                let visible = try await tables.listTables().filter { !$0.name.hasPrefix(Self.reservedPrefix) }
                return try Response.json(ListBody(items: visible.map(SchemaBody.init), nextCursor: nil))
            },
            GatewayRoute(.put, "/v1/tables/{table}/items", summary: "Write an item (If-None-Match: * or If-Match: <version> for conditions)",
                         tag: "tables", access: access, request: .json("Item"), response: .json("StoredItem")) { [self] request, context in
                let table = try context.pathParameter("table")
                let condition = try Self.condition(request)
                let item = try await request.decodeJSON([String: JSONValue].self, limit: limit)
                let schema = try await schema(table)
                _ = try schema.key(of: item)
                let stored = try await tables.put(table: table, item: item, owner: try context.requireIdentity().username, condition: condition)
                return try Response.json(StoredItemBody(stored), headers: [.eTag: "\"\(stored.version)\""])
            },
            GatewayRoute(.post, "/v1/tables/{table}/query", summary: "Query a partition of the table or of an index", tag: "tables",
                         access: access, request: .json("TableQuery"), response: .json("StoredItemList")) { [self] request, context in
                let table = try context.pathParameter("table")
                let body = try await request.decodeJSON(QueryBody.self, limit: limit)
                let schema = try await schema(table)
                if let index = body.index, !schema.indexes.contains(where: { $0.name == index }) {
                    throw AerieError.invalid("Table \"\(table)\" has no index \"\(index)\".", field: "/index")
                }
                let partition: KeyValue
                do { partition = try KeyValue(body.partition, attribute: "partition") } catch {
                    throw AerieError.invalid("partition must be a string or a number.", field: "/partition")
                }
                let queryLimit = body.limit ?? 100
                guard (1...1000).contains(queryLimit) else { throw AerieError.invalid("limit must be from 1 to 1000.", field: "/limit") }
                let page = try await tables.query(table: table, TableQuery(
                    index: body.index, partition: partition, sort: try body.sort.map(Self.sortCondition), filter: body.filter ?? [:],
                    descending: body.descending ?? false, limit: queryLimit, cursor: body.cursor))
                return try Response.json(ListBody(items: page.items.map(StoredItemBody.init), nextCursor: page.nextCursor))
            },
        ] + itemRoutes
    }
}

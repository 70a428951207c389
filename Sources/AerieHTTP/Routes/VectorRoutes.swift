import AerieAuth
import AerieCore
import Foundation
import HTTPTypes
import Hummingbird

/// The Vectors primitive over HTTP: `/v1/vectors/…`, for admins and API keys with scope `vectors`.
///
/// Collections are created with `PUT /v1/vectors/{collection}` and `{"dimensions", "metric"}`; items are
/// `{"vector": […], "metadata": {…}}` by id; `POST …/query` takes `{"vector", "k", "filter", "exact"}` and answers
/// `{"items": [{"id", "score", "metadata"}]}`, best first, `score` being the similarity (higher is nearer).
/// Filters are JSON in the style of vector databases (``VectorFilterJSON``).
struct VectorRoutes {
    let vectors: any VectorStore
    /// The apps' own collections, which cannot be dropped here (409).
    let appResources: AppResources
    let configuration: GatewayConfiguration

    struct CollectionBody: Decodable {
        var dimensions: Int
        var metric: VectorMetric?
    }

    struct CollectionInfoBody: Encodable {
        var name: String
        var dimensions: Int
        var metric: String
        var count: Int
        init(_ info: VectorCollectionInfo) {
            name = info.name
            dimensions = info.dimensions
            metric = info.metric.rawValue
            count = info.count
        }
    }

    struct ItemBody: Decodable {
        var vector: [Float]
        var metadata: [String: JSONValue]?
    }

    struct StoredItemBody: Encodable {
        var id: String
        var vector: [Float]
        var metadata: [String: KeyValue]
    }

    struct QueryBody: Decodable {
        var vector: [Float]
        var k: Int?
        var filter: JSONValue?
        var exact: Bool?
    }

    struct MatchBody: Encodable {
        var id: String
        var score: Float
        var metadata: [String: KeyValue]
    }

    struct ItemsBody<Item: Encodable>: Encodable {
        var items: [Item]
    }

    /// Metadata values are strings and numbers (what filters compare); anything else is refused by pointer.
    static func metadata(_ json: [String: JSONValue]?) throws -> [String: KeyValue] {
        var result: [String: KeyValue] = [:]
        for (name, value) in json ?? [:] {
            switch value {
            case .string(let text): result[name] = .string(text)
            case .number(let number): result[name] = .number(number)
            case .bool(let flag): result[name] = .number(flag ? 1 : 0)
            default:
                throw AerieError.invalid("Metadata value \"\(name)\" must be a string, a number or a boolean (stored as 1 or 0).",
                                         field: "/metadata/\(name)")
            }
        }
        return result
    }

    var routes: [GatewayRoute] {
        let access = Access.platform(scope: APIKeyScope.vectors)
        let limit = configuration.maxJSONBodySize
        let vectors = self.vectors
        return [
            GatewayRoute(.get, "/v1/vectors", summary: "List vector collections", tag: "vectors", access: access,
                         response: .json("VectorCollectionList")) { _, _ in
                try Response.json(ItemsBody(items: try await vectors.collections().map(CollectionInfoBody.init)))
            },
            GatewayRoute(.put, "/v1/vectors/{collection}",
                         summary: "Create a collection with its dimensions and metric (cosine, dot or euclidean); 200 when the same one exists, 409 when it differs",
                         tag: "vectors", access: access, request: .json("CreateVectorCollection"), status: 201,
                         response: .json("VectorCollection"), statuses: [200, 409]) { request, context in
                let name = try context.pathParameter("collection")
                let body = try await request.decodeJSON(CollectionBody.self, limit: limit)
                let metric = body.metric ?? .cosine
                let created = try await vectors.createCollection(name, dimensions: body.dimensions, metric: metric)
                let info = try await vectors.describe(name)
                return try Response.json(CollectionInfoBody(info), status: created ? .created : .ok)
            },
            GatewayRoute(.get, "/v1/vectors/{collection}", summary: "Describe a collection: dimensions, metric and count",
                         tag: "vectors", access: access, response: .json("VectorCollection")) { _, context in
                try Response.json(CollectionInfoBody(try await vectors.describe(try context.pathParameter("collection"))))
            },
            GatewayRoute(.delete, "/v1/vectors/{collection}", summary: "Drop a collection and its vectors (409 for an app's own)", tag: "vectors",
                         access: access, status: 204, statuses: [409]) { [appResources] _, context in
                let name = try context.pathParameter("collection")
                try appResources.checkDeletable(.collection, name)
                guard try await vectors.dropCollection(name) else {
                    throw AerieError.notFound("No vector collection named \(name).")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.put, "/v1/vectors/{collection}/items/{id}", summary: "Store a vector and its metadata under an id (replacing it)",
                         tag: "vectors", access: access, request: .json("VectorItem"), response: .json("StoredVectorItem"),
                         statuses: [422]) { request, context in
                let collection = try await vectors.collection(try context.pathParameter("collection"))
                let id = try context.pathParameter("id")
                let body = try await request.decodeJSON(ItemBody.self, limit: limit)
                let metadata = try Self.metadata(body.metadata)
                try await collection.upsert(id: id, vector: body.vector, metadata: metadata)
                let stored = try await collection.get(id)
                return try Response.json(StoredItemBody(id: id, vector: stored?.vector ?? body.vector, metadata: metadata))
            },
            GatewayRoute(.get, "/v1/vectors/{collection}/items/{id}", summary: "Read a stored vector (unit length for cosine) and its metadata",
                         tag: "vectors", access: access, response: .json("StoredVectorItem")) { _, context in
                let name = try context.pathParameter("collection")
                let id = try context.pathParameter("id")
                guard let stored = try await vectors.collection(name).get(id) else {
                    throw AerieError.notFound("No vector \(id) in collection \(name).")
                }
                return try Response.json(StoredItemBody(id: stored.id, vector: stored.vector, metadata: stored.metadata))
            },
            GatewayRoute(.delete, "/v1/vectors/{collection}/items/{id}", summary: "Delete a vector", tag: "vectors", access: access,
                         status: 204) { _, context in
                let name = try context.pathParameter("collection")
                let id = try context.pathParameter("id")
                guard try await vectors.collection(name).remove(id: id) else {
                    throw AerieError.notFound("No vector \(id) in collection \(name).")
                }
                return Response.empty(.noContent)
            },
            GatewayRoute(.post, "/v1/vectors/{collection}/query",
                         summary: "The k most similar vectors (default 10), best first, among those whose metadata matches the filter",
                         tag: "vectors", access: access, request: .json("VectorQuery"), response: .json("VectorMatchList"),
                         statuses: [422]) { request, context in
                let collection = try await vectors.collection(try context.pathParameter("collection"))
                let body = try await request.decodeJSON(QueryBody.self, limit: limit)
                let filter = try body.filter.map { try VectorFilterJSON.parse($0, pointer: "/filter") }
                let matches = try await collection.search(body.vector, k: body.k ?? 10, filter: filter, exact: body.exact ?? false)
                return try Response.json(ItemsBody(items: matches.map { MatchBody(id: $0.id, score: $0.score, metadata: $0.metadata) }))
            },
        ]
    }
}

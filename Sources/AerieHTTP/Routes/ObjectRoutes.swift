import AerieAuth
import AerieCore
import AerieStreaming
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Buckets and objects: `/v1/buckets/…`. Object keys may contain `/`; the key is the rest of the path after
/// `/objects/`, percent-decoded once.
struct ObjectRoutes {
    let objects: any ObjectStore
    /// Bucket owners for the S3 API: a bucket made here belongs to its creator.
    let owners: BucketOwners
    let configuration: GatewayConfiguration

    static let metaPrefix = "x-aerie-meta-"

    struct BucketBody: Encodable {
        var name: String
        var createdAt: Date
        init(_ info: BucketInfo) {
            name = info.name
            createdAt = info.createdAt
        }
        enum CodingKeys: String, CodingKey {
            case name
            case createdAt = "created_at"
        }
    }

    struct ObjectBody: Encodable {
        var bucket: String
        var key: String
        var size: Int64
        var etag: String
        var contentType: String
        var metadata: [String: String]
        var lastModified: Date
        init(_ info: ObjectInfo) {
            bucket = info.bucket
            key = info.key
            size = info.size
            etag = info.etag
            contentType = info.contentType
            metadata = info.metadata
            lastModified = info.lastModified
        }
        enum CodingKeys: String, CodingKey {
            case bucket, key, size, etag, metadata
            case contentType = "content_type"
            case lastModified = "last_modified"
        }
    }

    struct ListingBody: Encodable {
        var items: [ObjectBody]
        var commonPrefixes: [String]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case items
            case commonPrefixes = "common_prefixes"
            case nextCursor = "next_cursor"
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(commonPrefixes, forKey: .commonPrefixes)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    var routes: [GatewayRoute] {
        let read = Access.platform(scope: APIKeyScope.objectsRead)
        let write = Access.platform(scope: APIKeyScope.objectsWrite)
        return [
            GatewayRoute(.get, "/v1/buckets", summary: "List buckets", tag: "objects", access: read, response: .json("BucketList")) { [objects] _, _ in
                try Response.json(ListBody(items: try await objects.listBuckets().map(BucketBody.init), nextCursor: nil))
            },
            GatewayRoute(.put, "/v1/buckets/{bucket}", summary: "Create a bucket", tag: "objects", access: write, status: 201,
                         response: .json("Bucket")) { [objects, owners] _, context in
                let name = try context.pathParameter("bucket")
                try ObjectNames.validateBucket(name)
                let info = try await objects.createBucket(name)
                try await owners.setOwner(try context.requireIdentity().username, of: name)
                return try Response.json(BucketBody(info), status: .created, headers: [.location: "/v1/buckets/\(name)"])
            },
            GatewayRoute(.delete, "/v1/buckets/{bucket}", summary: "Delete an empty bucket (409 when it holds objects or is an app's own)",
                         tag: "objects", access: write, status: 204, statuses: [409]) { [objects, owners] _, context in
                let name = try context.pathParameter("bucket")
                try await objects.deleteBucket(name)
                try await owners.remove(name)
                return Response.empty(.noContent)
            },
            GatewayRoute(.get, "/v1/buckets/{bucket}/objects", summary: "List objects by prefix, rolled up at a delimiter",
                         tag: "objects", access: read, response: .json("ObjectList"),
                         query: [("prefix", "Only keys starting with this."), ("delimiter", "Roll keys up into common_prefixes at this string."),
                                 ("cursor", "From a previous page's next_cursor."), ("limit", "1–1000, default 1000.")]) { [objects] request, context in
                let bucket = try context.pathParameter("bucket")
                let listing = try await objects.list(bucket: bucket, ListObjectsRequest(
                    prefix: request.query("prefix") ?? "", delimiter: request.query("delimiter").flatMap { $0.isEmpty ? nil : $0 },
                    cursor: request.query("cursor"), limit: try request.queryInt("limit", default: 1000, range: 1...1000)))
                return try Response.json(ListingBody(items: listing.objects.map(ObjectBody.init), commonPrefixes: listing.commonPrefixes,
                                                     nextCursor: listing.nextCursor))
            },
            GatewayRoute(.put, "/v1/buckets/{bucket}/objects/**", summary: "Upload an object (streamed; X-Aerie-Meta-* headers become metadata)",
                         tag: "objects", access: write, request: .binary, status: 201, response: .json("Object")) { [self] request, context in
                try await put(request, context)
            },
            GatewayRoute(.get, "/v1/buckets/{bucket}/objects/**", summary: "Download an object (Range and If-None-Match supported)",
                         tag: "objects", access: read, response: .binary) { [self] request, context in
                try await get(request, context, head: false)
            },
            GatewayRoute(.head, "/v1/buckets/{bucket}/objects/**", summary: "An object's metadata as headers", tag: "objects",
                         access: read) { [self] request, context in
                try await get(request, context, head: true)
            },
            GatewayRoute(.delete, "/v1/buckets/{bucket}/objects/**", summary: "Delete an object", tag: "objects", access: write,
                         status: 204) { [self] request, context in
                let (bucket, key) = try location(request, context)
                guard try await objects.delete(bucket: bucket, key: key) else { throw Self.noObject(bucket, key) }
                return Response.empty(.noContent)
            },
        ]
    }

    /// The bucket and key of an object route: the key is everything after `/objects/`, percent-decoded once.
    func location(_ request: Request, _ context: AerieRequestContext) throws -> (bucket: String, key: String) {
        let bucket = try context.pathParameter("bucket")
        try ObjectNames.validateBucket(bucket)
        let rawBucket = context.parameters.get("bucket") ?? ""
        let prefix = "/v1/buckets/\(rawBucket)/objects/"
        let path = request.uri.path
        guard path.hasPrefix(prefix) else {
            throw AerieError.invalid("The object key is missing from the path.", field: "key")
        }
        guard let key = PercentDecoding.decode(path.dropFirst(prefix.count)) else {
            throw AerieError.invalid("The object key has a broken percent-encoding.", field: "key")
        }
        try ObjectNames.validatePathKey(key)
        return (bucket, key)
    }

    func put(_ request: Request, _ context: AerieRequestContext) async throws -> Response {
        let (bucket, key) = try location(request, context)
        let limit = configuration.maxBodySize
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > limit {
            throw HTTPProblem(.tooLarge, "The object is \(length) bytes; the largest upload accepted is \(limit) bytes.")
        }
        var metadata: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            if name.hasPrefix(Self.metaPrefix), name.count > Self.metaPrefix.count {
                metadata[String(name.dropFirst(Self.metaPrefix.count))] = field.value
            }
        }
        let attributes = ObjectAttributes(contentType: request.headers[.contentType] ?? "application/octet-stream", metadata: metadata)
        let body = request.body.map { @Sendable buffer in Data(buffer.readableBytesView) }
        let info: ObjectInfo
        do {
            info = try await objects.put(bucket: bucket, key: key, body: body, attributes: attributes, maxSize: limit)
        } catch let error as AerieError where error.code == .tooLarge {
            throw HTTPProblem(.tooLarge, "The object is larger than the \(limit) bytes accepted; nothing was stored.")
        }
        return try Response.json(ObjectBody(info), status: .created, headers: [
            .eTag: info.etag, .location: request.uri.path,
        ])
    }

    func get(_ request: Request, _ context: AerieRequestContext, head: Bool) async throws -> Response {
        let (bucket, key) = try location(request, context)
        let rangeHeader = request.headers[.range]
        let range = rangeHeader.flatMap(Self.parseRange)
        if head {
            guard let info = try await objects.head(bucket: bucket, key: key) else { throw Self.noObject(bucket, key) }
            var headers = Self.headers(for: info)
            if let match = request.headers[.ifNoneMatch], Self.etagMatches(match, info.etag) {
                return Response.empty(.notModified, headers: headers)
            }
            if let range, range.resolve(size: info.size) == nil { throw Self.unsatisfiable(rangeHeader ?? "", size: info.size) }
            headers[.contentLength] = String(info.size)
            return Response(status: .ok, headers: headers, body: .init())
        }
        // One read gives the metadata and the bytes (opened, not yet read, for a large object): the hot path.
        let object: ObjectStream
        do {
            object = try await objects.read(bucket: bucket, key: key, range: range)
        } catch let error as AerieError where error.code == .invalidArgument && error.field == "range" {
            let size = try await objects.head(bucket: bucket, key: key)?.size ?? 0
            throw Self.unsatisfiable(rangeHeader ?? "", size: size)
        }
        var headers = Self.headers(for: object.info)
        if let match = request.headers[.ifNoneMatch], Self.etagMatches(match, object.info.etag) {
            return Response.empty(.notModified, headers: headers)
        }
        var status = HTTPResponse.Status.ok
        if let served = object.range {
            status = .partialContent
            headers[.contentRange] = "bytes \(served.lowerBound)-\(served.upperBound)/\(object.info.size)"
        }
        headers[.contentLength] = String(object.body.length)
        return Response(status: status, headers: headers, body: ResponseBody(object: object.body, on: context.eventLoop))
    }

    static func noObject(_ bucket: String, _ key: String) -> AerieError {
        AerieError.notFound("No object \"\(key)\" in bucket \"\(bucket)\".")
    }

    static func unsatisfiable(_ header: String, size: Int64) -> HTTPProblem {
        HTTPProblem(.rangeNotSatisfiable, "The range \(header) is outside the object's \(size) bytes.",
                    headers: [.contentRange: "bytes */\(size)"])
    }

    static func headers(for info: ObjectInfo) -> HTTPFields {
        var headers: HTTPFields = [
            .eTag: info.etag, .contentType: info.contentType, .acceptRanges: "bytes",
            .lastModified: httpDate(info.lastModified),
        ]
        for (name, value) in info.metadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(metaPrefix + name) { headers[field] = value }
        }
        return headers
    }

    /// Whether an `If-None-Match` value (a list of ETags, or `*`) matches.
    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        let bare = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return header.split(separator: ",").contains { part in
            let value = part.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            let weakless = value.hasPrefix("W/") ? String(value.dropFirst(2)) : value
            return weakless.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == bare
        }
    }

    /// Parses a single `bytes=` range; nil for anything else (which is then ignored, as RFC 9110 allows).
    static func parseRange(_ header: String) -> ByteRange? {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = value.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        switch (Int64(first), Int64(last)) {
        case (let start?, let end?): return start >= 0 && end >= start ? .closed(start: start, end: end) : nil
        case (let start?, nil) where last.isEmpty: return start >= 0 ? .from(start: start) : nil
        case (nil, let length?) where first.isEmpty: return .suffix(length: length)
        default: return nil
        }
    }

    static func httpDate(_ date: Date) -> String {
        HTTPDate.string(from: date)
    }
}

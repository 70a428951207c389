import AerieCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Object bytes on any S3-compatible store (SeaweedFS, MinIO, AWS S3, Aerie's own S3 API), for the scale-out
/// deployment whose metadata is in PostgreSQL (`aerie serve --object-store s3://BUCKET[/PREFIX]`).
///
/// Requests are signed with SigV4 (``SigV4Signer``) and sent with AsyncHTTPClient. A body is streamed in: up to
/// ``partSize`` bytes it is one `PutObject`; past that it becomes a multipart upload of ``partSize`` parts, sent as
/// they fill, so memory stays at one part however large the object. It is streamed out with `GetObject` (and
/// `Range`), chunk by chunk as the reader asks. With an endpoint (`AWS_ENDPOINT_URL`) requests use path-style
/// addressing (`http://endpoint/bucket/key`), as the scale-out stores expect; without one, AWS's virtual-host style.
///
/// Bodies are stored at `<prefix>/<bucket>/<2 hex>/<sha256 of the key>-<version>` (``DirectoryBodyStore/bodyName``),
/// never overwritten; the ETag Aerie reports is the body's own MD5, also for multipart bodies.
public struct S3BodyStore: ObjectBodyStore {
    /// Where the bodies go and how to sign for it.
    public struct Location: Sendable, Hashable {
        /// `http(s)://host[:port]`, or nil for AWS (`https://s3.<region>.amazonaws.com`, virtual-host style).
        public var endpoint: String?
        public var bucket: String
        /// Key prefix inside the bucket, without slashes at either end ("" for none).
        public var prefix: String
        public var region: String
        public var accessKeyId: String
        public var secretAccessKey: String

        public init(endpoint: String?, bucket: String, prefix: String = "", region: String = "us-east-1", accessKeyId: String, secretAccessKey: String) {
            self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            self.bucket = bucket
            self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            self.region = region
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
        }

        /// `s3://BUCKET[/PREFIX]` with the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
        /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`) from `environment`.
        public static func parse(_ url: String, environment: [String: String]) throws -> Location {
            guard url.hasPrefix("s3://") else {
                throw AerieError.invalid("An S3 object store is written s3://BUCKET[/PREFIX], not \"\(url)\".", field: "object_store")
            }
            let rest = url.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            guard !bucket.isEmpty else { throw AerieError.invalid("The object store URL \(url) names no bucket: s3://BUCKET[/PREFIX].", field: "object_store") }
            func setting(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            guard let key = setting("AWS_ACCESS_KEY_ID"), let secret = setting("AWS_SECRET_ACCESS_KEY") else {
                throw AerieError.invalid("The S3 object store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.", field: "object_store")
            }
            return Location(endpoint: setting("AWS_ENDPOINT_URL"), bucket: bucket, prefix: String(rest.dropFirst(bucket.count)),
                            region: setting("AWS_REGION") ?? setting("AWS_DEFAULT_REGION") ?? "us-east-1", accessKeyId: key, secretAccessKey: secret)
        }

        /// The redacted description for logs: `s3://bucket/prefix at endpoint`.
        public var description: String {
            "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix) at \(endpoint ?? "AWS (\(region))")"
        }
    }

    /// Bodies larger than this go up in parts of this size (S3's minimum part is 5 MiB).
    public static let partSize = 8 * 1024 * 1024

    public let location: Location
    private let signer: SigV4Signer
    private let client: HTTPClient
    private let timeout: TimeAmount

    public init(location: Location, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(300)) {
        self.location = location
        signer = SigV4Signer(accessKeyId: location.accessKeyId, secretAccessKey: location.secretAccessKey, region: location.region)
        self.client = client
        self.timeout = timeout
    }

    /// Checks that the bucket answers with these credentials (at start, so a wrong setting fails early and clearly).
    public func check() async throws {
        let response = try await send("GET", key: nil, query: [("list-type", "2"), ("max-keys", "1")])
        guard response.status == .ok else { throw try await failure(response, doing: "list the bucket \(location.bucket)") }
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    /// Creates the bucket unless it exists (`make run-cluster` and tests start on an empty store).
    public func createBucket() async throws {
        let response = try await send("PUT", key: nil)
        guard response.status == .ok else {
            let error = try await failure(response, doing: "create the bucket \(location.bucket)")
            if error.message.contains("BucketAlreadyOwnedByYou") || error.message.contains("BucketAlreadyExists") { return }
            throw error
        }
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    // MARK: - ObjectBodyStore

    public func write<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, maxSize: Int64) async throws -> StoredBody
        where Body.Element == Data {
        let name = DirectoryBodyStore.newBodyName(bucket: bucket, key: key)
        var meter = BodyMeter(maxSize: maxSize)
        var buffer = Data()
        var upload: MultipartUpload?
        do {
            for try await chunk in body {
                try meter.count(chunk)
                buffer.append(chunk)
                while buffer.count >= Self.partSize {
                    if upload == nil { upload = try await startMultipart(name) }
                    try await upload!.send(part: buffer.prefix(Self.partSize), store: self)
                    buffer = Data(buffer.dropFirst(Self.partSize))
                }
            }
            if var upload {
                if !buffer.isEmpty { try await upload.send(part: buffer, store: self) }
                try await complete(upload)
            } else {
                let response = try await send("PUT", key: name, body: buffer)
                guard response.status == .ok else { throw try await failure(response, doing: "store an object's body") }
                _ = try await response.body.collect(upTo: 1 << 20)
            }
        } catch {
            if let upload { await abort(upload) }
            throw error
        }
        return StoredBody(name: name, size: meter.size, etag: meter.etag())
    }

    public func open(_ name: String, range: ClosedRange<Int64>?, size: Int64, description: String) async throws -> ObjectChunks? {
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? size
        if length == 0 { return ObjectChunks(data: Data()) }
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        let response = try await send("GET", key: name, headers: headers)
        switch response.status {
        case .ok, .partialContent: break
        case .notFound:
            _ = try? await response.body.collect(upTo: 1 << 20)
            return nil
        default:
            throw try await failure(response, doing: "read the body of \(description)")
        }
        if length <= 256 * 1024 {
            // Small bodies (most of them) are read at once: the connection goes back to the pool.
            var buffer = try await response.body.collect(upTo: Int(length) + 1)
            guard buffer.readableBytes == Int(length) else {
                throw AerieError(.unavailable, "The object store sent \(buffer.readableBytes) bytes of \(description), not \(length). Retry.")
            }
            return ObjectChunks(data: buffer.readData(length: buffer.readableBytes) ?? Data())
        }
        return ObjectChunks(length: length, reader: ResponseBodyReader(body: response.body, length: length, description: description))
    }

    public func remove(_ name: String) async {
        guard let response = try? await send("DELETE", key: name) else { return }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    public func orphanCandidates(olderThan date: Date) async throws -> [String] {
        var names: [String] = []
        var token: String?
        let keyPrefix = location.prefix.isEmpty ? "" : location.prefix + "/"
        repeat {
            var query = [("list-type", "2"), ("prefix", keyPrefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("GET", key: nil, query: query)
            guard response.status == .ok else { throw try await failure(response, doing: "list the bodies") }
            let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
            for entry in Self.elements("Contents", in: text) {
                guard let key = Self.elements("Key", in: entry).first.map(Self.unescape),
                      let modified = Self.elements("LastModified", in: entry).first.flatMap(Self.parseTime) else { continue }
                if modified < date, key.hasPrefix(keyPrefix) { names.append(String(key.dropFirst(keyPrefix.count))) }
            }
            token = Self.elements("IsTruncated", in: text).first == "true" ? Self.elements("NextContinuationToken", in: text).first.map(Self.unescape) : nil
        } while token != nil
        return names
    }

    // MARK: - Multipart

    struct MultipartUpload {
        let key: String
        let id: String
        var parts: [(number: Int, etag: String)] = []

        mutating func send(part: Data, store: S3BodyStore) async throws {
            let number = parts.count + 1
            let response = try await store.send("PUT", rawKey: key, query: [("partNumber", String(number)), ("uploadId", id)], body: part)
            guard response.status == .ok, let etag = response.headers.first(name: "etag") else {
                throw try await store.failure(response, doing: "upload part \(number) of an object's body")
            }
            _ = try await response.body.collect(upTo: 1 << 20)
            parts.append((number, etag))
        }
    }

    private func startMultipart(_ name: String) async throws -> MultipartUpload {
        let response = try await send("POST", key: name, query: [("uploads", "")])
        guard response.status == .ok else { throw try await failure(response, doing: "start a multipart upload") }
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let id = Self.elements("UploadId", in: text).first.map(Self.unescape) else {
            throw AerieError(.unavailable, "The object store started a multipart upload without an upload id. Check its S3 compatibility.")
        }
        return MultipartUpload(key: objectKey(name), id: id)
    }

    private func complete(_ upload: MultipartUpload) async throws {
        let parts = upload.parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escape($0.etag))</ETag></Part>" }.joined()
        let body = Data("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8)
        let response = try await send("POST", rawKey: upload.key, query: [("uploadId", upload.id)], body: body)
        // S3 may answer 200 with an error document when completing fails late.
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok, !text.contains("<Error>") else {
            throw AerieError(.unavailable, "The object store refused to complete a multipart upload (HTTP \(response.status.code)): \(text.prefix(300))")
        }
    }

    private func abort(_ upload: MultipartUpload) async {
        guard let response = try? await send("DELETE", rawKey: upload.key, query: [("uploadId", upload.id)]) else { return }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    // MARK: - Requests

    private func objectKey(_ name: String) -> String {
        location.prefix.isEmpty ? name : location.prefix + "/" + name
    }

    fileprivate func send(_ method: String, key name: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                          body: Data? = nil) async throws -> HTTPClientResponse {
        try await send(method, rawKey: name.map(objectKey), query: query, headers: headers, body: body)
    }

    /// Sends one signed request for `key` in the bucket (nil: the bucket itself).
    fileprivate func send(_ method: String, rawKey key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                      body: Data? = nil) async throws -> HTTPClientResponse {
        let base: String
        var path: String
        let host: String
        if let endpoint = location.endpoint {
            base = endpoint
            path = "/" + SigV4.uriEncode(location.bucket, keepSlash: false)
            host = URLComponents(string: endpoint).map { components in
                (components.host ?? "") + (components.port.map { ":\($0)" } ?? "")
            } ?? ""
        } else {
            host = "\(location.bucket).s3.\(location.region).amazonaws.com"
            base = "https://" + host
            path = ""
        }
        if let key { path += "/" + SigV4.uriEncode(key, keepSlash: true) }
        if path.isEmpty { path = "/" }
        // SigV4's canonical query: names sorted, both sides encoded.
        let queryString = query.sorted { $0.0 < $1.0 }
            .map { "\(SigV4.uriEncode($0.0, keepSlash: false))=\(SigV4.uriEncode($0.1, keepSlash: false))" }.joined(separator: "&")
        let payload = body ?? Data()
        let all = headers.map { (name: $0.0, value: $0.1) } + [(name: "host", value: host)]
        let signed = signer.sign(method: method, path: path, query: queryString, headers: all, payloadHash: SigV4.sha256Hex(payload))
        var request = HTTPClientRequest(url: base + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in all where name != "host" { request.headers.add(name: name, value: value) }
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw AerieError(.unavailable, "The object store at \(location.description) could not be reached: \(error). Check AWS_ENDPOINT_URL and that it is up.")
        }
    }

    fileprivate func failure(_ response: HTTPClientResponse, doing what: String) async throws -> AerieError {
        let text = String(buffer: (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer())
        let code = Self.elements("Code", in: text).first ?? "HTTP \(response.status.code)"
        return AerieError(.unavailable, "The object store at \(location.description) refused to \(what): \(code). Check the bucket and the AWS_* credentials.")
    }

    // MARK: - XML (S3's responses are flat and well known; a few element reads suffice)

    static func elements(_ name: String, in text: String) -> [String] {
        var values: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            values.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return values
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// A GET's response body read chunk by chunk as the consumer asks (its socket's back-pressure holds the store back).
///
/// `@unchecked Sendable`: the iterator is touched only by `next()`, and an ``ObjectChunks`` body is iterated by one
/// consumer, one `next()` after another (as every `AsyncIteratorProtocol` is used), never concurrently.
final class ResponseBodyReader: ObjectChunkReader, @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var remaining: Int64
    private let description: String

    init(body: HTTPClientResponse.Body, length: Int64, description: String) {
        iterator = body.makeAsyncIterator()
        remaining = length
        self.description = description
    }

    func next() async throws -> Data? {
        guard let buffer = try await iterator.next() else {
            guard remaining == 0 else {
                throw AerieError(.unavailable, "The object store ended the body of \(description) \(remaining) bytes early. Retry.")
            }
            return nil
        }
        remaining -= Int64(buffer.readableBytes)
        return Data(buffer.readableBytesView)
    }
}

import AerieAuth
import AerieCore
import AerieStreaming
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import NIOCore

// Object operations: put, get, head, delete, delete many, copy.
extension S3Server {
    /// Metadata names under which the S3 API keeps the content headers and checksum it stores with an object
    /// (the Objects primitive has user metadata only); they are not shown as `x-amz-meta-*`.
    static let systemPrefix = "aerie.s3."
    static let storedHeaders = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"]
    static let metaPrefix = "x-amz-meta-"

    // MARK: Put

    func putObject(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal, _ signature: VerifiedSignature) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        var plan = try bodyPlan(call, signature)
        var precondition: WritePrecondition?
        if call.header("if-match") != nil || call.header("if-none-match") != nil {
            let (ifMatch, ifNoneMatch) = (call.header("if-match"), call.header("if-none-match"))
            // Checked now (so a doomed body is not stored first) and again by the store as the write commits.
            try Self.checkWriteConditions(ifMatch: ifMatch, ifNoneMatch: ifNoneMatch, try await objects.head(bucket: bucket, key: key))
            precondition = WritePrecondition { current in try Self.checkWriteConditions(ifMatch: ifMatch, ifNoneMatch: ifNoneMatch, current) }
        }
        if let length = plan.length, length > configuration.maxObjectSize { throw S3Error.entityTooLarge(limit: configuration.maxObjectSize) }
        // A checksum sent as an aws-chunked trailer is known only after the body: the store adds it before committing.
        let trailing = plan.trailer.map { algorithm in
            let metadata = TrailingMetadata()
            plan.trailerTarget = (metadata, Self.systemPrefix + algorithm.headerName)
            return metadata
        }
        var metadata = Self.userMetadata(call)
        for name in Self.storedHeaders {
            guard var value = call.header(name) else { continue }
            if name == "content-encoding" {
                value = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "aws-chunked" }.joined(separator: ",")
                if value.isEmpty { continue }
            }
            metadata[Self.systemPrefix + name] = value
        }
        if let (algorithm, value) = plan.checksum { metadata[Self.systemPrefix + algorithm.headerName] = value }
        let attributes = ObjectAttributes(contentType: call.header("content-type") ?? "binary/octet-stream", metadata: metadata,
                                          trailing: trailing, precondition: precondition)
        let body = S3RequestBody(call.request.body, plan: plan)
        let info = try await store(bucket: bucket, key: key, body: body, attributes: attributes, failure: body.failure)
        var headers: HTTPFields = [.eTag: info.etag, .contentLength: "0"]
        if let (algorithm, value) = plan.checksum, let name = HTTPField.Name(algorithm.headerName) { headers[name] = value }
        if let algorithm = plan.trailer, let name = HTTPField.Name(algorithm.headerName),
           let value = trailing?.values[Self.systemPrefix + algorithm.headerName] {
            headers[name] = value
        }
        return Response(status: .ok, headers: headers)
    }

    func store<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, attributes: ObjectAttributes,
                                               failure: S3BodyFailure? = nil) async throws -> ObjectInfo where Body.Element == Data {
        do {
            return try await objects.put(bucket: bucket, key: key, body: body, attributes: attributes, maxSize: configuration.maxObjectSize)
        } catch where failure?.recorded != nil {
            // The body failed its checks (a digest, a chunk signature, its length): nothing was stored; say why.
            throw failure?.recorded ?? S3Error.internalError()
        } catch let error as AerieError where error.code == .tooLarge {
            throw S3Error.entityTooLarge(limit: configuration.maxObjectSize)
        } catch let error as AerieError where error.code == .notFound {
            throw S3Error.noSuchBucket(bucket)
        }
    }

    /// Reads the body's framing and digests from the headers and the verified signature.
    func bodyPlan(_ call: S3Call, _ signature: VerifiedSignature) throws -> S3BodyPlan {
        var plan = S3BodyPlan()
        let payload = signature.payloadHash
        switch payload {
        case SigV4.unsignedPayload: break
        case SigV4.streamingSignedPayload, SigV4.streamingSignedPayloadTrailer:
            plan.chunked = true
            plan.signing = .init(key: signature.signingKey, scope: signature.scope, timestamp: signature.timestamp, seedSignature: signature.signature)
        case SigV4.streamingUnsignedPayloadTrailer:
            plan.chunked = true
        default:
            guard payload.count == 64, payload.allSatisfy(\.isHexDigit) else {
                throw S3Error.invalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-… mode or a SHA-256 in hex.",
                                              name: "x-amz-content-sha256", value: payload)
            }
            plan.sha256 = payload
        }
        if plan.chunked {
            guard let decoded = call.header("x-amz-decoded-content-length"), let length = Int64(decoded), length >= 0 else {
                throw S3Error.missingContentLength
            }
            plan.length = length
            if let trailer = call.header("x-amz-trailer") {
                guard let algorithm = S3ChecksumAlgorithm(name: trailer.trimmingCharacters(in: .whitespaces)) else {
                    throw S3Error.invalidArgument("The trailer \(trailer) is not a checksum Aerie knows (crc32, crc32c, sha1, sha256).",
                                                  name: "x-amz-trailer", value: trailer)
                }
                plan.trailer = algorithm
            }
        } else if let lengthText = call.header("content-length") {
            plan.length = Int64(lengthText)
        }
        if let md5 = call.header("content-md5") {
            guard Data(base64Encoded: md5)?.count == 16 else { throw S3Error.invalidDigest() }
            plan.md5 = md5
        }
        for algorithm in S3ChecksumAlgorithm.allCases {
            guard let value = call.header(algorithm.headerName) else { continue }
            guard S3Checksum.isWellFormed(value, algorithm) else {
                throw S3Error.invalidRequest("Value for \(algorithm.headerName) header is invalid.")
            }
            plan.checksum = (algorithm, value)
        }
        if plan.checksum != nil, plan.trailer != nil { plan.checksum = nil }
        return plan
    }

    static func userMetadata(_ call: S3Call) -> [String: String] {
        var metadata: [String: String] = [:]
        for field in call.request.headers {
            let name = field.name.canonicalName
            if name.hasPrefix(metaPrefix), name.count > metaPrefix.count {
                let short = String(name.dropFirst(metaPrefix.count))
                metadata[short] = metadata[short].map { "\($0),\(field.value)" } ?? field.value
            }
        }
        return metadata
    }

    // MARK: Get and head

    func getObject(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal, head: Bool) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        guard let info = try await objects.head(bucket: bucket, key: key) else {
            if head { throw S3Error("NotFound", status: 404, "Not Found") }
            throw S3Error.noSuchKey(key)
        }
        try Self.checkConditions(call, info)
        var range: ClosedRange<Int64>?
        if let header = call.header("range"), let parsed = Self.parseRange(header) {
            guard let resolved = parsed.resolve(size: info.size) else { throw S3Error.invalidRange(size: info.size) }
            range = resolved
        }
        var headers = Self.objectHeaders(info, checksums: call.header("x-amz-checksum-mode")?.uppercased() == "ENABLED" && range == nil)
        let overrides: [(String, HTTPField.Name)] = [
            ("response-content-type", .contentType), ("response-content-language", .contentLanguage), ("response-expires", .expires),
            ("response-cache-control", .cacheControl), ("response-content-disposition", .contentDisposition),
            ("response-content-encoding", .contentEncoding),
        ]
        for (parameter, header) in overrides {
            if let value = call.query[parameter] { headers[header] = value }
        }
        var status = HTTPResponse.Status.ok
        if let range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(info.size)"
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? info.size
        headers[.contentLength] = String(length)
        if head { return Response(status: status, headers: headers) }
        let stream: ObjectStream
        do {
            stream = try await objects.read(bucket: bucket, key: key, range: range.map { .closed(start: $0.lowerBound, end: $0.upperBound) })
        } catch let error as AerieError where error.code == .notFound {
            throw S3Error.noSuchKey(key)
        }
        if stream.info.etag != info.etag {
            // Replaced between the head and the read: describe what is served.
            headers = Self.objectHeaders(stream.info, checksums: false)
            headers[.contentLength] = String(stream.body.length)
            if let served = stream.range { headers[.contentRange] = "bytes \(served.lowerBound)-\(served.upperBound)/\(stream.info.size)" }
        }
        return Response(status: status, headers: headers, body: ResponseBody(object: stream.body, on: call.eventLoop))
    }

    /// The ETag S3 shows: a multipart object's `md5-of-md5s-N`, else the store's MD5.
    static func s3ETag(_ info: ObjectInfo) -> String { info.metadata[etagKey] ?? info.etag }

    static func objectHeaders(_ info: ObjectInfo, checksums: Bool) -> HTTPFields {
        var headers: HTTPFields = [
            .eTag: s3ETag(info), .contentType: info.contentType, .acceptRanges: "bytes", .lastModified: S3Time.httpDate(info.lastModified),
        ]
        for (name, value) in info.metadata.sorted(by: { $0.key < $1.key }) {
            if name.hasPrefix(systemPrefix) {
                let header = String(name.dropFirst(systemPrefix.count))
                if header.hasPrefix("x-amz-checksum-") {
                    guard checksums else { continue }
                    headers[HTTPField.Name("x-amz-checksum-type")!] = value.contains("-") ? "COMPOSITE" : "FULL_OBJECT"
                }
                if name == etagKey { continue }
                if let field = HTTPField.Name(header) { headers[field] = value }
            } else if let field = HTTPField.Name(metaPrefix + name) {
                headers[field] = value
            }
        }
        return headers
    }

    /// If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since, combined as S3 does.
    static func checkConditions(_ call: S3Call, _ info: ObjectInfo, prefix: String = "") throws {
        let lastModified = info.lastModified.timeIntervalSince1970.rounded(.down)
        let ifMatch = call.header(prefix + "if-match")
        let ifNoneMatch = call.header(prefix + "if-none-match")
        let etag = s3ETag(info)
        if let ifMatch, !etagMatches(ifMatch, etag) { throw S3Error.preconditionFailed }
        if ifMatch == nil, let text = call.header(prefix + "if-unmodified-since"), let date = S3Time.parseHTTPDate(text),
           lastModified > date.timeIntervalSince1970 {
            throw S3Error.preconditionFailed
        }
        let notModified = prefix.isEmpty ? S3Error.notModified : S3Error.preconditionFailed
        if let ifNoneMatch, etagMatches(ifNoneMatch, etag) { throw notModified }
        if ifNoneMatch == nil, let text = call.header(prefix + "if-modified-since"), let date = S3Time.parseHTTPDate(text),
           lastModified <= date.timeIntervalSince1970 {
            throw notModified
        }
    }

    /// A conditional PUT: `If-Match` (the object exists with one of these ETags, `*` any) and `If-None-Match` (`*`: it
    /// does not exist; ETags: it has none of them), else `412 PreconditionFailed`. The store checks it atomically with
    /// the write (``WritePrecondition``), so of two conditional PUTs racing for one key only one can win.
    static func checkWriteConditions(ifMatch: String?, ifNoneMatch: String?, _ current: ObjectInfo?) throws {
        if let ifMatch {
            guard let current, etagMatches(ifMatch, s3ETag(current)) else { throw S3Error.preconditionFailed }
        }
        if let ifNoneMatch, let current, etagMatches(ifNoneMatch, s3ETag(current)) {
            throw S3Error.preconditionFailed
        }
    }

    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        let bare = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return header.split(separator: ",").contains { part in
            let value = part.trimmingCharacters(in: .whitespaces)
            return value == "*" || value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == bare
        }
    }

    /// A single `bytes=` range; nil for anything else (then ignored, as S3 does).
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
        case (nil, let length?) where first.isEmpty: return length > 0 ? .suffix(length: length) : nil
        default: return nil
        }
    }

    // MARK: Delete

    func deleteObject(_ bucket: String, _ key: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        try await objects.delete(bucket: bucket, key: key)
        return Response(status: .noContent)
    }

    func deleteObjects(_ call: S3Call, _ bucket: String, _ principal: S3Principal, _ signature: VerifiedSignature) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        var data = Data()
        for try await chunk in S3RequestBody(call.request.body, plan: try bodyPlan(call, signature)) {
            data.append(chunk)
            guard data.count <= 2 << 20 else { throw S3Error.malformedXML }
        }
        let request = try DeleteRequestParser.parse(data)
        guard request.keys.count <= 1000 else { throw S3Error.malformedXML }
        var xml = XMLWriter()
        xml.open("DeleteResult", namespaced: true)
        for key in request.keys {
            do {
                try validateKey(key)
                try await objects.delete(bucket: bucket, key: key)
                if !request.quiet {
                    xml.open("Deleted")
                    xml.element("Key", key)
                    xml.close("Deleted")
                }
            } catch {
                let s3Error = (error as? S3Error) ?? (error as? AerieError).map { S3Error.from($0, bucket: bucket, key: key) } ?? .internalError()
                xml.open("Error")
                xml.element("Key", key)
                xml.element("Code", s3Error.code)
                xml.element("Message", s3Error.message)
                xml.close("Error")
            }
        }
        xml.close("DeleteResult")
        return Self.xml(xml.text)
    }

    // MARK: Copy

    func copyObject(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        let (sourceBucket, sourceKey) = try Self.copySource(call.header("x-amz-copy-source") ?? "")
        try validateKey(sourceKey)
        try await existingBucket(sourceBucket, principal, write: false)
        guard let sourceInfo = try await objects.head(bucket: sourceBucket, key: sourceKey) else { throw S3Error.noSuchKey(sourceKey) }
        try Self.checkConditions(call, sourceInfo, prefix: "x-amz-copy-source-")
        let directive = call.header("x-amz-metadata-directive")?.uppercased() ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error.invalidArgument("Unknown metadata directive.", name: "x-amz-metadata-directive", value: directive)
        }
        let attributes: ObjectAttributes
        if directive == "REPLACE" {
            var metadata = Self.userMetadata(call)
            for name in Self.storedHeaders { if let value = call.header(name) { metadata[Self.systemPrefix + name] = value } }
            for (name, value) in sourceInfo.metadata where name.hasPrefix(Self.systemPrefix + "x-amz-checksum-") { metadata[name] = value }
            attributes = ObjectAttributes(contentType: call.header("content-type") ?? sourceInfo.contentType, metadata: metadata)
        } else {
            if sourceBucket == bucket, sourceKey == key {
                throw S3Error.invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
            }
            attributes = ObjectAttributes(contentType: sourceInfo.contentType, metadata: sourceInfo.metadata.filter { $0.key != Self.etagKey })
        }
        let source = try await objects.read(bucket: sourceBucket, key: sourceKey, range: nil)
        let info = try await store(bucket: bucket, key: key, body: source.body, attributes: attributes)
        var xml = XMLWriter()
        xml.open("CopyObjectResult", namespaced: true)
        xml.element("LastModified", S3Time.iso8601(info.lastModified))
        xml.element("ETag", info.etag)
        xml.close("CopyObjectResult")
        return Self.xml(xml.text)
    }

    /// `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded, maybe with `?versionId=`.
    static func copySource(_ header: String) throws -> (String, String) {
        var text = header
        if let question = text.firstIndex(of: "?") { text = String(text[..<question]) }
        text = SigV4.percentDecode(text)
        if text.hasPrefix("/") { text.removeFirst() }
        guard let slash = text.firstIndex(of: "/"), slash != text.startIndex, text.index(after: slash) != text.endIndex else {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey", name: "x-amz-copy-source", value: header)
        }
        return (String(text[..<slash]), String(text[text.index(after: slash)...]))
    }
}

/// Parses DeleteObjects' `<Delete><Quiet/><Object><Key/></Object>…</Delete>` with Foundation's XMLParser.
final class DeleteRequestParser: NSObject, XMLParserDelegate {
    var keys: [String] = []
    var quiet = false
    private var text = ""
    private var sawDelete = false

    static func parse(_ data: Data) throws -> (keys: [String], quiet: Bool) {
        let delegate = DeleteRequestParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse(), delegate.sawDelete else { throw S3Error.malformedXML }
        return (delegate.keys, delegate.quiet)
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elementName == "Delete" { sawDelete = true }
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch elementName {
        case "Key": keys.append(text)
        case "Quiet": quiet = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
        default: break
        }
        text = ""
    }
}

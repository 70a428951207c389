import AerieAuth
import AerieCore
import Crypto
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import NIOCore

// Multipart uploads. An upload is a row of table `aerie_s3_uploads` (key `upload_id`, index `by_bucket`); its parts
// are objects of the internal bucket `aerie-s3-multipart` under `<upload id>/<part number, 5 digits>`. Complete
// streams the parts, in order, into the target object (one put, one object event) and deletes them; the object keeps
// S3's `md5-of-md5s-N` ETag in its metadata.
extension S3Server {
    static let uploadsTable = "aerie_s3_uploads"
    static let partsBucket = "aerie-s3-multipart"
    /// The smallest part but the last (S3: 5 MiB).
    static let minimumPartSize: Int64 = 5 << 20
    static let etagKey = systemPrefix + "etag"

    static func noSuchUpload(_ id: String) -> S3Error {
        S3Error("NoSuchUpload", status: 404, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
                details: [("UploadId", id)])
    }

    func prepareMultipart() async throws {
        try await tables.ensureTable(TableSchema(name: Self.uploadsTable, partitionKey: "upload_id",
                                                 indexes: [.init(name: "by_bucket", partitionKey: "bucket", sortKey: "sort")]))
        try await objects.ensureBucket(Self.partsBucket)
    }

    /// The upload row, checked against the bucket and key it was made for.
    func upload(_ id: String, bucket: String, key: String) async throws -> [String: JSONValue] {
        guard id.count <= 64, let item = try await tables.get(table: Self.uploadsTable, key: ItemKey(partition: .string(id)))?.item,
              item["bucket"]?.stringValue == bucket, item["key"]?.stringValue == key else { throw Self.noSuchUpload(id) }
        return item
    }

    static func partKey(_ id: String, _ number: Int) -> String { "\(id)/\(String(format: "%05d", number))" }

    func createMultipartUpload(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        try await prepareMultipart()
        var metadata = Self.userMetadata(call)
        for name in Self.storedHeaders { if let value = call.header(name) { metadata[Self.systemPrefix + name] = value } }
        var checksumAlgorithm: S3ChecksumAlgorithm?
        if let name = call.header("x-amz-checksum-algorithm") {
            guard let algorithm = S3ChecksumAlgorithm(name: name) else {
                throw S3Error.invalidArgument("Checksum algorithm must be one of CRC32, CRC32C, SHA1 or SHA256.", name: "x-amz-checksum-algorithm", value: name)
            }
            checksumAlgorithm = algorithm
        }
        let id = SigV4.hex(Secrets.randomBytes(16))
        let now = Date()
        try await tables.put(table: Self.uploadsTable, item: [
            "checksum_algorithm": checksumAlgorithm.map { .string($0.rawValue) } ?? .null,
            "upload_id": .string(id), "bucket": .string(bucket), "key": .string(key), "sort": .string("\(key) \(RFC3339.string(from: now)) \(id)"),
            "owner": .string(principal.username), "content_type": .string(call.header("content-type") ?? "binary/octet-stream"),
            "metadata": .object(metadata.mapValues(JSONValue.string)), "created_at": .string(RFC3339.string(from: now)),
        ], owner: principal.username, condition: .absent)
        var xml = XMLWriter()
        xml.open("InitiateMultipartUploadResult", namespaced: true)
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("UploadId", id)
        xml.close("InitiateMultipartUploadResult")
        var headers: HTTPFields = [:]
        if let checksumAlgorithm { headers[HTTPField.Name("x-amz-checksum-algorithm")!] = checksumAlgorithm.rawValue.uppercased() }
        return Self.xml(xml.text, headers: headers)
    }

    func partNumber(_ call: S3Call) throws -> Int {
        guard let text = call.query["partNumber"], let number = Int(text), (1...10_000).contains(number) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: call.query["partNumber"])
        }
        return number
    }

    func uploadPart(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal, _ signature: VerifiedSignature, id: String) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        _ = try await upload(id, bucket: bucket, key: key)
        let number = try partNumber(call)
        if call.header("x-amz-copy-source") != nil { return try await uploadPartCopy(call, principal, id: id, number: number) }
        var plan = try bodyPlan(call, signature)
        var metadata: [String: String] = [:]
        if let (algorithm, value) = plan.checksum { metadata[Self.systemPrefix + algorithm.headerName] = value }
        let trailing = plan.trailer.map { algorithm in
            let metadata = TrailingMetadata()
            plan.trailerTarget = (metadata, Self.systemPrefix + algorithm.headerName)
            return metadata
        }
        let body = S3RequestBody(call.request.body, plan: plan)
        let info = try await store(bucket: Self.partsBucket, key: Self.partKey(id, number), body: body,
                                   attributes: ObjectAttributes(contentType: "application/octet-stream", metadata: metadata, trailing: trailing),
                                   failure: body.failure)
        var headers: HTTPFields = [.eTag: info.etag, .contentLength: "0"]
        if let (algorithm, value) = plan.checksum, let name = HTTPField.Name(algorithm.headerName) { headers[name] = value }
        if let algorithm = plan.trailer, let name = HTTPField.Name(algorithm.headerName),
           let value = trailing?.values[Self.systemPrefix + algorithm.headerName] {
            headers[name] = value
        }
        return Response(status: .ok, headers: headers)
    }

    func uploadPartCopy(_ call: S3Call, _ principal: S3Principal, id: String, number: Int) async throws -> Response {
        let (sourceBucket, sourceKey) = try Self.copySource(call.header("x-amz-copy-source") ?? "")
        try validateKey(sourceKey)
        try await existingBucket(sourceBucket, principal, write: false)
        guard let sourceInfo = try await objects.head(bucket: sourceBucket, key: sourceKey) else { throw S3Error.noSuchKey(sourceKey) }
        try Self.checkConditions(call, sourceInfo, prefix: "x-amz-copy-source-")
        var range: ByteRange?
        if let header = call.header("x-amz-copy-source-range") {
            // Only `bytes=first-last` is a copy range: any other shape is 400 InvalidArgument, a range past the end 416.
            guard let parsed = Self.parseRange(header), case .closed = parsed else {
                throw S3Error.invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                                              name: "x-amz-copy-source-range", value: header)
            }
            guard parsed.resolve(size: sourceInfo.size) != nil else { throw S3Error.invalidRange(size: sourceInfo.size) }
            if case .closed(_, let end) = parsed, end >= sourceInfo.size { throw S3Error.invalidRange(size: sourceInfo.size) }
            range = parsed
        }
        let source = try await objects.read(bucket: sourceBucket, key: sourceKey, range: range)
        let info = try await store(bucket: Self.partsBucket, key: Self.partKey(id, number), body: source.body,
                                   attributes: ObjectAttributes(contentType: "application/octet-stream"))
        var xml = XMLWriter()
        xml.open("CopyPartResult", namespaced: true)
        xml.element("LastModified", S3Time.iso8601(info.lastModified))
        xml.element("ETag", info.etag)
        xml.close("CopyPartResult")
        return Self.xml(xml.text)
    }

    /// Every part of an upload, by number.
    func parts(_ id: String) async throws -> [(number: Int, info: ObjectInfo)] {
        var result: [(Int, ObjectInfo)] = []
        var cursor: String?
        repeat {
            let page = try await objects.list(bucket: Self.partsBucket, ListObjectsRequest(prefix: id + "/", cursor: cursor, limit: 1000))
            for info in page.objects {
                if let number = Int(info.key.dropFirst(id.count + 1)) { result.append((number, info)) }
            }
            cursor = page.nextCursor
        } while cursor != nil
        return result.sorted { $0.0 < $1.0 }
    }

    func listParts(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal, id: String) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        let item = try await upload(id, bucket: bucket, key: key)
        let maxParts = min(1000, max(0, Int(call.query["max-parts"] ?? "") ?? 1000))
        let marker = Int(call.query["part-number-marker"] ?? "") ?? 0
        let all = try await parts(id).filter { $0.number > marker }
        let shown = Array(all.prefix(maxParts))
        var xml = XMLWriter()
        xml.open("ListPartsResult", namespaced: true)
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("UploadId", id)
        let owner = item["owner"]?.stringValue ?? ""
        xml.user("Initiator", owner)
        xml.user("Owner", owner)
        xml.element("StorageClass", "STANDARD")
        xml.element("PartNumberMarker", marker)
        if let last = shown.last { xml.element("NextPartNumberMarker", last.number) }
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", all.count > shown.count)
        for part in shown {
            xml.open("Part")
            xml.element("PartNumber", part.number)
            xml.element("LastModified", S3Time.iso8601(part.info.lastModified))
            xml.element("ETag", part.info.etag)
            xml.element("Size", part.info.size)
            xml.close("Part")
        }
        xml.close("ListPartsResult")
        return Self.xml(xml.text)
    }

    func listMultipartUploads(_ call: S3Call, _ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        try await prepareMultipart()
        let prefix = call.query["prefix"] ?? ""
        let maxUploads = min(1000, max(0, Int(call.query["max-uploads"] ?? "") ?? 1000))
        var uploads: [[String: JSONValue]] = []
        var cursor: String?
        repeat {
            let page = try await tables.query(table: Self.uploadsTable, TableQuery(index: "by_bucket", partition: .string(bucket), limit: 1000, cursor: cursor))
            uploads += page.items.map(\.item).filter { ($0["key"]?.stringValue ?? "").hasPrefix(prefix) }
            cursor = page.nextCursor
        } while cursor != nil
        let shown = uploads.prefix(maxUploads)
        var xml = XMLWriter()
        xml.open("ListMultipartUploadsResult", namespaced: true)
        xml.element("Bucket", bucket)
        xml.element("KeyMarker", call.query["key-marker"] ?? "")
        xml.element("UploadIdMarker", call.query["upload-id-marker"] ?? "")
        xml.element("Prefix", prefix)
        xml.element("MaxUploads", maxUploads)
        xml.element("IsTruncated", uploads.count > shown.count)
        for upload in shown {
            let owner = upload["owner"]?.stringValue ?? ""
            xml.open("Upload")
            xml.element("Key", upload["key"]?.stringValue ?? "")
            xml.element("UploadId", upload["upload_id"]?.stringValue ?? "")
            xml.user("Initiator", owner)
            xml.user("Owner", owner)
            xml.element("StorageClass", "STANDARD")
            xml.element("Initiated", S3Time.iso8601(upload["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) ?? Date()))
            xml.close("Upload")
        }
        xml.close("ListMultipartUploadsResult")
        return Self.xml(xml.text)
    }

    func abortMultipartUpload(_ bucket: String, _ key: String, _ principal: S3Principal, id: String) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        _ = try await upload(id, bucket: bucket, key: key)
        try await discard(id)
        return Response(status: .noContent)
    }

    /// Deletes an upload's parts and its row.
    func discard(_ id: String) async throws {
        for part in try await parts(id) { try await objects.delete(bucket: Self.partsBucket, key: part.info.key) }
        try await tables.delete(table: Self.uploadsTable, key: ItemKey(partition: .string(id)))
    }

    func completeMultipartUpload(_ call: S3Call, _ bucket: String, _ key: String, _ principal: S3Principal, _ signature: VerifiedSignature,
                                 id: String) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        let item = try await upload(id, bucket: bucket, key: key)
        var data = Data()
        for try await chunk in S3RequestBody(call.request.body, plan: try bodyPlan(call, signature)) {
            data.append(chunk)
            guard data.count <= 4 << 20 else { throw S3Error.malformedXML }
        }
        let requested = try CompleteRequestParser.parse(data)
        guard !requested.isEmpty else {
            throw S3Error("MalformedXML", status: 400, "The XML you provided was not well-formed or did not validate against our published schema: it names no part.")
        }
        let stored = Dictionary(try await parts(id).map { ($0.number, $0.info) }, uniquingKeysWith: { first, _ in first })
        // The order first, then each part, as S3 reports them.
        for (earlier, later) in zip(requested, requested.dropFirst()) where later.number <= earlier.number {
            throw S3Error("InvalidPartOrder", status: 400, "The list of parts was not in ascending order. Parts must be ordered by part number.")
        }
        var chosen: [ObjectInfo] = []
        for (index, part) in requested.enumerated() {
            guard let info = stored[part.number], Self.etagMatches(part.etag, info.etag) else {
                throw S3Error("InvalidPart", status: 400, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                              details: [("UploadId", id), ("PartNumber", String(part.number)), ("ETag", part.etag)])
            }
            if index < requested.count - 1, info.size < Self.minimumPartSize {
                throw S3Error("EntityTooSmall", status: 400, "Your proposed upload is smaller than the minimum allowed object size: every part but the last must be at least 5 MiB.",
                              details: [("ProposedSize", String(info.size)), ("MinSizeAllowed", String(Self.minimumPartSize)), ("PartNumber", String(part.number))])
            }
            chosen.append(info)
        }
        var md5s = Data()
        for info in chosen {
            let hex = info.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            md5s.append(contentsOf: stride(from: 0, to: hex.count, by: 2).compactMap { offset -> UInt8? in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
            })
        }
        let etag = "\"\(SigV4.hex(Insecure.MD5.hash(data: md5s)))-\(chosen.count)\""
        var metadata: [String: String] = [:]
        if case .object(let stored)? = item["metadata"] { for (name, value) in stored { metadata[name] = value.stringValue } }
        metadata[Self.etagKey] = etag
        // An upload made with x-amz-checksum-algorithm gets S3's composite checksum: the checksum of the parts' checksums
        // (decoded, concatenated), then `-N`. Every part must carry it.
        var composite: (algorithm: S3ChecksumAlgorithm, value: String)?
        if let name = item["checksum_algorithm"]?.stringValue, let algorithm = S3ChecksumAlgorithm(name: name) {
            var checksum = S3Checksum(algorithm)
            for (info, part) in zip(chosen, requested) {
                guard let text = info.metadata[Self.systemPrefix + algorithm.headerName], let raw = Data(base64Encoded: text) else {
                    throw S3Error.invalidRequest("The upload was created with checksum algorithm \(algorithm.rawValue.uppercased()), but part \(part.number) was uploaded without an \(algorithm.headerName) checksum.")
                }
                checksum.update(raw)
            }
            composite = (algorithm, "\(checksum.finalize())-\(chosen.count)")
            metadata[Self.systemPrefix + algorithm.headerName] = composite?.value
        }
        let attributes = ObjectAttributes(contentType: item["content_type"]?.stringValue ?? "binary/octet-stream", metadata: metadata)
        _ = try await store(bucket: bucket, key: key, body: ConcatenatedParts(objects: objects, keys: chosen.map(\.key)), attributes: attributes)
        try await discard(id)
        var xml = XMLWriter()
        xml.open("CompleteMultipartUploadResult", namespaced: true)
        xml.element("Location", "/\(bucket)/\(SigV4.uriEncode(key, keepSlash: true))")
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("ETag", etag)
        if let composite {
            xml.element("Checksum" + composite.algorithm.rawValue.uppercased(), composite.value)
            xml.element("ChecksumType", "COMPOSITE")
        }
        xml.close("CompleteMultipartUploadResult")
        return Self.xml(xml.text)
    }
}

/// The parts of an upload read one after another, each opened when the previous one ends: what Complete streams
/// into the final object.
struct ConcatenatedParts: AsyncSequence, Sendable {
    typealias Element = Data
    let objects: any ObjectStore
    let keys: [String]

    struct AsyncIterator: AsyncIteratorProtocol {
        let objects: any ObjectStore
        var keys: ArraySlice<String>
        var current: ObjectChunks.AsyncIterator?

        mutating func next() async throws -> Data? {
            while true {
                if var iterator = current {
                    let chunk = try await iterator.next()
                    current = iterator
                    if let chunk { return chunk }
                    current = nil
                }
                guard let key = keys.popFirst() else { return nil }
                current = try await objects.read(bucket: S3Server.partsBucket, key: key, range: nil).body.makeAsyncIterator()
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(objects: objects, keys: keys[...], current: nil) }
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…</CompleteMultipartUpload>`.
final class CompleteRequestParser: NSObject, XMLParserDelegate {
    private var parts: [(number: Int, etag: String)] = []
    private var number: Int?
    private var etag: String?
    private var text = ""
    private var valid = true

    static func parse(_ data: Data) throws -> [(number: Int, etag: String)] {
        let delegate = CompleteRequestParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse(), delegate.valid else { throw S3Error.malformedXML }
        return delegate.parts
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elementName == "Part" { (number, etag) = (nil, nil) }
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch elementName {
        case "PartNumber": number = Int(value)
        case "ETag": etag = value
        case "Part":
            if let number, let etag { parts.append((number, etag)) } else { valid = false }
        default: break
        }
        text = ""
    }
}

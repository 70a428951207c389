import AerieAuth
import AerieCore
import Foundation
import Hummingbird

// Bucket operations and listings.
extension S3Server {
    func listBuckets(_ principal: S3Principal) async throws -> Response {
        var xml = XMLWriter()
        xml.open("ListAllMyBucketsResult", namespaced: true)
        xml.user("Owner", principal.username)
        xml.open("Buckets")
        for bucket in try await objects.listBuckets().sorted(by: { $0.name < $1.name }) where bucket.name != Self.partsBucket {
            guard try await owners.allows(username: principal.username, role: principal.role, bucket: bucket.name) else { continue }
            xml.open("Bucket")
            xml.element("Name", bucket.name)
            xml.element("CreationDate", S3Time.iso8601(bucket.createdAt))
            xml.close("Bucket")
        }
        xml.close("Buckets")
        xml.close("ListAllMyBucketsResult")
        return Self.xml(xml.text)
    }

    func createBucket(_ bucket: String, _ principal: S3Principal) async throws -> Response {
        if principal.readOnly {
            throw S3Error.accessDenied("This S3 credential is read-only; use a credential made without --read-only to create buckets.")
        }
        do {
            try ObjectNames.validateBucket(bucket)
        } catch {
            throw S3Error.invalidBucketName(bucket)
        }
        if try await objects.bucket(bucket) != nil {
            guard try await owners.owner(of: bucket) == principal.username else { throw S3Error.bucketAlreadyExists(bucket) }
            // As S3: in us-east-1 creating a bucket you already own succeeds and changes nothing; elsewhere it is a 409.
            guard configuration.region == "us-east-1" else { throw S3Error.bucketAlreadyOwnedByYou(bucket) }
            return Response(status: .ok, headers: [.location: "/\(bucket)", .contentLength: "0"])
        }
        do {
            _ = try await objects.createBucket(bucket)
        } catch let error as AerieError where error.code == .alreadyExists {
            throw S3Error.bucketAlreadyExists(bucket)
        }
        try await owners.setOwner(principal.username, of: bucket)
        return Response(status: .ok, headers: [.location: "/\(bucket)", .contentLength: "0"])
    }

    /// Throws `NoSuchBucket` unless the bucket exists; then checks access.
    func existingBucket(_ bucket: String, _ principal: S3Principal, write: Bool) async throws {
        guard try await objects.bucket(bucket) != nil else { throw S3Error.noSuchBucket(bucket) }
        try await authorize(principal, bucket: bucket, write: write)
    }

    func headBucket(_ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        return Response(status: .ok, headers: [S3Headers.bucketRegion: configuration.region, .contentLength: "0"])
    }

    func deleteBucket(_ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        // An installed app's own bucket (quickstart, pipeline, …) stays while the app runs, empty or not.
        if let holder = (objects as? CheckedObjectStore)?.appResources.holder(of: .bucket, bucket) {
            throw S3Error("InvalidBucketState", status: 409, "The bucket holds \(holder)'s data and cannot be deleted while it is installed.")
        }
        do {
            try await objects.deleteBucket(bucket)
        } catch let error as AerieError where error.code == .conflict {
            throw S3Error.bucketNotEmpty(bucket)
        }
        try await owners.remove(bucket)
        return Response(status: .noContent)
    }

    func bucketLocation(_ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        // us-east-1 is reported as an empty constraint, as S3 does.
        let region = configuration.region == "us-east-1" ? "" : configuration.region
        return Self.xml(XMLWriter().text + "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(XMLWriter.escape(region))</LocationConstraint>")
    }

    func bucketVersioning(_ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        return Self.xml(XMLWriter().text + "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>")
    }

    /// ListObjectsV2 (`version` 2) and ListObjects (1): prefix, delimiter, max-keys, continuation token / marker,
    /// start-after, encoding-type=url.
    func listObjects(_ call: S3Call, _ bucket: String, _ principal: S3Principal, version: Int) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        let prefix = call.query["prefix"] ?? ""
        let delimiter = call.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        // Ceph RGW's `allow-unordered=true` (listings in any order, faster there): Aerie's are always ordered, which
        // satisfies it; as in RGW, it cannot be combined with a delimiter.
        if call.query["allow-unordered"]?.lowercased() == "true", delimiter != nil {
            throw S3Error.invalidArgument("allow-unordered cannot be combined with a delimiter.", name: "allow-unordered", value: "true")
        }
        let maxKeys = try Self.maxKeys(call)
        let encodeURL: Bool
        switch call.query["encoding-type"] {
        case nil: encodeURL = false
        case "url": encodeURL = true
        case let other?: throw S3Error.invalidArgument("Invalid Encoding Method specified in Request", name: "encoding-type", value: other)
        }
        func encoded(_ text: String) -> String { encodeURL ? SigV4.uriEncode(text, keepSlash: true) : text }

        let continuation = version == 2 ? call.query["continuation-token"] : nil
        let startAfter = version == 2 ? call.query["start-after"] : call.query["marker"]
        var cursor: String?
        if let continuation {
            guard let decoded = Base64URL.decode(continuation), String(data: decoded, encoding: .utf8) != nil else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect", name: "continuation-token", value: continuation)
            }
            cursor = continuation
        } else if let startAfter, !startAfter.isEmpty {
            cursor = Base64URL.encode(Data(startAfter.utf8))
        }
        var listing = ObjectListing(objects: [], commonPrefixes: [], nextCursor: nil)
        if maxKeys > 0 {
            do {
                listing = try await objects.list(bucket: bucket, ListObjectsRequest(prefix: prefix, delimiter: delimiter, cursor: cursor, limit: maxKeys))
            } catch let error as AerieError where error.code == .invalidArgument && error.field == "cursor" {
                throw S3Error.invalidArgument("The continuation token provided is incorrect", name: "continuation-token", value: cursor)
            }
        }
        let truncated = listing.nextCursor != nil

        var xml = XMLWriter()
        xml.open("ListBucketResult", namespaced: true)
        xml.element("Name", bucket)
        // S3 URL-encodes the prefix of a v2 listing but not of a v1 one (botocore decodes accordingly).
        xml.element("Prefix", version == 2 ? encoded(prefix) : prefix)
        if version == 1 { xml.element("Marker", encoded(startAfter ?? "")) }
        if version == 2, let startAfter { xml.element("StartAfter", encoded(startAfter)) }
        if version == 2, let continuation { xml.element("ContinuationToken", continuation) }
        if version == 2 { xml.element("KeyCount", listing.objects.count + listing.commonPrefixes.count) }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encoded(delimiter)) }
        if encodeURL { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", truncated)
        if let next = listing.nextCursor {
            if version == 2 {
                xml.element("NextContinuationToken", next)
            } else if delimiter != nil, let data = Base64URL.decode(next) {
                xml.element("NextMarker", encoded(String(decoding: data, as: UTF8.self)))
            }
        }
        // Every object of a bucket has the bucket's owner: read it once, and only when the listing shows it.
        let owner = version == 1 || call.query["fetch-owner"] == "true" ? try await owners.owner(of: bucket) : nil
        for object in listing.objects {
            xml.open("Contents")
            xml.element("Key", encoded(object.key))
            xml.element("LastModified", S3Time.iso8601(object.lastModified))
            xml.element("ETag", Self.s3ETag(object))
            xml.element("Size", object.size)
            if let owner { xml.user("Owner", owner) }
            xml.element("StorageClass", "STANDARD")
            xml.close("Contents")
        }
        xml.commonPrefixes(listing.commonPrefixes, encoded: encoded)
        xml.close("ListBucketResult")
        return Self.xml(xml.text)
    }

    /// A listing's `max-keys`: 1000 when absent, at most 1000; not a number from 0 is `InvalidArgument`.
    static func maxKeys(_ call: S3Call) throws -> Int {
        guard let text = call.query["max-keys"] else { return 1000 }
        guard let value = Int(text), value >= 0 else {
            throw S3Error.invalidArgument("max-keys must be a number from 0.", name: "max-keys", value: text)
        }
        return min(value, 1000)
    }

    /// ListObjectVersions on Aerie's unversioned buckets: every object once, as its only version `null` (what S3
    /// answers for a bucket that never had versioning). Cleanup code (s3-tests' and many tools') lists this way.
    func listObjectVersions(_ call: S3Call, _ bucket: String, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        let prefix = call.query["prefix"] ?? ""
        let delimiter = call.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try Self.maxKeys(call)
        let encodeURL = call.query["encoding-type"] == "url"
        func encoded(_ text: String) -> String { encodeURL ? SigV4.uriEncode(text, keepSlash: true) : text }
        let keyMarker = call.query["key-marker"] ?? ""
        var listing = ObjectListing(objects: [], commonPrefixes: [], nextCursor: nil)
        if maxKeys > 0 {
            let cursor = keyMarker.isEmpty ? nil : Base64URL.encode(Data(keyMarker.utf8))
            listing = try await objects.list(bucket: bucket, ListObjectsRequest(prefix: prefix, delimiter: delimiter, cursor: cursor, limit: maxKeys))
        }
        let owner = try await owners.owner(of: bucket)
        var xml = XMLWriter()
        xml.open("ListVersionsResult", namespaced: true)
        xml.element("Name", bucket)
        xml.element("Prefix", encoded(prefix))
        xml.element("KeyMarker", encoded(keyMarker))
        xml.element("VersionIdMarker", call.query["version-id-marker"] ?? "")
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encoded(delimiter)) }
        if encodeURL { xml.element("EncodingType", "url") }
        xml.element("IsTruncated", listing.nextCursor != nil)
        if let next = listing.nextCursor, let data = Base64URL.decode(next) {
            xml.element("NextKeyMarker", encoded(String(decoding: data, as: UTF8.self)))
            xml.element("NextVersionIdMarker", "null")
        }
        for object in listing.objects {
            xml.open("Version")
            xml.element("Key", encoded(object.key))
            xml.element("VersionId", "null")
            xml.element("IsLatest", true)
            xml.element("LastModified", S3Time.iso8601(object.lastModified))
            xml.element("ETag", Self.s3ETag(object))
            xml.element("Size", object.size)
            xml.user("Owner", owner)
            xml.element("StorageClass", "STANDARD")
            xml.close("Version")
        }
        xml.commonPrefixes(listing.commonPrefixes, encoded: encoded)
        xml.close("ListVersionsResult")
        return Self.xml(xml.text)
    }

    // MARK: ACLs

    /// GetBucketAcl and GetObjectAcl: Aerie's only access model, private to the bucket's owner (admins see every bucket),
    /// shown as S3's owner-only policy.
    func getACL(_ bucket: String, key: String?, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: false)
        if let key, try await objects.head(bucket: bucket, key: key) == nil { throw S3Error.noSuchKey(key) }
        let owner = try await owners.owner(of: bucket)
        var xml = XMLWriter()
        xml.open("AccessControlPolicy", namespaced: true)
        xml.user("Owner", owner)
        xml.open("AccessControlList")
        xml.raw("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">")
        xml.element("ID", owner)
        xml.element("DisplayName", owner)
        xml.raw("</Grantee>")
        xml.element("Permission", "FULL_CONTROL")
        xml.raw("</Grant>")
        xml.close("AccessControlList")
        xml.close("AccessControlPolicy")
        return Self.xml(xml.text)
    }

    /// PutBucketAcl and PutObjectAcl: only the canned `private` ACL, which is what every bucket and object already is;
    /// any other ACL (a grant, public-read…) is `NotImplemented` rather than silently ignored.
    func putACL(_ call: S3Call, _ bucket: String, key: String?, _ principal: S3Principal) async throws -> Response {
        try await existingBucket(bucket, principal, write: true)
        if let key, try await objects.head(bucket: bucket, key: key) == nil { throw S3Error.noSuchKey(key) }
        let grants = call.request.headers.contains { $0.name.canonicalName.hasPrefix("x-amz-grant-") }
        let length = Int(call.header("content-length") ?? "0") ?? 0
        guard call.header("x-amz-acl")?.lowercased() == "private", !grants, length == 0 else {
            throw S3Error.notImplemented("ACLs other than the canned \"private\" (Aerie's buckets are private to their owner)")
        }
        return Response(status: .ok, headers: [.contentLength: "0"])
    }
}

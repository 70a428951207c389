import AerieAuth
import AerieCore
import Foundation
import Hummingbird

// Bucket operations and listings.
extension S3Server {
    func listBuckets(_ principal: S3Principal) async throws -> Response {
        var xml = XMLWriter()
        xml.open("ListAllMyBucketsResult", namespaced: true)
        xml.open("Owner")
        xml.element("ID", principal.username)
        xml.element("DisplayName", principal.username)
        xml.close("Owner")
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
            throw try await owners.owner(of: bucket) == principal.username ? S3Error.bucketAlreadyOwnedByYou(bucket) : S3Error.bucketAlreadyExists(bucket)
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
        var maxKeys = 1000
        if let text = call.query["max-keys"] {
            guard let value = Int(text), value >= 0 else {
                throw S3Error.invalidArgument("max-keys must be a number from 0.", name: "max-keys", value: text)
            }
            maxKeys = min(value, 1000)
        }
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
        xml.element("Prefix", encoded(prefix))
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
        for object in listing.objects {
            xml.open("Contents")
            xml.element("Key", encoded(object.key))
            xml.element("LastModified", S3Time.iso8601(object.lastModified))
            xml.element("ETag", Self.s3ETag(object))
            xml.element("Size", object.size)
            if version == 1 || call.query["fetch-owner"] == "true" {
                let owner = try await owners.owner(of: bucket)
                xml.open("Owner")
                xml.element("ID", owner)
                xml.element("DisplayName", owner)
                xml.close("Owner")
            }
            xml.element("StorageClass", "STANDARD")
            xml.close("Contents")
        }
        for common in listing.commonPrefixes {
            xml.open("CommonPrefixes")
            xml.element("Prefix", encoded(common))
            xml.close("CommonPrefixes")
        }
        xml.close("ListBucketResult")
        return Self.xml(xml.text)
    }
}

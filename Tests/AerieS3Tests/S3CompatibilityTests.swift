import AerieAuth
import AerieCore
import AerieS3
import AerieSQLite
import Crypto
import Foundation
import Testing

/// What ceph's s3-tests (`make test-s3`) found missing or different, each pinned here.
@Suite struct S3CompatibilityTests {
    @Test("Re-creating your own bucket: 200 in us-east-1 with its objects kept, BucketAlreadyOwnedByYou elsewhere")
    func recreateOwnBucket() async throws {
        let east = try await S3Fixture.make()
        try await east.test { (client: S3Client) async throws in
            #expect(try await client.send(east.bob, .put, "/mine").status == .ok)
            #expect(try await client.send(east.bob, .put, "/mine/k", body: Data("kept".utf8)).status == .ok)
            #expect(try await client.send(east.bob, .put, "/mine").status == .ok)
            #expect(try await client.send(east.bob, .get, "/mine/k").text == "kept")
            #expect(try await client.send(east.alice, .put, "/mine").errorCode == "BucketAlreadyExists")
        }
        var configuration = S3Configuration()
        configuration.region = "eu-west-1"
        let west = try await S3Fixture.make(configuration: configuration)
        try await west.test { (client: S3Client) async throws in
            #expect(try await client.send(west.bob, .put, "/mine").status == .ok)
            let again = try await client.send(west.bob, .put, "/mine")
            #expect(again.status == .conflict)
            #expect(again.errorCode == "BucketAlreadyOwnedByYou")
        }
    }

    @Test("Conditional PUT: If-Match and If-None-Match (ETags or *) refuse with 412 and store nothing")
    func conditionalPut() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/cond")
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-Match", "*")], body: Data("x".utf8)).errorCode == "PreconditionFailed")
            #expect(try await client.send(s3.bob, .head, "/cond/new").status == .notFound)
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-None-Match", "*")], body: Data("one".utf8)).status == .ok)
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-None-Match", "*")], body: Data("two".utf8)).errorCode == "PreconditionFailed")
            let etag = try #require(try await client.send(s3.bob, .head, "/cond/new").header("etag"))
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-None-Match", etag)], body: Data("two".utf8)).status == .preconditionFailed)
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-Match", "\"0123\"")], body: Data("two".utf8)).status == .preconditionFailed)
            #expect(try await client.send(s3.bob, .get, "/cond/new").text == "one")
            #expect(try await client.send(s3.bob, .put, "/cond/new", headers: [("If-Match", etag)], body: Data("three".utf8)).status == .ok)
            #expect(try await client.send(s3.bob, .get, "/cond/new").text == "three")
        }
    }

    @Test("ACLs: Get shows the owner's FULL_CONTROL; Put takes the canned private ACL only (others NotImplemented)")
    func acls() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/acl-bucket")
            try await client.send(s3.bob, .put, "/acl-bucket/k", body: Data("x".utf8))
            for path in ["/acl-bucket", "/acl-bucket/k"] {
                let policy = try await client.send(s3.bob, .get, path, query: "acl")
                #expect(policy.status == .ok)
                #expect(elements("ID", in: policy.text) == ["bob", "bob"])
                #expect(elements("Permission", in: policy.text) == ["FULL_CONTROL"])
                #expect(try await client.send(s3.bob, .put, path, query: "acl", headers: [("x-amz-acl", "private")]).status == .ok)
                #expect(try await client.send(s3.bob, .put, path, query: "acl", headers: [("x-amz-acl", "public-read")]).errorCode == "NotImplemented")
                #expect(try await client.send(s3.alice, .get, path, query: "acl").errorCode == "AccessDenied")
            }
            #expect(try await client.send(s3.bob, .get, "/acl-bucket/missing", query: "acl").errorCode == "NoSuchKey")
            #expect(try await client.send(s3.bobReadOnly, .put, "/acl-bucket", query: "acl", headers: [("x-amz-acl", "private")]).errorCode == "AccessDenied")
        }
    }

    @Test("ListObjectVersions on an unversioned bucket: every object once as version null, paged by key-marker")
    func listVersions() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/ver")
            for key in ["a", "b/c", "b/d"] { try await client.send(s3.bob, .put, "/ver/\(key)", body: Data(key.utf8)) }
            let all = try await client.send(s3.bob, .get, "/ver", query: "versions")
            #expect(all.text.contains("<ListVersionsResult"))
            #expect(elements("Key", in: all.text) == ["a", "b/c", "b/d"])
            #expect(elements("VersionId", in: all.text) == ["null", "null", "null"])
            let page = try await client.send(s3.bob, .get, "/ver", query: "max-keys=2&versions")
            #expect(elements("IsTruncated", in: page.text) == ["true"])
            #expect(elements("NextKeyMarker", in: page.text) == ["b/c"])
            let rest = try await client.send(s3.bob, .get, "/ver", query: "key-marker=b%2Fc&versions")
            #expect(elements("Key", in: rest.text) == ["b/d"])
            let rolled = try await client.send(s3.bob, .get, "/ver", query: "delimiter=%2F&versions")
            #expect(elements("Prefix", in: rolled.text).contains("b/"))
        }
    }

    @Test("ListObjects v1 with encoding-type=url encodes keys and the marker but not the prefix; v2 encodes the prefix")
    func listPrefixEncoding() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/enc")
            try await client.send(s3.bob, .put, "/enc/a%20b", body: Data("x".utf8))
            let v1 = try await client.send(s3.bob, .get, "/enc", query: "encoding-type=url&prefix=a%20")
            #expect(elements("Prefix", in: v1.text) == ["a "])
            #expect(elements("Key", in: v1.text) == ["a%20b"])
            let v2 = try await client.send(s3.bob, .get, "/enc", query: "encoding-type=url&list-type=2&prefix=a%20")
            #expect(elements("Prefix", in: v2.text) == ["a%20"])
            // RGW's allow-unordered: accepted (Aerie's listings are ordered anyway), refused with a delimiter.
            #expect(elements("Key", in: try await client.send(s3.bob, .get, "/enc", query: "allow-unordered=true").text) == ["a b"])
            for query in ["allow-unordered=true&delimiter=%2F", "allow-unordered=true&delimiter=%2F&list-type=2"] {
                #expect(try await client.send(s3.bob, .get, "/enc", query: query).errorCode == "InvalidArgument")
            }
        }
    }

    @Test("A checksum trailer is stored with the object (memory and file drivers) and returned in checksum mode, not on a range; a composite -N for multipart", arguments: [false, true])
    func trailerChecksumsAndComposites(embedded: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-s3-sums-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let s3 = try await S3Fixture.make(primitives: embedded ? try EmbeddedStorage(directory: directory).primitives : .memory())
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/sums")
            let payload = Data(repeating: 0x61, count: 70_000)
            var crc = S3Checksum(.crc32)
            crc.update(payload)
            let headers = [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(payload.count)),
                           ("x-amz-trailer", "x-amz-checksum-crc32")]
            let body = S3ServerTests.awsChunked([payload], signer: nil, seed: "", date: Date(), trailer: ("x-amz-checksum-crc32", crc.finalize()))
            let put = try await client.send(s3.bob, .put, "/sums/t", headers: headers, body: body, payloadHash: SigV4.streamingUnsignedPayloadTrailer)
            #expect(put.header("x-amz-checksum-crc32") == crc.finalize())
            let head = try await client.send(s3.bob, .head, "/sums/t", headers: [("x-amz-checksum-mode", "ENABLED")])
            #expect(head.header("x-amz-checksum-crc32") == crc.finalize())
            #expect(try await client.send(s3.bob, .head, "/sums/t").header("x-amz-checksum-crc32") == nil)
            let ranged = try await client.send(s3.bob, .get, "/sums/t", headers: [("x-amz-checksum-mode", "ENABLED"), ("Range", "bytes=0-9")])
            #expect(ranged.status == .partialContent)
            #expect(ranged.header("x-amz-checksum-crc32") == nil)

            // Multipart with SHA-256: part checksums in headers, the composite over their decoded bytes.
            let created = try await client.send(s3.bob, .post, "/sums/m", query: "uploads", headers: [("x-amz-checksum-algorithm", "SHA256")])
            let id = try #require(elements("UploadId", in: created.text).first)
            let parts = [Data(repeating: 1, count: 5 << 20), Data("tail".utf8)]
            var etags: [String] = []
            for (index, part) in parts.enumerated() {
                let sum = Data(SHA256.hash(data: part)).base64EncodedString()
                let uploaded = try await client.send(s3.bob, .put, "/sums/m", query: "partNumber=\(index + 1)&uploadId=\(id)",
                                                     headers: [("x-amz-checksum-sha256", sum)], body: part)
                etags.append(try #require(uploaded.header("etag")))
            }
            let completion = S3MultipartTests.completion(etags.enumerated().map { ($0.offset + 1, $0.element) })
            let done = try await client.send(s3.bob, .post, "/sums/m", query: "uploadId=\(id)", body: completion)
            let composite = Data(SHA256.hash(data: parts.map { Data(SHA256.hash(data: $0)) }.reduce(Data(), +))).base64EncodedString() + "-2"
            #expect(elements("ChecksumSHA256", in: done.text) == [composite])
            let final = try await client.send(s3.bob, .head, "/sums/m", headers: [("x-amz-checksum-mode", "ENABLED")])
            #expect(final.header("x-amz-checksum-sha256") == composite)
            #expect(final.header("x-amz-checksum-type") == "COMPOSITE")

            // A part without the declared checksum makes Complete fail.
            let other = try await client.send(s3.bob, .post, "/sums/n", query: "uploads", headers: [("x-amz-checksum-algorithm", "CRC32")])
            let otherId = try #require(elements("UploadId", in: other.text).first)
            let bare = try await client.send(s3.bob, .put, "/sums/n", query: "partNumber=1&uploadId=\(otherId)", body: Data("x".utf8))
            let refused = try await client.send(s3.bob, .post, "/sums/n", query: "uploadId=\(otherId)",
                                                body: S3MultipartTests.completion([(1, try #require(bare.header("etag")))]))
            #expect(refused.errorCode == "InvalidRequest")
        }
    }

    @Test("UploadPartCopy: a copy range not shaped bytes=first-last is 400 InvalidArgument; one past the end 416 InvalidRange")
    func copyRangeShapes() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { (client: S3Client) async throws in
            try await client.send(s3.bob, .put, "/copyrange")
            try await client.send(s3.bob, .put, "/copyrange/source", body: Data("01234".utf8))
            let created = try await client.send(s3.bob, .post, "/copyrange/dest", query: "uploads")
            let id = try #require(elements("UploadId", in: created.text).first)
            for range in ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-", "bytes=0-2,3-5", "bytes=3-"] {
                let response = try await client.send(s3.bob, .put, "/copyrange/dest", query: "partNumber=1&uploadId=\(id)",
                                                     headers: [("x-amz-copy-source", "/copyrange/source"), ("x-amz-copy-source-range", range)])
                #expect(response.status == .badRequest, "\(range)")
                #expect(response.errorCode == "InvalidArgument", "\(range)")
            }
            let past = try await client.send(s3.bob, .put, "/copyrange/dest", query: "partNumber=1&uploadId=\(id)",
                                             headers: [("x-amz-copy-source", "/copyrange/source"), ("x-amz-copy-source-range", "bytes=0-21")])
            #expect(past.errorCode == "InvalidRange")
            let good = try await client.send(s3.bob, .put, "/copyrange/dest", query: "partNumber=1&uploadId=\(id)",
                                             headers: [("x-amz-copy-source", "/copyrange/source"), ("x-amz-copy-source-range", "bytes=1-3")])
            #expect(good.status == .ok)
        }
    }
}

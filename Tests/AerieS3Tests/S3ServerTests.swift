import AerieAuth
import AerieCore
import AerieSQLite
@testable import AerieS3
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOEmbedded
import Testing

@Suite struct S3ServerTests {
    @Test("Buckets: create (owned by the creator), head, location, list, delete; BucketNotEmpty; names checked")
    func buckets() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            #expect(try await client.send(s3.bob, .put, "/photos").status == .ok)
            #expect(try await s3.server.owners.owner(of: "photos") == "bob")
            // us-east-1 (the default region): re-creating your own bucket succeeds (s3-tests' recreate case); see
            // S3CompatibilityTests for the 409 of other regions.
            #expect(try await client.send(s3.bob, .put, "/photos").status == .ok)
            #expect(try await client.send(s3.alice, .put, "/photos").errorCode == "BucketAlreadyExists")
            #expect(try await client.send(s3.bob, .put, "/Bad_Name").errorCode == "InvalidBucketName")
            #expect(try await client.send(s3.bob, .head, "/photos").status == .ok)
            #expect(try await client.send(s3.bob, .head, "/nothing-here").status == .notFound)
            let location = try await client.send(s3.bob, .get, "/photos", query: "location")
            #expect(location.text.contains("<LocationConstraint"))

            try await s3.primitives.ensureAppBucket("quickstart", app: "quickstart")
            let bobs = try await client.send(s3.bob, .get, "/")
            #expect(elements("Name", in: bobs.text) == ["photos"])
            let admins = try await client.send(s3.admin, .get, "/")
            #expect(elements("Name", in: admins.text) == ["photos", "quickstart"])

            #expect(try await client.send(s3.bob, .put, "/photos/a.txt", body: Data("x".utf8)).status == .ok)
            let notEmpty = try await client.send(s3.bob, .delete, "/photos")
            #expect(notEmpty.status == .conflict)
            #expect(notEmpty.errorCode == "BucketNotEmpty")
            #expect(try await client.send(s3.bob, .delete, "/photos/a.txt").status == .noContent)
            #expect(try await client.send(s3.bob, .delete, "/photos").status == .noContent)
            #expect(try await client.send(s3.bob, .head, "/photos").status == .notFound)
            // An installed app's bucket stays, empty or not, even for an admin.
            let appBucket = try await client.send(s3.admin, .delete, "/quickstart")
            #expect(appBucket.status == .conflict)
            #expect(appBucket.errorCode == "InvalidBucketState")
            #expect(try await client.send(s3.admin, .head, "/quickstart").status == .ok)
            #expect(try await client.send(s3.bob, .get, "/photos", query: "list-type=2").errorCode == "NoSuchBucket")
        }
    }

    @Test("Ownership: users reach only their buckets, admins all (built-in buckets are the admin's); read-only credentials only read")
    func ownership() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.primitives.objects.ensureBucket("quickstart")
        try await s3.test { client in
            #expect(try await client.send(s3.bob, .put, "/bobs").status == .ok)
            #expect(try await client.send(s3.bob, .put, "/bobs/k", body: Data("v".utf8)).status == .ok)
            for (method, path) in [(HTTPRequest.Method.get, "/bobs/k"), (.put, "/bobs/k2"), (.delete, "/bobs/k"), (.head, "/bobs"),
                                   (.get, "/bobs")] {
                let denied = try await client.send(s3.alice, method, path)
                #expect(denied.status == .forbidden, "\(method) \(path)")
                if method != .head { #expect(denied.errorCode == "AccessDenied") }
            }
            #expect(try await client.send(s3.bob, .put, "/quickstart/incoming/x.txt", body: Data("hi".utf8)).errorCode == "AccessDenied")
            #expect(try await client.send(s3.admin, .get, "/bobs/k").text == "v")
            #expect(try await client.send(s3.admin, .put, "/quickstart/incoming/x.txt", body: Data("hi".utf8)).status == .ok)

            #expect(try await client.send(s3.bobReadOnly, .get, "/bobs/k").text == "v")
            #expect(try await client.send(s3.bobReadOnly, .put, "/bobs/k", body: Data("w".utf8)).errorCode == "AccessDenied")
            #expect(try await client.send(s3.bobReadOnly, .delete, "/bobs/k").errorCode == "AccessDenied")
            #expect(try await client.send(s3.bobReadOnly, .put, "/another").errorCode == "AccessDenied")
            #expect(try await client.send(s3.bob, .get, "/bobs/k").text == "v")
        }
    }

    @Test("Authentication: anonymous, unknown key, wrong secret, skewed clock, presigned and expired URLs, revoked credentials")
    func authentication() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            #expect(try await client.send(s3.bob, .put, "/auth-bucket").status == .ok)
            #expect(try await client.send(s3.bob, .put, "/auth-bucket/k", body: Data("secret".utf8)).status == .ok)

            let anonymous = try await client.send(nil, .get, "/auth-bucket/k")
            #expect(anonymous.status == .forbidden)
            #expect(anonymous.errorCode == "AccessDenied")
            let requestId = try #require(anonymous.header("x-amz-request-id"))
            #expect(anonymous.text.contains("<RequestId>\(requestId)</RequestId>"))
            #expect(anonymous.header("content-type") == "application/xml")

            let unknown = SigV4Signer(accessKeyId: "AKNOSUCHKEY", secretAccessKey: s3.bob.secretAccessKey)
            #expect(try await client.send(unknown, .get, "/auth-bucket/k").errorCode == "InvalidAccessKeyId")
            let wrong = SigV4Signer(accessKeyId: s3.bob.accessKeyId, secretAccessKey: "not-the-secret")
            let mismatch = try await client.send(wrong, .get, "/auth-bucket/k")
            #expect(mismatch.status == .forbidden)
            #expect(mismatch.errorCode == "SignatureDoesNotMatch")
            #expect(mismatch.text.contains("<StringToSign>"))
            let skewed = try await client.send(s3.bob, .get, "/auth-bucket/k", date: Date().addingTimeInterval(-16 * 60))
            #expect(skewed.errorCode == "RequestTimeTooSkewed")
            #expect(try await client.send(s3.bob, .get, "/auth-bucket/k", date: Date().addingTimeInterval(-10 * 60)).text == "secret")
            // A body other than the one whose hash was signed.
            let tampered = try await client.send(s3.bob, .put, "/auth-bucket/k", body: Data("other".utf8),
                                                 payloadHash: SigV4.sha256Hex(Data("signed".utf8)))
            #expect(tampered.errorCode == "XAmzContentSHA256Mismatch")
            #expect(try await client.send(s3.bob, .get, "/auth-bucket/k").text == "secret")

            let query = s3.bob.presignedQuery(method: "GET", path: "/auth-bucket/k", host: "localhost", expires: 60)
            #expect(try await client.client.execute(uri: "/auth-bucket/k?\(query)", method: .get, headers: [:], body: nil).text == "secret")
            let old = s3.bob.presignedQuery(method: "GET", path: "/auth-bucket/k", host: "localhost", expires: 60,
                                            date: Date().addingTimeInterval(-120))
            let expired = try await client.client.execute(uri: "/auth-bucket/k?\(old)", method: .get, headers: [:], body: nil)
            #expect(expired.status == .forbidden)
            #expect(expired.text.contains("Request has expired"))
            let otherKey = try await client.client.execute(uri: "/auth-bucket/other?\(query)", method: .get, headers: [:], body: nil)
            #expect(otherKey.errorCode == "SignatureDoesNotMatch")

            try await s3.auth.revokeS3Credential(s3.bob.accessKeyId)
            #expect(try await client.send(s3.bob, .get, "/auth-bucket/k").errorCode == "InvalidAccessKeyId")
        }
    }

    @Test("Credentials: the secret is stored sealed, never in clear; listing by owner; the sealing key lives in the settings table")
    func credentialsAtRest() async throws {
        let s3 = try await S3Fixture.make()
        let page = try await s3.primitives.tables.query(table: AuthService.s3CredentialsTable, TableQuery(index: "by_kind", partition: .string("s3")))
        #expect(page.items.count == 4)
        for item in page.items {
            let text = String(decoding: try JSONCoding.encode(item.item), as: UTF8.self)
            for secret in [s3.admin, s3.bob, s3.alice, s3.bobReadOnly].map(\.secretAccessKey) { #expect(!text.contains(secret)) }
            #expect(item.item["sealed_secret"] != nil)
        }
        #expect(try await s3.primitives.tables.get(table: AuthService.settingsTable, key: ItemKey(partition: .string("s3-credential-key"))) != nil)
        #expect(try await s3.auth.listS3Credentials(owner: "bob").items.map(\.readOnly).sorted { !$0 && $1 } == [false, true])
        let principal = try #require(try await s3.auth.s3Principal(s3.alice.accessKeyId))
        #expect(principal.secretAccessKey == s3.alice.secretAccessKey)
        #expect(principal.username == "alice")
        _ = try await s3.auth.setDisabled("alice", true)
        #expect(try await s3.auth.s3Principal(s3.alice.accessKeyId) == nil)
    }

    @Test("Objects: put with metadata and content headers, get, head, ranges, conditionals, response overrides, delete")
    func objects() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/docs")
            let body = Data("Hello, S3 world!".utf8)
            let put = try await client.send(s3.bob, .put, "/docs/dir/hello.txt", headers: [
                ("Content-Type", "text/plain"), ("x-amz-meta-colour", "blue"), ("Cache-Control", "max-age=60"),
                ("Content-Disposition", "inline"),
            ], body: body)
            #expect(put.status == .ok)
            let etag = "\"\(SigV4.hex(Insecure.MD5.hash(data: body)))\""
            #expect(put.header("etag") == etag)

            let get = try await client.send(s3.bob, .get, "/docs/dir/hello.txt")
            #expect(get.data == body)
            #expect(get.header("content-type") == "text/plain")
            #expect(get.header("x-amz-meta-colour") == "blue")
            #expect(get.header("cache-control") == "max-age=60")
            #expect(get.header("content-disposition") == "inline")
            #expect(get.header("etag") == etag)
            #expect(get.header("x-amz-meta-aerie.s3.cache-control") == nil)

            let head = try await client.send(s3.bob, .head, "/docs/dir/hello.txt")
            #expect(head.status == .ok)
            #expect(head.header("content-length") == String(body.count))
            #expect(head.body.readableBytes == 0)

            let range = try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("Range", "bytes=7-8")])
            #expect(range.status == .partialContent)
            #expect(range.text == "S3")
            #expect(range.header("content-range") == "bytes 7-8/\(body.count)")
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("Range", "bytes=-6")]).text == "world!")
            let invalid = try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("Range", "bytes=100-200")])
            #expect(invalid.status == .rangeNotSatisfiable)
            #expect(invalid.errorCode == "InvalidRange")

            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-None-Match", etag)]).status == .notModified)
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-Match", "\"nope\"")]).status == .preconditionFailed)
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-Match", etag)]).status == .ok)
            let future = S3Time.httpDate(Date().addingTimeInterval(3600))
            let past = S3Time.httpDate(Date().addingTimeInterval(-3600))
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-Modified-Since", future)]).status == .notModified)
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-Modified-Since", past)]).status == .ok)
            #expect(try await client.send(s3.bob, .get, "/docs/dir/hello.txt", headers: [("If-Unmodified-Since", past)]).status == .preconditionFailed)

            let overridden = try await client.send(s3.bob, .get, "/docs/dir/hello.txt",
                                                   query: "response-content-type=application%2Fjson&response-content-disposition=attachment%3B%20filename%3Dx.txt")
            #expect(overridden.header("content-type") == "application/json")
            #expect(overridden.header("content-disposition") == "attachment; filename=x.txt")

            let missing = try await client.send(s3.bob, .get, "/docs/none")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "NoSuchKey")
            #expect(try await client.send(s3.bob, .head, "/docs/none").status == .notFound)

            // The same object through the Objects primitive (what /v1/buckets serves), and its event.
            let stored = try await s3.primitives.objects.get(bucket: "docs", key: "dir/hello.txt", range: nil)
            #expect(stored.body == body)
            let events = try await s3.primitives.events.read(topic: ObjectEvent.topic, from: 0, limit: 100)
            #expect(events.contains { String(decoding: $0.payload, as: UTF8.self).contains("dir/hello.txt") })

            #expect(try await client.send(s3.bob, .delete, "/docs/dir/hello.txt").status == .noContent)
            #expect(try await client.send(s3.bob, .delete, "/docs/dir/hello.txt").status == .noContent)
            #expect(try await s3.primitives.objects.head(bucket: "docs", key: "dir/hello.txt") == nil)
        }
    }

    @Test("Listings: v2 with prefix, delimiter, max-keys, continuation, start-after, encoding-type=url; v1 with marker")
    func listings() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/list")
            let keys = ["a.txt", "b/1.txt", "b/2.txt", "c/x/y.txt", "d e+f.txt"]
            for key in keys {
                #expect(try await client.send(s3.bob, .put, "/list/" + SigV4.uriEncode(key, keepSlash: true), body: Data(key.utf8)).status == .ok)
            }
            let all = try await client.send(s3.bob, .get, "/list", query: "list-type=2")
            #expect(elements("Key", in: all.text) == keys)
            #expect(elements("KeyCount", in: all.text) == ["5"])
            #expect(elements("IsTruncated", in: all.text) == ["false"])

            let rolled = try await client.send(s3.bob, .get, "/list", query: "delimiter=%2F&list-type=2")
            #expect(elements("Key", in: rolled.text) == ["a.txt", "d e+f.txt"])
            #expect(elements("Prefix", in: rolled.text).filter { !$0.isEmpty } == ["b/", "c/"])

            let prefixed = try await client.send(s3.bob, .get, "/list", query: "list-type=2&prefix=b%2F")
            #expect(elements("Key", in: prefixed.text) == ["b/1.txt", "b/2.txt"])

            var seen: [String] = []
            var token: String?
            repeat {
                var query = "list-type=2&max-keys=2"
                if let token { query += "&continuation-token=" + SigV4.uriEncode(token, keepSlash: false) }
                let page = try await client.send(s3.bob, .get, "/list", query: query)
                seen += elements("Key", in: page.text)
                token = elements("NextContinuationToken", in: page.text).first
                #expect(elements("Key", in: page.text).count <= 2)
            } while token != nil
            #expect(seen == keys)

            let after = try await client.send(s3.bob, .get, "/list", query: "list-type=2&start-after=b%2F2.txt")
            #expect(elements("Key", in: after.text) == ["c/x/y.txt", "d e+f.txt"])

            let encoded = try await client.send(s3.bob, .get, "/list", query: "encoding-type=url&list-type=2&prefix=d")
            #expect(elements("Key", in: encoded.text) == ["d%20e%2Bf.txt"])
            #expect(elements("EncodingType", in: encoded.text) == ["url"])

            let zero = try await client.send(s3.bob, .get, "/list", query: "list-type=2&max-keys=0")
            #expect(elements("Key", in: zero.text).isEmpty)
            #expect(try await client.send(s3.bob, .get, "/list", query: "list-type=2&continuation-token=%21%21").errorCode == "InvalidArgument")

            let v1 = try await client.send(s3.bob, .get, "/list", query: "marker=a.txt&max-keys=2")
            #expect(elements("Key", in: v1.text) == ["b/1.txt", "b/2.txt"])
            #expect(elements("IsTruncated", in: v1.text) == ["true"])
            let v1Rolled = try await client.send(s3.bob, .get, "/list", query: "delimiter=%2F&max-keys=2")
            #expect(elements("NextMarker", in: v1Rolled.text) == ["b/"])
        }
    }

    @Test("Integrity: Content-MD5 and x-amz-checksum-* checked (BadDigest stores nothing), checksums returned in checksum mode")
    func integrity() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/sums")
            let body = Data("The quick brown fox jumps over the lazy dog".utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            #expect(try await client.send(s3.bob, .put, "/sums/ok", headers: [("Content-MD5", md5)], body: body).status == .ok)
            let bad = try await client.send(s3.bob, .put, "/sums/bad", headers: [("Content-MD5", Data(Insecure.MD5.hash(data: Data())).base64EncodedString())],
                                             body: body)
            #expect(bad.errorCode == "BadDigest")
            #expect(try await s3.primitives.objects.head(bucket: "sums", key: "bad") == nil)
            #expect(try await client.send(s3.bob, .put, "/sums/bad", headers: [("Content-MD5", "xyz")], body: body).errorCode == "InvalidDigest")

            // Known digests of the fox sentence.
            let known: [(S3ChecksumAlgorithm, String)] = [
                (.crc32, Data([0x41, 0x4F, 0xA3, 0x39]).base64EncodedString()),
                (.crc32c, Data([0x22, 0x62, 0x04, 0x04]).base64EncodedString()),
                (.sha1, Data(Insecure.SHA1.hash(data: body)).base64EncodedString()),
                (.sha256, Data(SHA256.hash(data: body)).base64EncodedString()),
            ]
            for (algorithm, value) in known {
                var checksum = S3Checksum(algorithm)
                checksum.update(body)
                #expect(checksum.finalize() == value, "\(algorithm)")
                let put = try await client.send(s3.bob, .put, "/sums/\(algorithm.rawValue)", headers: [(algorithm.headerName, value)], body: body)
                #expect(put.status == .ok, "\(algorithm)")
                let get = try await client.send(s3.bob, .get, "/sums/\(algorithm.rawValue)", headers: [("x-amz-checksum-mode", "ENABLED")])
                #expect(get.header(algorithm.headerName) == value)
                let plain = try await client.send(s3.bob, .get, "/sums/\(algorithm.rawValue)")
                #expect(plain.header(algorithm.headerName) == nil)
                let ranged = try await client.send(s3.bob, .get, "/sums/\(algorithm.rawValue)", headers: [("x-amz-checksum-mode", "ENABLED"), ("Range", "bytes=0-3")])
                #expect(ranged.header(algorithm.headerName) == nil)
                var wrong = S3Checksum(algorithm)
                wrong.update(Data("something else".utf8))
                let mismatch = try await client.send(s3.bob, .put, "/sums/wrong-\(algorithm.rawValue)", headers: [(algorithm.headerName, wrong.finalize())], body: body)
                #expect(mismatch.errorCode == "BadDigest", "\(algorithm)")
                #expect(try await s3.primitives.objects.head(bucket: "sums", key: "wrong-\(algorithm.rawValue)") == nil)
            }
        }
    }

    @Test("On the embedded storage (SQLite and files): a bad Content-MD5 or body hash is reported as such (not as a storage failure), nothing stored; odd keys round-trip, dot-segment keys are their own objects")
    func embeddedStorage() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-s3-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try EmbeddedStorage(directory: directory)
        let s3 = try await S3Fixture.make(primitives: storage.primitives)
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/files")
            let body = Data("checked on disk".utf8)
            let bad = try await client.send(s3.bob, .put, "/files/bad", headers: [("Content-MD5", Data(Insecure.MD5.hash(data: Data())).base64EncodedString())],
                                             body: body)
            #expect(bad.errorCode == "BadDigest")
            let mismatch = try await client.send(s3.bob, .put, "/files/sha", body: body, payloadHash: SigV4.sha256Hex(Data("x".utf8)))
            #expect(mismatch.errorCode == "XAmzContentSHA256Mismatch")
            #expect(try await storage.primitives.objects.head(bucket: "files", key: "bad") == nil)
            #expect(try await storage.primitives.objects.head(bucket: "files", key: "sha") == nil)
            for key in ["a b/c+d", "ünï/名前.txt", "x%2Fy", "~/.ssh/id", String(repeating: "k", count: 1024)] {
                let path = "/files/" + SigV4.uriEncode(key, keepSlash: true)
                #expect(try await client.send(s3.bob, .put, path, body: Data(key.utf8)).status == .ok, "\(key)")
                #expect(try await client.send(s3.bob, .get, path).data == Data(key.utf8), "\(key)")
            }
            #expect(try await client.send(s3.bob, .put, "/files/" + String(repeating: "k", count: 1025), body: body).errorCode == "KeyTooLongError")
            // S3 keys may hold '.' and '..' segments and start with '/': each is its own object, in its bucket.
            for key in ["a/../b", "../escape", "./x", "/lead", "../../../../etc/passwd", "..", "."] {
                let path = "/files/" + SigV4.uriEncode(key, keepSlash: true)
                #expect(try await client.send(s3.bob, .put, path, body: Data(key.utf8)).status == .ok, "\(key)")
                #expect(try await client.send(s3.bob, .get, path).data == Data(key.utf8), "\(key)")
            }
            for plain in ["b", "escape", "x", "lead", "etc/passwd"] {
                #expect(try await storage.primitives.objects.head(bucket: "files", key: plain) == nil, "\(plain)")
            }
            let listed = try await client.send(s3.bob, .get, "/files", query: "list-type=2&prefix=..")
            #expect(Set(elements("Key", in: listed.text)) == ["..", "../escape", "../../../../etc/passwd"])
            // On disk, names come from hashes: no file anywhere in the data directory is named after a key.
            let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
            #expect(!files.isEmpty)
            #expect(!files.contains { $0.contains("passwd") || $0.contains("escape") || $0.contains("lead") || $0.hasSuffix("/b") })
        }
    }

    /// An aws-chunked body: `chunks` framed, each with a chunk signature when `signing` is given, then a trailer.
    static func awsChunked(_ chunks: [Data], signer: SigV4Signer?, seed: String, date: Date, trailer: (String, String)?) -> Data {
        var body = Data()
        var previous = seed
        let timestamp = SigV4.timestamp(date)
        let scope = "\(timestamp.prefix(8))/us-east-1/s3/aws4_request"
        for chunk in chunks + [Data()] {
            var header = String(chunk.count, radix: 16)
            if let signer {
                let key = SigV4.signingKey(secret: signer.secretAccessKey, date: String(timestamp.prefix(8)), region: "us-east-1", service: "s3")
                previous = SigV4.signature(key: key, stringToSign: SigV4.chunkStringToSign(timestamp: timestamp, scope: scope, previousSignature: previous,
                                                                                         chunkSHA256: SigV4.sha256Hex(chunk)))
                header += ";chunk-signature=\(previous)"
            }
            body.append(Data("\(header)\r\n".utf8))
            body.append(chunk)
            if !chunk.isEmpty { body.append(Data("\r\n".utf8)) }
        }
        if let (name, value) = trailer { body.append(Data("\(name):\(value)\r\n".utf8)) }
        body.append(Data("\r\n".utf8))
        return body
    }

    @Test("aws-chunked bodies: signed chunks checked, unsigned with a checksum trailer; the stored object is the payload")
    func awsChunkedBodies() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/chunks")
            let chunks = [Data(repeating: 0x61, count: 65536), Data(repeating: 0x62, count: 1000)]
            let payload = chunks.reduce(Data(), +)
            let date = Date()
            let headers = [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(payload.count))]
            // The seed signature is the request's own; compute it as the client does, then chain the chunks from it.
            let signed = s3.bob.sign(method: "PUT", path: "/chunks/signed", headers: [("host", "localhost")] + headers.map { (name: $0.0, value: $0.1) },
                                     payloadHash: SigV4.streamingSignedPayload, date: date)
            let seed = String(try #require(signed.last?.value.split(separator: "=").last))
            let body = Self.awsChunked(chunks, signer: s3.bob, seed: seed, date: date, trailer: nil)
            let put = try await client.send(s3.bob, .put, "/chunks/signed", headers: headers, body: body,
                                            payloadHash: SigV4.streamingSignedPayload, date: date)
            #expect(put.status == .ok)
            #expect(try await s3.primitives.objects.get(bucket: "chunks", key: "signed", range: nil).body == payload)

            var forged = body
            forged[forged.count / 2] ^= 0x01
            let rejected = try await client.send(s3.bob, .put, "/chunks/forged", headers: headers, body: forged,
                                                 payloadHash: SigV4.streamingSignedPayload, date: date)
            #expect(rejected.errorCode == "SignatureDoesNotMatch")
            #expect(try await s3.primitives.objects.head(bucket: "chunks", key: "forged") == nil)

            var crc = S3Checksum(.crc32)
            crc.update(payload)
            let trailerHeaders = headers + [("x-amz-trailer", "x-amz-checksum-crc32")]
            let unsigned = Self.awsChunked(chunks, signer: nil, seed: "", date: date, trailer: ("x-amz-checksum-crc32", crc.finalize()))
            let trailed = try await client.send(s3.bob, .put, "/chunks/trailer", headers: trailerHeaders, body: unsigned,
                                                payloadHash: SigV4.streamingUnsignedPayloadTrailer)
            #expect(trailed.status == .ok)
            #expect(try await s3.primitives.objects.get(bucket: "chunks", key: "trailer", range: nil).body == payload)
            #expect(trailed.header("etag") == "\"\(SigV4.hex(Insecure.MD5.hash(data: payload)))\"")

            let wrongTrailer = Self.awsChunked(chunks, signer: nil, seed: "", date: date, trailer: ("x-amz-checksum-crc32", "AAAAAA=="))
            let badDigest = try await client.send(s3.bob, .put, "/chunks/bad-trailer", headers: trailerHeaders, body: wrongTrailer,
                                                  payloadHash: SigV4.streamingUnsignedPayloadTrailer)
            #expect(badDigest.errorCode == "BadDigest")
            #expect(try await s3.primitives.objects.head(bucket: "chunks", key: "bad-trailer") == nil)

            let short = try await client.send(s3.bob, .put, "/chunks/short", headers: [("Content-Encoding", "aws-chunked"),
                                              ("x-amz-decoded-content-length", String(payload.count + 1))],
                                              body: Self.awsChunked(chunks, signer: nil, seed: "", date: date, trailer: nil),
                                              payloadHash: SigV4.streamingUnsignedPayloadTrailer)
            #expect(short.errorCode == "IncompleteBody")
        }
    }

    @Test("DeleteObjects (quiet and verbose) and CopyObject (COPY and REPLACE metadata, copy onto itself refused)")
    func deleteManyAndCopy() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/many")
            for key in ["a", "b", "c"] { try await client.send(s3.bob, .put, "/many/\(key)", headers: [("x-amz-meta-k", key)], body: Data(key.utf8)) }

            let copy = try await client.send(s3.bob, .put, "/many/a-copy", headers: [("x-amz-copy-source", "/many/a")])
            #expect(copy.status == .ok)
            #expect(elements("ETag", in: copy.text).count == 1)
            let copied = try await client.send(s3.bob, .get, "/many/a-copy")
            #expect(copied.text == "a")
            #expect(copied.header("x-amz-meta-k") == "a")
            let replaced = try await client.send(s3.bob, .put, "/many/b-copy", headers: [("x-amz-copy-source", "many/b"),
                                                 ("x-amz-metadata-directive", "REPLACE"), ("x-amz-meta-new", "yes"), ("Content-Type", "text/x-b")])
            #expect(replaced.status == .ok)
            let b = try await client.send(s3.bob, .head, "/many/b-copy")
            #expect(b.header("x-amz-meta-new") == "yes")
            #expect(b.header("x-amz-meta-k") == nil)
            #expect(b.header("content-type") == "text/x-b")
            #expect(try await client.send(s3.bob, .put, "/many/a", headers: [("x-amz-copy-source", "/many/a")]).errorCode == "InvalidRequest")
            #expect(try await client.send(s3.bob, .put, "/many/z", headers: [("x-amz-copy-source", "/many/none")]).errorCode == "NoSuchKey")
            try await client.send(s3.alice, .put, "/alices")
            #expect(try await client.send(s3.alice, .put, "/alices/stolen", headers: [("x-amz-copy-source", "/many/a")]).errorCode == "AccessDenied")

            let request = Data("<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object><Object><Key>missing</Key></Object></Delete>".utf8)
            let deleted = try await client.send(s3.bob, .post, "/many", query: "delete", body: request)
            #expect(deleted.status == .ok)
            #expect(elements("Key", in: deleted.text) == ["a", "b", "missing"])
            let quiet = try await client.send(s3.bob, .post, "/many", query: "delete",
                                              body: Data("<Delete><Quiet>true</Quiet><Object><Key>c</Key></Object></Delete>".utf8))
            #expect(elements("Key", in: quiet.text).isEmpty)
            let left = try await client.send(s3.bob, .get, "/many", query: "list-type=2")
            #expect(elements("Key", in: left.text) == ["a-copy", "b-copy"])
            #expect(try await client.send(s3.bob, .post, "/many", query: "delete", body: Data("<nope".utf8)).errorCode == "MalformedXML")
        }
    }

    @Test("Virtual-host style addresses the bucket by the host name under the S3 domain; path style goes on working")
    func virtualHost() async throws {
        let s3 = try await S3Fixture.make(configuration: .init(domain: "s3.example.test"))
        try await s3.test { client in
            let created = try await client.send(s3.bob, .put, "/vhost")
            let put = try await client.send(s3.bob, .put, "/vhost/dir/k%20v", body: Data("v".utf8))
            #expect(created.status == .ok)
            #expect(put.status == .ok)
        }
        func request(host: String, path: String) -> Request {
            var fields = HTTPFields()
            for (name, value) in s3.bob.sign(method: "GET", path: path, headers: [("host", host)], payloadHash: SigV4.emptySHA256) {
                fields[HTTPField.Name(name)!] = value
            }
            return Request(head: HTTPRequest(method: .get, scheme: "http", authority: host, path: path, headerFields: fields),
                           body: RequestBody(buffer: ByteBuffer()))
        }
        let virtual = S3Call(request: request(host: "vhost.s3.example.test:9000", path: "/dir/k%20v"), domain: "s3.example.test", eventLoop: EmbeddedEventLoop())
        #expect(virtual.bucket == "vhost")
        #expect(virtual.key == "dir/k v")
        let response = try await s3.server.handle(virtual)
        #expect(response.status == .ok)
        let listing = S3Call(request: request(host: "vhost.s3.example.test", path: "/"), domain: "s3.example.test", eventLoop: EmbeddedEventLoop())
        #expect(listing.bucket == "vhost")
        #expect(listing.key == nil)
        let pathStyle = S3Call(request: request(host: "s3.example.test", path: "/vhost/dir/k%20v"), domain: "s3.example.test", eventLoop: EmbeddedEventLoop())
        #expect(pathStyle.bucket == "vhost")
        #expect(pathStyle.key == "dir/k v")
        let noDomain = S3Call(request: request(host: "vhost.s3.example.test", path: "/vhost/x"), domain: nil, eventLoop: EmbeddedEventLoop())
        #expect(noDomain.bucket == "vhost")
        #expect(noDomain.key == "x")
    }
}

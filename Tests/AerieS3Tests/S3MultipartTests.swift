import AerieCore
import AerieS3
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct S3MultipartTests {
    static func completion(_ parts: [(Int, String)]) -> Data {
        Data(("<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
              + "</CompleteMultipartUpload>").utf8)
    }

    @Test("Multipart: parts out of order, list parts and uploads, Complete validates the list, md5-of-md5s-N ETag, parts cleaned up")
    func multipart() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/mpu")
            let created = try await client.send(s3.bob, .post, "/mpu/big.bin", query: "uploads", headers: [("Content-Type", "application/x-big"), ("x-amz-meta-m", "1")])
            #expect(created.status == .ok, "\(created.text)")
            let id = try #require(elements("UploadId", in: created.text).first)
            let first = Data(repeating: 1, count: 5 << 20)
            let second = Data(repeating: 2, count: 1000)
            // Out of order: part 2 first.
            let put2 = try await client.send(s3.bob, .put, "/mpu/big.bin", query: "partNumber=2&uploadId=\(id)", body: second)
            let put1 = try await client.send(s3.bob, .put, "/mpu/big.bin", query: "partNumber=1&uploadId=\(id)", body: first)
            let etag1 = try #require(put1.header("etag")), etag2 = try #require(put2.header("etag"))
            #expect(etag1 == "\"\(SigV4.hex(Insecure.MD5.hash(data: first)))\"")

            let parts = try await client.send(s3.bob, .get, "/mpu/big.bin", query: "uploadId=\(id)")
            #expect(elements("PartNumber", in: parts.text) == ["1", "2"])
            #expect(elements("Size", in: parts.text) == [String(first.count), String(second.count)])
            let uploads = try await client.send(s3.bob, .get, "/mpu", query: "uploads")
            #expect(elements("UploadId", in: uploads.text) == [id])
            #expect(try await client.send(s3.alice, .get, "/mpu/big.bin", query: "uploadId=\(id)").errorCode == "AccessDenied")

            let order = try await client.send(s3.bob, .post, "/mpu/big.bin", query: "uploadId=\(id)", body: Self.completion([(2, etag2), (1, etag1)]))
            #expect(order.errorCode == "InvalidPartOrder")
            let wrong = try await client.send(s3.bob, .post, "/mpu/big.bin", query: "uploadId=\(id)", body: Self.completion([(1, etag2), (2, etag2)]))
            #expect(wrong.errorCode == "InvalidPart")
            let missing = try await client.send(s3.bob, .post, "/mpu/big.bin", query: "uploadId=\(id)", body: Self.completion([(1, etag1), (3, etag2)]))
            #expect(missing.errorCode == "InvalidPart")

            let done = try await client.send(s3.bob, .post, "/mpu/big.bin", query: "uploadId=\(id)", body: Self.completion([(1, etag1), (2, etag2)]))
            #expect(done.status == .ok)
            var md5s = Data(Insecure.MD5.hash(data: first))
            md5s.append(Data(Insecure.MD5.hash(data: second)))
            let expected = "\"\(SigV4.hex(Insecure.MD5.hash(data: md5s)))-2\""
            #expect(elements("ETag", in: done.text) == [expected])
            let head = try await client.send(s3.bob, .head, "/mpu/big.bin")
            #expect(head.header("etag") == expected)
            #expect(head.header("content-type") == "application/x-big")
            #expect(head.header("x-amz-meta-m") == "1")
            #expect(head.header("content-length") == String(first.count + second.count))
            #expect(try await client.send(s3.bob, .get, "/mpu/big.bin", headers: [("If-Match", expected)]).status == .ok)
            let list = try await client.send(s3.bob, .get, "/mpu", query: "list-type=2")
            #expect(elements("ETag", in: list.text) == [expected])
            let stored = try await s3.primitives.objects.get(bucket: "mpu", key: "big.bin", range: nil).body
            #expect(stored == first + second)
            #expect(try await s3.primitives.objects.list(bucket: "aerie-s3-multipart", ListObjectsRequest(prefix: id)).objects.isEmpty)
            #expect(try await client.send(s3.bob, .get, "/mpu/big.bin", query: "uploadId=\(id)").errorCode == "NoSuchUpload")
            #expect(!elements("Name", in: try await client.send(s3.admin, .get, "/").text).contains("aerie-s3-multipart"))
        }
    }

    @Test("Multipart: EntityTooSmall for a small non-final part, UploadPartCopy with a range, Abort removes the parts")
    func smallPartsCopyAndAbort() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            try await client.send(s3.bob, .put, "/mp2")
            try await client.send(s3.bob, .put, "/mp2/source", body: Data("0123456789".utf8))
            let id = try #require(elements("UploadId", in: try await client.send(s3.bob, .post, "/mp2/t", query: "uploads").text).first)
            let a = try await client.send(s3.bob, .put, "/mp2/t", query: "partNumber=1&uploadId=\(id)", body: Data("small".utf8))
            let copy = try await client.send(s3.bob, .put, "/mp2/t", query: "partNumber=2&uploadId=\(id)",
                                             headers: [("x-amz-copy-source", "/mp2/source"), ("x-amz-copy-source-range", "bytes=2-5")])
            #expect(copy.status == .ok)
            let copyETag = try #require(elements("ETag", in: copy.text).first)
            #expect(copyETag == "\"\(SigV4.hex(Insecure.MD5.hash(data: Data("2345".utf8))))\"")
            let tooSmall = try await client.send(s3.bob, .post, "/mp2/t", query: "uploadId=\(id)",
                                                 body: Self.completion([(1, try #require(a.header("etag"))), (2, copyETag)]))
            #expect(tooSmall.errorCode == "EntityTooSmall")
            let badRange = try await client.send(s3.bob, .put, "/mp2/t", query: "partNumber=3&uploadId=\(id)",
                                                 headers: [("x-amz-copy-source", "/mp2/source"), ("x-amz-copy-source-range", "bytes=5-50")])
            #expect(badRange.errorCode == "InvalidRange")
            #expect(try await client.send(s3.bob, .put, "/mp2/t", query: "partNumber=0&uploadId=\(id)", body: Data("x".utf8)).errorCode == "InvalidArgument")
            #expect(try await client.send(s3.bob, .delete, "/mp2/t", query: "uploadId=\(id)").status == .noContent)
            #expect(try await s3.primitives.objects.list(bucket: "aerie-s3-multipart", ListObjectsRequest(prefix: id)).objects.isEmpty)
            #expect(try await client.send(s3.bob, .delete, "/mp2/t", query: "uploadId=\(id)").errorCode == "NoSuchUpload")
            #expect(try await s3.primitives.objects.head(bucket: "mp2", key: "t") == nil)

            // A single part, below 5 MiB, completes (the last part may be small).
            let single = try #require(elements("UploadId", in: try await client.send(s3.bob, .post, "/mp2/one", query: "uploads").text).first)
            let part = try await client.send(s3.bob, .put, "/mp2/one", query: "partNumber=1&uploadId=\(single)", body: Data("only".utf8))
            let done = try await client.send(s3.bob, .post, "/mp2/one", query: "uploadId=\(single)",
                                             body: Self.completion([(1, try #require(part.header("etag")))]))
            #expect(done.status == .ok)
            #expect(try await client.send(s3.bob, .get, "/mp2/one").text == "only")
        }
    }
}

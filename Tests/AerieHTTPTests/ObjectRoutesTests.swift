import AerieCore
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AerieHTTP

@Suite("Objects over HTTP")
struct ObjectRoutesTests {
    @Test("Buckets: create, list, conflict on duplicate, delete; invalid names are 400")
    func buckets() async throws {
        try await withGateway { client, harness in
            let created = try await client.send(.put, "/v1/buckets/photos", token: harness.adminToken)
            #expect(created.status == .created)
            #expect(try created.json()["name"] == "photos")
            try await client.send(.put, "/v1/buckets/photos", token: harness.adminToken).expectProblem("already-exists", status: 409)
            try await client.send(.put, "/v1/buckets/Bad_Name", token: harness.adminToken).expectProblem("invalid-argument", status: 400)
            let list = try await client.send(.get, "/v1/buckets", token: harness.adminToken).json()
            #expect(list["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["photos"])
            #expect(list["items"]?.arrayValue?.first?["created_at"]?.stringValue?.hasSuffix("Z") == true)
            try await harness.primitives.objects.put(bucket: "photos", key: "a", data: Data("x".utf8))
            try await client.send(.delete, "/v1/buckets/photos", token: harness.adminToken).expectProblem("conflict", status: 409)
            try await client.send(.delete, "/v1/buckets/nothing", token: harness.adminToken).expectProblem("not-found", status: 404)
        }
    }

    @Test("PUT then GET and HEAD an object with a slashy key, content type and metadata")
    func putGet() async throws {
        try await withGateway { client, harness in
            _ = try await client.send(.put, "/v1/buckets/photos", token: harness.adminToken)
            let put = try await client.send(.put, "/v1/buckets/photos/objects/2026/trip/beach%20day.jpg", token: harness.adminToken,
                                            buffer: ByteBuffer(string: "JPEGDATA"),
                                            headers: [.contentType: "image/jpeg", HTTPField.Name("X-Aerie-Meta-Camera")!: "Pixel"])
            #expect(put.status == .created)
            let etag = try #require(put.headers[.eTag])
            let info = try put.json()
            #expect(info["key"] == "2026/trip/beach day.jpg")
            #expect(info["size"] == .number(8))
            #expect(info["content_type"] == "image/jpeg")
            #expect(info["metadata"] == .object(["camera": "Pixel"]))
            #expect(info["etag"] == .string(etag))

            let get = try await client.send(.get, "/v1/buckets/photos/objects/2026/trip/beach%20day.jpg", token: harness.adminToken)
            #expect(get.status == .ok)
            #expect(get.text == "JPEGDATA")
            #expect(get.headers[.contentType] == "image/jpeg")
            #expect(get.headers[.eTag] == etag)
            #expect(get.headers[HTTPField.Name("x-aerie-meta-camera")!] == "Pixel")

            let head = try await client.send(.head, "/v1/buckets/photos/objects/2026/trip/beach%20day.jpg", token: harness.adminToken)
            #expect(head.status == .ok)
            #expect(head.headers[.eTag] == etag)
            #expect(head.headers[HTTPField.Name("x-aerie-meta-camera")!] == "Pixel")
            #expect(head.body.readableBytes == 0)

            // %2F in a segment is part of the key, decoded once.
            let encodedSlash = try await client.send(.put, "/v1/buckets/photos/objects/a%2Fb%2520c", token: harness.adminToken, buffer: ByteBuffer(string: "1"))
            #expect(try encodedSlash.json()["key"] == "a/b%20c")
        }
    }

    @Test("Listing with prefix and delimiter, paginated")
    func listing() async throws {
        try await withGateway { client, harness in
            _ = try await client.send(.put, "/v1/buckets/docs", token: harness.adminToken)
            for key in ["a/1.txt", "a/2.txt", "b/1.txt", "top.txt"] {
                _ = try await client.send(.put, "/v1/buckets/docs/objects/\(key)", token: harness.adminToken, buffer: ByteBuffer(string: key))
            }
            let rolled = try await client.send(.get, "/v1/buckets/docs/objects?delimiter=/", token: harness.adminToken).json()
            #expect(rolled["common_prefixes"] == .array(["a/", "b/"]))
            #expect(rolled["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["top.txt"])
            let prefixed = try await client.send(.get, "/v1/buckets/docs/objects?prefix=a/", token: harness.adminToken).json()
            #expect(prefixed["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["a/1.txt", "a/2.txt"])
            let first = try await client.send(.get, "/v1/buckets/docs/objects?limit=2", token: harness.adminToken).json()
            #expect(first["items"]?.arrayValue?.count == 2)
            let cursor = try #require(first["next_cursor"]?.stringValue)
            let escaped = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
            let second = try await client.send(.get, "/v1/buckets/docs/objects?limit=2&cursor=\(escaped)", token: harness.adminToken).json()
            #expect(second["items"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["b/1.txt", "top.txt"])
            try await client.send(.get, "/v1/buckets/docs/objects?limit=0", token: harness.adminToken).expectProblem("invalid-argument", status: 400)
            try await client.send(.get, "/v1/buckets/nope/objects", token: harness.adminToken).expectProblem("not-found", status: 404)
        }
    }

    @Test("Range requests answer 206 with Content-Range; unsatisfiable ranges 416; If-None-Match 304")
    func rangesAndConditionals() async throws {
        try await withGateway { client, harness in
            _ = try await client.send(.put, "/v1/buckets/files", token: harness.adminToken)
            let put = try await client.send(.put, "/v1/buckets/files/objects/digits", token: harness.adminToken, buffer: ByteBuffer(string: "0123456789"))
            let etag = try #require(put.headers[.eTag])
            let partial = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.range: "bytes=2-4"])
            #expect(partial.status == .partialContent)
            #expect(partial.text == "234")
            #expect(partial.headers[.contentRange] == "bytes 2-4/10")
            let suffix = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.range: "bytes=-3"])
            #expect(suffix.text == "789")
            let open = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.range: "bytes=8-"])
            #expect(open.text == "89")
            let outside = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.range: "bytes=20-30"])
            try outside.expectProblem("range-not-satisfiable", status: 416)
            #expect(outside.headers[.contentRange] == "bytes */10")
            let notModified = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified)
            #expect(notModified.body.readableBytes == 0)
            let changed = try await client.send(.get, "/v1/buckets/files/objects/digits", token: harness.adminToken, headers: [.ifNoneMatch: "\"other\""])
            #expect(changed.status == .ok)
        }
    }

    @Test("Oversize uploads are 413 and store nothing")
    func oversize() async throws {
        try await withGateway({ $0.maxBodySize = 16 }) { client, harness in
            _ = try await client.send(.put, "/v1/buckets/files", token: harness.adminToken)
            let big = try await client.send(.put, "/v1/buckets/files/objects/big", token: harness.adminToken, buffer: ByteBuffer(string: String(repeating: "x", count: 17)))
            try big.expectProblem("too-large", status: 413)
            #expect(try await harness.primitives.objects.head(bucket: "files", key: "big") == nil)
            let fits = try await client.send(.put, "/v1/buckets/files/objects/small", token: harness.adminToken, buffer: ByteBuffer(string: "0123456789abcdef"))
            #expect(fits.status == .created)
        }
    }

    @Test("Traversal and control-character keys are 400; missing objects 404")
    func badKeys() async throws {
        try await withGateway { client, harness in
            _ = try await client.send(.put, "/v1/buckets/files", token: harness.adminToken)
            for key in ["a/../../etc/passwd", "..", "a/./b", "nul%00byte", "%2Fabs", "bad%zzenc"] {
                let response = try await client.send(.put, "/v1/buckets/files/objects/\(key)", token: harness.adminToken, buffer: ByteBuffer(string: "x"))
                try response.expectProblem("invalid-argument", status: 400)
            }
            try await client.send(.get, "/v1/buckets/files/objects/missing.txt", token: harness.adminToken).expectProblem("not-found", status: 404)
            try await client.send(.delete, "/v1/buckets/files/objects/missing.txt", token: harness.adminToken).expectProblem("not-found", status: 404)
            try await client.send(.get, "/v1/buckets/nobucket/objects/x", token: harness.adminToken).expectProblem("not-found", status: 404)
        }
    }

    @Test("Delete removes the object")
    func delete() async throws {
        try await withGateway { client, harness in
            _ = try await client.send(.put, "/v1/buckets/files", token: harness.adminToken)
            _ = try await client.send(.put, "/v1/buckets/files/objects/x/y", token: harness.adminToken, buffer: ByteBuffer(string: "x"))
            #expect(try await client.send(.delete, "/v1/buckets/files/objects/x/y", token: harness.adminToken).status == .noContent)
            #expect(try await harness.primitives.objects.head(bucket: "files", key: "x/y") == nil)
        }
    }
}

import AerieCore
import AerieHTTPTesting
import AerieImaging
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

@testable import Gallery

@Suite(.serialized) struct GalleryAPITests {
    static let photos = "/v1/apps/gallery/photos"

    func harness(configuration: GalleryConfiguration = GalleryConfiguration(), now: @escaping @Sendable () -> Date = { Date() }) async throws -> GatewayHarness {
        try await GatewayHarness.make(configure: { $0.maxJSONBodySize = 64 * 1024 }, apps: [GalleryApp.forTests(configuration: configuration, now: now)],
                                      users: ["ann", "bob"])
    }

    @Test("an upload answers 201 processing; the trigger makes thumbnails and tags; signed links work without credentials")
    func uploadIsProcessedToReady() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let jpeg = try Pictures.jpeg(Pictures.red, width: 1200, height: 900)
            let created = try await client.send(.post, "\(Self.photos)?filename=cat.jpg", token: harness.token("ann"), body: jpeg, contentType: "image/jpeg")
            #expect(created.status == .created, "\(created.text)")
            let photo = try created.json()
            let id = try #require(photo["id"]?.stringValue)
            #expect(created.headers[.location] == "\(Self.photos)/\(id)")
            #expect(photo["filename"] == "cat.jpg")
            #expect(photo["content_type"] == "image/jpeg")
            #expect(photo["width"] == 1200 && photo["height"] == 900)
            #expect(photo["bytes"] == .number(Double(jpeg.count)))
            #expect(photo["sha256"]?.stringValue?.count == 64)
            #expect(photo["status"] == "processing" || photo["status"] == "ready")
            #expect(photo["duplicate_of"] == .null && photo["caption"] == .null)

            let ready = try await waitUntilProcessed(client, id, token: harness.token("ann"))
            #expect(ready["status"] == "ready")
            #expect(ready["tags"]?.arrayValue?.map { $0["label"] } == ["tabby cat", "tiger cat", "Egyptian cat"])
            // The thumbnails, through their signed links, without credentials.
            for (size, long) in [("small", 256), ("medium", 1024)] {
                let url = try #require(ready["thumbnails"]?[size]?.stringValue)
                let response = try await client.send(.get, url)
                #expect(response.status == .ok, "\(size): \(response.text)")
                #expect(response.headers[.contentType] == "image/jpeg")
                let info = try ImageDecoder().probe(Data(buffer: response.body))
                #expect(max(info.width, info.height) == long && info.width * 3 == info.height * 4, "\(size): \(info)")
            }
            let image = try await client.send(.get, try #require(ready["url"]?.stringValue))
            #expect(image.status == .ok)
            #expect(Data(buffer: image.body).count > 1000)
            // A tampered signature, an expired link, no signature and no credentials.
            let url = try #require(ready["url"]?.stringValue)
            let tampered = url.replacingOccurrences(of: "signature=", with: "signature=x")
            try await client.send(.get, tampered).expectProblem("forbidden", status: 403)
            try await client.send(.get, "\(Self.photos)/\(id)/image?expires=1&signature=abc").expectProblem("forbidden", status: 403)
            try await client.send(.get, "\(Self.photos)/\(id)/image").expectProblem("unauthenticated", status: 401)
            // The owner's own download of the original is byte for byte what was uploaded.
            let original = try await client.send(.get, "\(Self.photos)/\(id)/original", token: harness.token("ann"))
            #expect(Data(buffer: original.body) == jpeg)
        }
    }

    @Test("bad uploads are refused before anything is stored: 415 for a PDF named .jpg, 422 truncated, 413 too many pixels")
    func badUploadsStoreNothing() async throws {
        let harness = try await harness(configuration: { var c = GalleryConfiguration(); c.maxPixels = 1_000_000; return c }())
        try await harness.test { client in
            let token = harness.token("ann")
            let pdf = Data("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".utf8)
            try await client.send(.post, "\(Self.photos)?filename=scan.jpg", token: token, body: pdf, contentType: "image/jpeg")
                .expectProblem("unsupported-media-type", status: 415)
            try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.red), contentType: "application/pdf")
                .expectProblem("unsupported-media-type", status: 415)
            try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.red), contentType: "image/gif")
                .expectProblem("unsupported-media-type", status: 415)
            let jpeg = try Pictures.jpeg(Pictures.red)
            try await client.send(.post, Self.photos, token: token, body: jpeg.prefix(jpeg.count / 2), contentType: "image/jpeg")
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.red, width: 1200, height: 900), contentType: "image/jpeg")
                .expectProblem("too-large", status: 413)
            try await client.send(.post, Self.photos, token: token, body: Data(), contentType: "image/jpeg")
                .expectProblem("unsupported-media-type", status: 415)
            // A multipart upload with one bad file stores none of them.
            let form = multipart([("ok.jpg", "image/jpeg", jpeg), ("bad.jpg", "image/jpeg", jpeg.prefix(200))])
            let mixed = try await client.send(.post, Self.photos, token: token, body: form, contentType: "multipart/form-data; boundary=gallery-test-boundary")
            try mixed.expectProblem("unprocessable", status: 422)
            #expect(try mixed.json()["detail"]?.stringValue?.contains("File 2 (bad.jpg)") == true)

            let list = try await client.send(.get, Self.photos, token: token).json()
            #expect(list["items"] == .array([]))
            let stored = try await harness.primitives.objects.list(bucket: "gallery", ListObjectsRequest())
            #expect(stored.objects.isEmpty)
            let usage = try await client.send(.get, "/v1/apps/gallery/usage", token: token).json()
            #expect(usage["used_bytes"] == 0)
        }
    }

    @Test("multipart uploads several photos; exact copies get duplicate_of or 409 with ?duplicates=refuse; near-duplicates are grouped")
    func multipartAndDuplicates() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let token = harness.token("ann")
            let red = try Pictures.jpeg(Pictures.red, width: 800, height: 600)
            let blue = try Pictures.jpeg(Pictures.blue, width: 800, height: 600, variant: 1)
            let form = multipart([("red.jpg", "image/jpeg", red), ("blue.jpg", "image/jpeg", blue)])
            let created = try await client.send(.post, Self.photos, token: token, body: form, contentType: "multipart/form-data; boundary=gallery-test-boundary")
            #expect(created.status == .created, "\(created.text)")
            let items = try #require(try created.json()["items"]?.arrayValue)
            #expect(items.map { $0["filename"] } == ["red.jpg", "blue.jpg"])
            let redId = try #require(items[0]["id"]?.stringValue)

            let copy = try await client.send(.post, "\(Self.photos)?filename=again.jpg", token: token, body: red, contentType: "image/jpeg")
            #expect(copy.status == .created)
            let copyId = try #require(try copy.json()["id"]?.stringValue)
            #expect(try copy.json()["duplicate_of"] == .string(redId))
            let refused = try await client.send(.post, "\(Self.photos)?duplicates=refuse", token: token, body: red, contentType: "image/jpeg")
            try refused.expectProblem("conflict", status: 409)
            #expect(try refused.json()["detail"]?.stringValue?.contains(redId) == true)
            try await client.send(.post, "\(Self.photos)?duplicates=maybe", token: token, body: red, contentType: "image/jpeg")
                .expectProblem("invalid-argument", status: 400)

            // A resized, re-encoded copy is a near-duplicate: same group, different bytes.
            let smaller = try JPEGEncoder.encode(Pictures.image(Pictures.red, width: 800, height: 600).fitted(longSide: 500), quality: 60)
            let near = try await client.send(.post, "\(Self.photos)?duplicates=refuse", token: token, body: smaller, contentType: "image/jpeg")
            #expect(near.status == .created, "a near-duplicate is not an exact copy: \(near.text)")
            let nearId = try #require(try near.json()["id"]?.stringValue)
            let groups = try await client.send(.get, "/v1/apps/gallery/duplicates", token: token).json()
            #expect(groups["groups"] == .array([.array([.string(redId), .string(copyId), .string(nearId)])]))
            // Bob has no duplicates of Ann's photos.
            #expect(try await client.send(.get, "/v1/apps/gallery/duplicates", token: harness.token("bob")).json()["groups"] == .array([]))
        }
    }

    @Test("each user sees only their own photos: another user's id is 404 on every route; no credentials is 401")
    func usersAreIsolated() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let created = try await client.send(.post, Self.photos, token: harness.token("ann"), body: try Pictures.jpeg(Pictures.red), contentType: "image/jpeg")
            let id = try #require(try created.json()["id"]?.stringValue)
            _ = try await waitUntilProcessed(client, id, token: harness.token("ann"))
            let bob = harness.token("bob")
            try await client.send(.get, "\(Self.photos)/\(id)", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.patch, "\(Self.photos)/\(id)", token: bob, json: #"{"caption": "mine"}"#).expectProblem("not-found", status: 404)
            try await client.send(.delete, "\(Self.photos)/\(id)", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.get, "\(Self.photos)/\(id)/original", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.get, "\(Self.photos)/\(id)/image", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.get, "\(Self.photos)/\(id)/thumbnails/small", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.post, "\(Self.photos)/\(id)/share", token: bob, json: #"{"expires_in": 60}"#).expectProblem("not-found", status: 404)
            try await client.send(.get, "\(Self.photos)/\(id)/shares", token: bob).expectProblem("not-found", status: 404)
            #expect(try await client.send(.get, Self.photos, token: bob).json()["items"] == .array([]))
            #expect(try await client.send(.get, "\(Self.photos)?q=cat", token: bob).json()["items"] == .array([]))
            try await client.send(.get, Self.photos).expectProblem("unauthenticated", status: 401)
            try await client.send(.post, Self.photos, body: try Pictures.jpeg(Pictures.red), contentType: "image/jpeg").expectProblem("unauthenticated", status: 401)
            // Ann still has it, untouched.
            #expect(try await client.send(.get, "\(Self.photos)/\(id)", token: harness.token("ann")).json()["caption"] == .null)
        }
    }

    @Test("search by meaning on real MiniLM: kitten finds the tabby, puppy the retriever; tag, date and caption filters; the cursor carries the query")
    func searchByMeaning() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let token = harness.token("ann")
            var ids: [String: String] = [:]
            for (variant, (name, colour)) in [("cat", Pictures.red), ("dog", Pictures.yellow), ("beach", Pictures.blue)].enumerated() {
                let created = try await client.send(.post, "\(Self.photos)?filename=\(name).jpg", token: token,
                                                    body: try Pictures.jpeg(colour, variant: variant), contentType: "image/jpeg")
                ids[name] = try #require(try created.json()["id"]?.stringValue)
                _ = try await waitUntilProcessed(client, ids[name]!, token: token)
            }
            func search(_ query: String) async throws -> [JSONValue] {
                try await client.send(.get, "\(Self.photos)?\(query)", token: token).json()["items"]?.arrayValue ?? []
            }
            let kitten = try await search("q=kitten")
            #expect(kitten.first?["id"] == .string(ids["cat"]!), "\(kitten.map { $0["filename"] })")
            #expect(kitten.first?["score"]?.numberValue.map { $0 > 0.3 } == true)
            let scores = kitten.compactMap { $0["score"]?.numberValue }
            #expect(scores == scores.sorted(by: >), "best first")
            #expect(try await search("q=puppy").first?["id"] == .string(ids["dog"]!))
            #expect(try await search("q=ocean%20waves").first?["id"] == .string(ids["beach"]!))
            // The tag filter, alone and with q.
            #expect(try await search("tag=golden%20retriever").map { $0["id"] } == [.string(ids["dog"]!)])
            #expect(try await search("tag=Tabby%20Cat&q=kitten").map { $0["id"] } == [.string(ids["cat"]!)])
            // A caption is searchable.
            let patched = try await client.send(.patch, "\(Self.photos)/\(ids["beach"]!)", token: token, json: #"{"caption": "Holiday in Sardinia with the family"}"#)
            #expect(try patched.json()["caption"] == "Holiday in Sardinia with the family")
            #expect(try await search("q=family%20vacation%20in%20Italy").first?["id"] == .string(ids["beach"]!))
            // An empty patch changes nothing; null clears.
            #expect(try await client.send(.patch, "\(Self.photos)/\(ids["beach"]!)", token: token, json: "{}").json()["caption"] == "Holiday in Sardinia with the family")
            // Dates: nothing before 2000, everything since then.
            #expect(try await search("until=1999-01-01").isEmpty)
            #expect(try await search("since=2000-01-01T00:00:00Z").count == 3)
            try await client.send(.get, "\(Self.photos)?since=yesterday", token: token).expectProblem("invalid-argument", status: 400)
            // Pages with a cursor: newest first without q, the ranking's order with q.
            let first = try await client.send(.get, "\(Self.photos)?limit=2", token: token).json()
            #expect(first["items"]?.arrayValue?.map { $0["id"] } == [.string(ids["beach"]!), .string(ids["dog"]!)])
            let cursor = try #require(first["next_cursor"]?.stringValue)
            let second = try await client.send(.get, "\(Self.photos)?limit=2&cursor=\(cursor)", token: token).json()
            #expect(second["items"]?.arrayValue?.map { $0["id"] } == [.string(ids["cat"]!)])
            #expect(second["next_cursor"] == .null)
            let ranked = try await client.send(.get, "\(Self.photos)?q=animal&limit=1", token: token).json()
            let queryCursor = try #require(ranked["next_cursor"]?.stringValue)
            let next = try await client.send(.get, "\(Self.photos)?q=animal&limit=1&cursor=\(queryCursor)", token: token).json()
            #expect(next["items"]?.arrayValue?.first?["id"] != ranked["items"]?.arrayValue?.first?["id"])
            try await client.send(.get, "\(Self.photos)?q=boat&cursor=\(queryCursor)", token: token).expectProblem("invalid-argument", status: 400)
            try await client.send(.get, "\(Self.photos)?cursor=not-a-cursor", token: token).expectProblem("invalid-argument", status: 400)
            try await client.send(.get, "\(Self.photos)?limit=101", token: token).expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("delete removes the image, thumbnails, vector and share links; PATCH validates its body")
    func deleteAndPatch() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let token = harness.token("ann")
            let created = try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.red), contentType: "image/jpeg")
            let id = try #require(try created.json()["id"]?.stringValue)
            _ = try await waitUntilProcessed(client, id, token: token)
            try await client.send(.patch, "\(Self.photos)/\(id)", token: token, json: #"{"caption": 5}"#).expectProblem("invalid-argument", status: 400)
            try await client.send(.patch, "\(Self.photos)/\(id)", token: token, json: #"{"title": "x"}"#).expectProblem("invalid-argument", status: 400)
            try await client.send(.patch, "\(Self.photos)/\(id)", token: token, json: #"{"caption": "#).expectProblem("invalid-argument", status: 400)
            let share = try await client.send(.post, "\(Self.photos)/\(id)/share", token: token, json: #"{"expires_in": 600}"#).json()
            let shared = try #require(share["url"]?.stringValue)
            #expect(try await client.send(.get, shared).status == .ok)
            #expect(try await harness.primitives.objects.list(bucket: "gallery", ListObjectsRequest()).objects.count == 3)

            let deleted = try await client.send(.delete, "\(Self.photos)/\(id)", token: token)
            #expect(deleted.status == .noContent)
            #expect(try await harness.primitives.objects.list(bucket: "gallery", ListObjectsRequest()).objects.isEmpty)
            #expect(try await harness.primitives.vectors.collection("gallery_photos").get(id) == nil)
            try await client.send(.get, shared).expectProblem("not-found", status: 404)
            try await client.send(.get, "\(Self.photos)/\(id)", token: token).expectProblem("not-found", status: 404)
            try await client.send(.delete, "\(Self.photos)/\(id)", token: token).expectProblem("not-found", status: 404)
            #expect(try await client.send(.get, "/v1/apps/gallery/usage", token: token).json()["used_bytes"] == 0)
        }
    }

    @Test("share links work without credentials, strip the GPS location, expire and can be revoked")
    func shareLinks() async throws {
        let clock = Mutex(Date())
        let harness = try await harness(now: { clock.withLock { $0 } })
        try await harness.test { client in
            let token = harness.token("ann")
            // A JPEG with GPS coordinates in its Exif data (from the imaging fixtures' generator).
            let withLocation = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../AerieImagingTests/Fixtures/quadrants-orientation-6.jpg").standardizedFileURL)
            #expect(ImageLocation.isPresent(in: withLocation))
            let created = try await client.send(.post, Self.photos, token: token, body: withLocation, contentType: "image/jpeg")
            let photo = try created.json()
            #expect(photo["width"] == 32 && photo["height"] == 64, "width and height after the EXIF orientation")
            let id = try #require(photo["id"]?.stringValue)
            let link = try await client.send(.post, "\(Self.photos)/\(id)/share", token: token, json: #"{"expires_in": 3600}"#)
            #expect(link.status == .created)
            let url = try #require(try link.json()["url"]?.stringValue)
            let shared = try await client.send(.get, url)
            #expect(shared.status == .ok && shared.headers[.contentType] == "image/jpeg")
            #expect(!ImageLocation.isPresent(in: Data(buffer: shared.body)), "no location in a shared image")
            #expect(!ImageLocation.isPresent(in: Data(buffer: try await client.send(.get, photo["url"]!.stringValue!).body)), "nor in the signed url")
            #expect(ImageLocation.isPresent(in: Data(buffer: try await client.send(.get, "\(Self.photos)/\(id)/original", token: token).body)),
                    "the owner's original keeps it")
            let listed = try await client.send(.get, "\(Self.photos)/\(id)/shares", token: token).json()
            let shareToken = try #require(listed["items"]?.arrayValue?.first?["token"]?.stringValue)
            try await client.send(.delete, "\(Self.photos)/\(id)/shares/\(shareToken)", token: harness.token("bob")).expectProblem("not-found", status: 404)
            #expect(try await client.send(.delete, "\(Self.photos)/\(id)/shares/\(shareToken)", token: token).status == .noContent)
            try await client.send(.get, url).expectProblem("not-found", status: 404)
            // Expiry, by the app's clock.
            let short = try await client.send(.post, "\(Self.photos)/\(id)/share", token: token, json: #"{"expires_in": 60}"#).json()
            #expect(try await client.send(.get, short["url"]!.stringValue!).status == .ok)
            clock.withLock { $0 = $0.addingTimeInterval(61) }
            try await client.send(.get, short["url"]!.stringValue!).expectProblem("not-found", status: 404)
            try await client.send(.post, "\(Self.photos)/\(id)/share", token: token, json: #"{"expires_in": 0}"#).expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.photos)/\(id)/share", token: token, json: #"{"expires_in": "soon"}"#).expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("the quota: an upload that would pass it is 413 and stores nothing; deleting frees it")
    func quota() async throws {
        let jpeg = try Pictures.jpeg(Pictures.red, width: 640, height: 480)
        let harness = try await harness(configuration: { var c = GalleryConfiguration(); c.quotaBytes = Int64(jpeg.count * 2 + 10); return c }())
        try await harness.test { client in
            let token = harness.token("ann")
            let first = try await client.send(.post, Self.photos, token: token, body: jpeg, contentType: "image/jpeg")
            #expect(first.status == .created)
            #expect(try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.blue, width: 640, height: 480, quality: 50), contentType: "image/jpeg").status == .created)
            try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.yellow, width: 640, height: 480), contentType: "image/jpeg")
                .expectProblem("too-large", status: 413)
            #expect(try await client.send(.get, Self.photos, token: token).json()["items"]?.arrayValue?.count == 2)
            // Bob's quota is his own.
            #expect(try await client.send(.post, Self.photos, token: harness.token("bob"), body: jpeg, contentType: "image/jpeg").status == .created)
            let id = try #require(try first.json()["id"]?.stringValue)
            _ = try await waitUntilProcessed(client, id, token: token)
            #expect(try await client.send(.delete, "\(Self.photos)/\(id)", token: token).status == .noContent)
            #expect(try await client.send(.post, Self.photos, token: token, body: try Pictures.jpeg(Pictures.yellow, width: 640, height: 480), contentType: "image/jpeg").status == .created)
        }
    }

    @Test("every Gallery route is in /openapi.json; the page renders for a signed-in user")
    func documentedAndPaged() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let document = try await client.send(.get, "/openapi.json").json()
            let paths = try #require(document["paths"]?.objectValue)
            for path in ["/v1/apps/gallery/photos", "/v1/apps/gallery/photos/{id}", "/v1/apps/gallery/duplicates",
                         "/v1/apps/gallery/photos/{id}/share", "/v1/apps/gallery/shared/{token}"] {
                #expect(paths[path] != nil, "\(path)")
            }
            #expect(paths["/v1/apps/gallery/photos"]?["post"]?["responses"]?["415"] != nil)
            #expect(document["components"]?["schemas"]?["GalleryPhoto"] != nil && document["components"]?["schemas"]?["GalleryUpload"] != nil)
            let page = try await client.send(.get, "/gallery/static/gallery.js")
            #expect(page.status == .ok)
        }
    }
}

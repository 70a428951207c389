import AerieCore
import AerieFaces
import AerieHTTPTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Faces

@Suite(.serialized) struct FacesAPITests {
    static let base = "/v1/apps/faces"

    func harness(configuration: FacesConfiguration = FacesConfiguration()) async throws -> GatewayHarness {
        try await GatewayHarness.make(configure: { $0.maxBodySize = 32 << 20 }, apps: [FacesApp.forTests(configuration: configuration)], users: ["ann", "bob"])
    }

    func createPerson(_ client: some TestClientProtocol, _ name: String, token: String) async throws -> String {
        let response = try await client.send(.post, "\(Self.base)/people", token: token, jsonValue: ["name": .string(name)])
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.json()["id"]?.stringValue)
    }

    @Test("enrol one photo, recognize another of the same man by name; a different man is unknown; another user matches nothing")
    func enrolAndRecognize() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let ann = harness.token("ann"), bob = harness.token("bob")
            let obama = try await createPerson(client, "Barack Obama", token: ann)
            let enrolled = try await client.send(.post, "\(Self.base)/people/\(obama)/faces", token: ann, body: try FacesFixtures.photo("obama.jpg"),
                                                 contentType: "image/jpeg")
            #expect(enrolled.status == .created, "\(enrolled.text)")
            #expect(try enrolled.json()["person"]?["faces"] == 1)
            #expect(try enrolled.json()["face"]?["box"]?["width"]?.numberValue ?? 0 > 50)

            let seen = try await client.send(.post, "\(Self.base)/recognize", token: ann, body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
            #expect(seen.status == .ok, "\(seen.text)")
            let faces = try #require(try seen.json()["faces"]?.arrayValue)
            #expect(faces.count == 1)
            #expect(faces.first?["person"]?["name"] == "Barack Obama")
            #expect(faces.first?["person"]?["id"] == .string(obama))
            #expect((faces.first?["distance"]?.numberValue ?? 1) < 0.6)
            #expect(try seen.json()["threshold"] == 0.6)

            let other = try await client.send(.post, "\(Self.base)/recognize", token: ann, body: try FacesFixtures.photo("biden.jpg"), contentType: "image/jpeg")
            let unknown = try #require(try other.json()["faces"]?.arrayValue?.first)
            #expect(unknown["person"] == .null)
            #expect((unknown["distance"]?.numberValue ?? 0) >= 0.6)

            // Bob has no people: the same photo matches nobody, and Ann's person does not exist for him.
            let bobs = try await client.send(.post, "\(Self.base)/recognize", token: bob, body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
            #expect(try bobs.json()["faces"]?.arrayValue?.first?["person"] == .null)
            #expect(try bobs.json()["faces"]?.arrayValue?.first?["distance"] == .null)
            try await client.send(.get, "\(Self.base)/people/\(obama)", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.delete, "\(Self.base)/people/\(obama)", token: bob).expectProblem("not-found", status: 404)
            try await client.send(.post, "\(Self.base)/people/\(obama)/faces", token: bob, body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
                .expectProblem("not-found", status: 404)
            #expect(try await client.send(.get, "\(Self.base)/people", token: bob).json()["items"] == [])
            try await client.send(.post, "\(Self.base)/recognize", body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
                .expectProblem("unauthenticated", status: 401)
        }
    }

    @Test("enrolment refuses a photo without a face, several faces without pick=largest, non-images, corrupt and oversized photos")
    func enrolmentRefusals() async throws {
        var configuration = FacesConfiguration()
        configuration.maxPixels = 300_000
        let harness = try await harness(configuration: configuration)
        try await harness.test { client in
            let ann = harness.token("ann")
            let person = try await createPerson(client, "Someone", token: ann)
            let path = "\(Self.base)/people/\(person)/faces"
            let none = try await client.send(.post, path, token: ann, body: try FacesFixtures.photo("coffee.jpg"), contentType: "image/jpeg")
            try none.expectProblem("unprocessable", status: 422)
            #expect(try none.json()["detail"]?.stringValue?.contains("No face") == true)
            let group = try FacesFixtures.photo("group.jpg")
            let several = try await client.send(.post, path, token: ann, body: group, contentType: "image/jpeg")
            try several.expectProblem("unprocessable", status: 422)
            #expect(try several.json()["detail"]?.stringValue?.contains("pick=largest") == true)
            let picked = try await client.send(.post, "\(path)?pick=largest", token: ann, body: group, contentType: "image/jpeg")
            #expect(picked.status == .created, "\(picked.text)")
            try await client.send(.post, "\(path)?pick=smallest", token: ann, body: group, contentType: "image/jpeg").expectProblem("invalid-argument", status: 400)

            let pdf = Data("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".utf8)
            try await client.send(.post, path, token: ann, body: pdf, contentType: "image/jpeg").expectProblem("unsupported-media-type", status: 415)
            try await client.send(.post, path, token: ann, body: group, contentType: "text/plain").expectProblem("unsupported-media-type", status: 415)
            try await client.send(.post, path, token: ann, body: group.prefix(group.count / 2), contentType: "image/jpeg").expectProblem("unprocessable", status: 422)
            // obama.jpg is 512 × 640 = 327,680 pixels, over the 300,000 allowed here.
            try await client.send(.post, path, token: ann, body: try FacesFixtures.photo("obama.jpg"), contentType: "image/jpeg")
                .expectProblem("too-large", status: 413)
            try await client.send(.post, path, token: ann, body: Data(), contentType: "image/jpeg").expectProblem("invalid-argument", status: 400)
            // A multipart part works like a raw body.
            let multipart = try await client.send(.post, path, token: ann,
                                                  body: form([("file", "obama2.jpg", "image/jpeg", try FacesFixtures.photo("obama2.jpg"))]), contentType: formType)
            #expect(multipart.status == .created, "\(multipart.text)")
            #expect(try multipart.json()["person"]?["faces"] == 2)

            // Bad JSON for people.
            try await client.send(.post, "\(Self.base)/people", token: ann, json: "{\"name\": ").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.base)/people", token: ann, json: "{\"name\": 42}").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.base)/people", token: ann, json: "{\"nom\": \"x\"}").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.base)/people", token: ann, json: "{\"name\": \"   \"}").expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("faces of a person are listed and deleted one by one; deleting the person removes their faces from recognition")
    func deleteFacesAndPeople() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let ann = harness.token("ann")
            let person = try await createPerson(client, "Barack", token: ann)
            for name in ["obama.jpg", "obama2.jpg"] {
                let response = try await client.send(.post, "\(Self.base)/people/\(person)/faces", token: ann, body: try FacesFixtures.photo(name), contentType: "image/jpeg")
                #expect(response.status == .created)
            }
            let faces = try #require(try await client.send(.get, "\(Self.base)/people/\(person)/faces", token: ann).json()["items"]?.arrayValue)
            #expect(faces.count == 2)
            let first = try #require(faces.first?["id"]?.stringValue)
            let crop = try await client.send(.get, "\(Self.base)/crops/\(first)", token: ann)
            #expect(crop.status == .ok && crop.headers[.contentType] == "image/jpeg")
            try await client.send(.get, "\(Self.base)/crops/\(first)", token: harness.token("bob")).expectProblem("not-found", status: 404)
            try await client.send(.delete, "\(Self.base)/people/\(person)/faces/\(first)", token: harness.token("bob")).expectProblem("not-found", status: 404)
            #expect(try await client.send(.delete, "\(Self.base)/people/\(person)/faces/\(first)", token: ann).status == .noContent)
            #expect(try await client.send(.get, "\(Self.base)/people/\(person)", token: ann).json()["faces"] == 1)
            try await client.send(.delete, "\(Self.base)/people/\(person)/faces/\(first)", token: ann).expectProblem("not-found", status: 404)

            #expect(try await client.send(.delete, "\(Self.base)/people/\(person)", token: ann).status == .noContent)
            try await client.send(.get, "\(Self.base)/people/\(person)/faces", token: ann).expectProblem("not-found", status: 404)
            let seen = try await client.send(.post, "\(Self.base)/recognize", token: ann, body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
            #expect(try seen.json()["faces"]?.arrayValue?.first?["person"] == .null)
            #expect(try seen.json()["faces"]?.arrayValue?.first?["distance"] == .null)
            #expect(try await harness.primitives.vectors.collection(FacesKeys.vectorCollection).count == 0)
        }
    }

    @Test("verify compares the largest faces of parts a and b; detect gives boxes and five landmarks")
    func verifyAndDetect() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let ann = harness.token("ann")
            let same = try await client.send(.post, "\(Self.base)/verify", token: ann, body: form([
                ("a", "obama.jpg", "image/jpeg", try FacesFixtures.photo("obama.jpg")), ("b", "obama2.jpg", "image/jpeg", try FacesFixtures.photo("obama2.jpg")),
            ]), contentType: formType)
            #expect(same.status == .ok, "\(same.text)")
            #expect(try same.json()["same"] == true)
            let different = try await client.send(.post, "\(Self.base)/verify", token: ann, body: form([
                ("a", "obama.jpg", "image/jpeg", try FacesFixtures.photo("obama.jpg")), ("b", "biden.jpg", "image/jpeg", try FacesFixtures.photo("biden.jpg")),
            ]), contentType: formType)
            #expect(try different.json()["same"] == false)
            #expect((try different.json()["distance"]?.numberValue ?? 0) > 0.6)
            try await client.send(.post, "\(Self.base)/verify", token: ann, body: form([("a", "obama.jpg", "image/jpeg", try FacesFixtures.photo("obama.jpg"))]),
                                  contentType: formType).expectProblem("invalid-argument", status: 400)
            let faceless = try await client.send(.post, "\(Self.base)/verify", token: ann, body: form([
                ("a", "obama.jpg", "image/jpeg", try FacesFixtures.photo("obama.jpg")), ("b", "coffee.jpg", "image/jpeg", try FacesFixtures.photo("coffee.jpg")),
            ]), contentType: formType)
            try faceless.expectProblem("unprocessable", status: 422)
            #expect(try faceless.json()["detail"]?.stringValue?.contains("part b") == true)
            try await client.send(.post, "\(Self.base)/verify", token: ann, body: try FacesFixtures.photo("obama.jpg"), contentType: "image/jpeg")
                .expectProblem("invalid-argument", status: 400)

            let group = try await client.send(.post, "\(Self.base)/detect", token: ann, body: try FacesFixtures.photo("group.jpg"), contentType: "image/jpeg")
            let faces = try #require(try group.json()["faces"]?.arrayValue)
            #expect(faces.count == 6)
            for face in faces {
                #expect(face["landmarks"]?.arrayValue?.count == 5)
                #expect(face["landmarks"]?.arrayValue?.allSatisfy { $0.arrayValue?.count == 2 } == true)
            }
            #expect(try await client.send(.post, "\(Self.base)/detect", token: ann, body: try FacesFixtures.photo("coffee.jpg"), contentType: "image/jpeg").json()["faces"] == [])
        }
    }

    @Test("unknown faces cluster by person with stable ids; naming a cluster enrols its faces; other users cannot see or name it")
    func clusters() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let ann = harness.token("ann")
            for name in ["obama.jpg", "biden.jpg", "obama2.jpg"] {
                let response = try await client.send(.post, "\(Self.base)/recognize", token: ann, body: try FacesFixtures.photo(name), contentType: "image/jpeg")
                #expect(response.status == .ok)
            }
            let listed = try await client.send(.get, "\(Self.base)/clusters", token: ann).json()
            let groups = try #require(listed["groups"]?.arrayValue)
            #expect(groups.map { $0["faces"]?.arrayValue?.count ?? 0 } == [2, 1])
            #expect(try await client.send(.get, "\(Self.base)/clusters", token: ann).json() == listed, "cluster ids change between calls")
            let obamas = try #require(groups.first?["id"]?.stringValue)
            let crop = try #require(groups.first?["faces"]?.arrayValue?.first?["image"]?.stringValue)
            #expect(try await client.send(.get, crop, token: ann).status == .ok)

            #expect(try await client.send(.get, "\(Self.base)/clusters", token: harness.token("bob")).json()["groups"] == [])
            try await client.send(.post, "\(Self.base)/clusters/\(obamas)/name", token: harness.token("bob"), jsonValue: ["name": "Mine"])
                .expectProblem("not-found", status: 404)
            try await client.send(.post, "\(Self.base)/clusters/\(obamas)/name", token: ann, jsonValue: [:]).expectProblem("invalid-argument", status: 400)

            let named = try await client.send(.post, "\(Self.base)/clusters/\(obamas)/name", token: ann, jsonValue: ["name": "Barack"])
            #expect(named.status == .created, "\(named.text)")
            #expect(try named.json()["person"]?["faces"] == 2)
            let remaining = try #require(try await client.send(.get, "\(Self.base)/clusters", token: ann).json()["groups"]?.arrayValue)
            #expect(remaining.count == 1 && remaining.first?["faces"]?.arrayValue?.count == 1)
            try await client.send(.post, "\(Self.base)/clusters/\(obamas)/name", token: ann, jsonValue: ["name": "Again"]).expectProblem("not-found", status: 404)

            let seen = try await client.send(.post, "\(Self.base)/recognize", token: ann, body: try FacesFixtures.photo("obama2.jpg"), contentType: "image/jpeg")
            #expect(try seen.json()["faces"]?.arrayValue?.first?["person"]?["name"] == "Barack")
        }
    }

    @Test("watches: webhook (secret shown once) or email; email needs a mail server; another user's person is not found")
    func watches() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let ann = harness.token("ann")
            let person = try await createPerson(client, "Barack", token: ann)
            let created = try await client.send(.post, "\(Self.base)/watches", token: ann,
                                                jsonValue: ["person_id": .string(person), "webhook_url": "http://127.0.0.1:9/hook"])
            #expect(created.status == .created, "\(created.text)")
            let secret = try #require(try created.json()["secret"]?.stringValue)
            #expect(secret.hasPrefix("whsec_"))
            let id = try #require(try created.json()["id"]?.stringValue)
            let listed = try await client.send(.get, "\(Self.base)/watches", token: ann).json()
            #expect(listed["items"]?.arrayValue?.count == 1)
            #expect(!String(decoding: listed.encoded(), as: UTF8.self).contains(secret))
            #expect(try await client.send(.get, "\(Self.base)/watches/\(id)", token: ann).json()["secret"] == nil)

            let mail = try await client.send(.post, "\(Self.base)/watches", token: ann, jsonValue: ["person_id": .string(person), "email": "ann@example.com"])
            try mail.expectProblem("unprocessable", status: 422)
            #expect(try mail.json()["detail"]?.stringValue?.contains("--smtp-url") == true)
            try await client.send(.post, "\(Self.base)/watches", token: ann, jsonValue: ["person_id": .string(person), "webhook_url": "ftp://example.com/x"])
                .expectProblem("unprocessable", status: 422)
            try await client.send(.post, "\(Self.base)/watches", token: ann, jsonValue: ["person_id": .string(person)]).expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.base)/watches", token: harness.token("bob"),
                                  jsonValue: ["person_id": .string(person), "webhook_url": "http://127.0.0.1:9/hook"]).expectProblem("not-found", status: 404)
            try await client.send(.delete, "\(Self.base)/watches/\(id)", token: harness.token("bob")).expectProblem("not-found", status: 404)
            // Bob cannot make the notifier send Ann's watch by invoking it with a forged message.
            let forged = "{\"owner\": \"ann\", \"watch\": \"\(id)\", \"person_id\": \"\(person)\", \"person_name\": \"x\", \"photo\": \"p\", "
                + "\"distance\": 0.1, \"box\": {\"x\": 0, \"y\": 0, \"width\": 1, \"height\": 1}, \"recognized_at\": \"2026-12-07T00:00:00Z\"}"
            try await client.send(.post, "/v1/functions/faces-notify/invoke", token: harness.token("bob"), json: forged).expectProblem("forbidden", status: 403)
            #expect(try await client.send(.delete, "\(Self.base)/watches/\(id)", token: ann).status == .noContent)
            #expect(try await client.send(.get, "\(Self.base)/watches", token: ann).json()["items"] == [])
        }
    }

    @Test("every Faces route is in /openapi.json with its image statuses; the page and its script are served")
    func documented() async throws {
        let harness = try await harness()
        try await harness.test { client in
            let document = try await client.send(.get, "/openapi.json").json()
            let paths = try #require(document["paths"]?.objectValue)
            for path in ["/people", "/people/{id}", "/people/{id}/faces", "/people/{id}/faces/{face}", "/recognize", "/verify", "/detect",
                         "/clusters", "/clusters/{id}/name", "/watches", "/watches/{id}", "/crops/{id}"] {
                #expect(paths["\(Self.base)\(path)"] != nil, "\(path)")
            }
            for status in ["413", "415", "422"] {
                #expect(paths["\(Self.base)/recognize"]?["post"]?["responses"]?[status] != nil, "\(status)")
            }
            #expect(document["components"]?["schemas"]?["FacesRecognition"] != nil)
            #expect(try await client.send(.get, "/faces/static/faces.js").status == .ok)
        }
    }
}

@Suite struct FacesUnitTests {
    @Test("Chinese whispers separates well-apart groups and gives the same labels every time")
    func chineseWhispers() {
        var embeddings: [[Float]] = []
        for group in 0..<3 {
            for member in 0..<4 {
                var vector = [Float](repeating: 0, count: 8)
                vector[group] = 1
                vector[7] = Float(member) * 0.05
                embeddings.append(vector)
            }
        }
        embeddings.append([0, 0, 0, 0, 0, 5, 0, 0])
        let labels = ChineseWhispers.cluster(embeddings, threshold: 0.6)
        #expect(Set(labels).count == 4)
        for group in 0..<3 {
            #expect(Set(labels[(group * 4)..<(group * 4 + 4)]).count == 1)
        }
        #expect(ChineseWhispers.cluster(embeddings, threshold: 0.6) == labels)
        #expect(ChineseWhispers.cluster([], threshold: 0.6) == [])
    }

    @Test("webhook bodies are signed as t=<time>,v1=HMAC-SHA256(secret, \"<time>.<body>\")")
    func webhookSignature() {
        let body = Data("{\"event\":\"faces.recognized\"}".utf8)
        #expect(NotifyWatchers.signature(secret: "whsec_test", timestamp: 1_700_000_000, body: body)
            == "t=1700000000,v1=c5ce77206d5a40fd0172720f31b883ebb24003862f1c3774eaca520aa8624cd9")
    }

    @Test("AERIE_FACES_* settings are read and checked")
    func configuration() throws {
        let configuration = try FacesConfiguration.fromEnvironment(["AERIE_FACES_THRESHOLD": "0.5", "AERIE_FACES_DETECTOR": "cnn",
                                                                     "AERIE_FACES_RETENTION_HOURS": "2"])
        #expect(configuration.threshold == 0.5)
        #expect(configuration.detector == .cnn)
        #expect(configuration.sightingRetention == 7200)
        #expect(throws: AerieError.self) { try FacesConfiguration.fromEnvironment(["AERIE_FACES_THRESHOLD": "two"]) }
        #expect(throws: AerieError.self) { try FacesConfiguration.fromEnvironment(["AERIE_FACES_DETECTOR": "magic"]) }
    }
}

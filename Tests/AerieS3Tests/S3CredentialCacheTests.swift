import AerieAuth
import AerieCore
import AerieSQLite
@testable import AerieS3
import Foundation
import Logging
import Testing

/// The credential cache saves the lookup, the unsealing and the key derivation, but never outlives a revocation.
@Suite struct S3CredentialCacheTests {
    @Test("Cache: a known credential is served from the cache; a wrong secret still fails; revoking or disabling refuses the next request")
    func revocationIsImmediate() async throws {
        let s3 = try await S3Fixture.make()
        try await s3.test { client in
            #expect(try await client.send(s3.bob, .put, "/cached").status == .ok)
            #expect(try await client.send(s3.bob, .put, "/cached/k", body: Data("v".utf8)).status == .ok)
            let generation = try await s3.auth.s3CredentialsGeneration()
            #expect(s3.server.credentials.principal(s3.bob.accessKeyId, generation: generation)?.username == "bob")
            // A cached principal does not skip the signature check.
            let wrong = SigV4Signer(accessKeyId: s3.bob.accessKeyId, secretAccessKey: "not-the-secret")
            #expect(try await client.send(wrong, .get, "/cached/k").errorCode == "SignatureDoesNotMatch")
            #expect(try await client.send(s3.bob, .get, "/cached/k").text == "v")

            try await s3.auth.revokeS3Credential(s3.bob.accessKeyId)
            #expect(try await s3.auth.s3CredentialsGeneration() != generation)
            #expect(try await client.send(s3.bob, .get, "/cached/k").errorCode == "InvalidAccessKeyId")

            #expect(try await client.send(s3.alice, .put, "/alice-cached").status == .ok)
            _ = try await s3.auth.setDisabled("alice", true)
            #expect(try await client.send(s3.alice, .get, "/alice-cached").errorCode == "InvalidAccessKeyId")
            // Other credentials go on working (and are looked up again under the new generation).
            #expect(try await client.send(s3.admin, .get, "/cached/k").text == "v")
        }
    }

    @Test("Cache: a revocation or a disabled user from another process on the same data directory takes effect on the next request")
    func revocationFromAnotherProcess() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-s3-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The server and the CLI each open the data directory's change counter, as `aerie serve` and `aerie users` do.
        let s3 = try await S3Fixture.make(primitives: try EmbeddedStorage(directory: directory).primitives,
                                          changes: try FileAuthChangeCounter(directory: directory))
        // What `aerie users disable` or a second node does: its own connections to the same database.
        var logger = Logger(label: "other")
        logger.logLevel = .warning
        let other = try await AuthService.open(tables: try EmbeddedStorage(directory: directory).tables, options: .init(bcryptCost: 4), logger: logger,
                                               changes: try FileAuthChangeCounter(directory: directory))
        try await s3.test { client in
            #expect(try await client.send(s3.bob, .put, "/shared").status == .ok)
            #expect(try await client.send(s3.bob, .get, "/shared", query: "list-type=2").status == .ok)
            try await other.revokeS3Credential(s3.bob.accessKeyId)
            #expect(try await client.send(s3.bob, .get, "/shared", query: "list-type=2").errorCode == "InvalidAccessKeyId")

            #expect(try await client.send(s3.alice, .put, "/alice-shared").status == .ok)
            _ = try await other.setDisabled("alice", true)
            #expect(try await client.send(s3.alice, .get, "/alice-shared", query: "list-type=2").errorCode == "InvalidAccessKeyId")
            _ = try await other.setDisabled("alice", false)
            #expect(try await client.send(s3.alice, .get, "/alice-shared", query: "list-type=2").status == .ok)
        }
    }

    @Test("Cache: the signing key is derived once per scope and is the one SigV4 derives")
    func signingKeys() {
        let cache = S3CredentialCache(capacity: 2)
        let principal = S3Principal(accessKeyId: "AK1", secretAccessKey: "s1", username: "u", role: .user, readOnly: false)
        cache.store(principal, generation: "g")
        let key = cache.signingKey(principal, date: "20260101", region: "us-east-1", service: "s3")
        #expect(key == SigV4.signingKey(secret: "s1", date: "20260101", region: "us-east-1", service: "s3"))
        #expect(cache.principal("AK1", generation: "g") == principal)
        #expect(cache.principal("AK1", generation: "h") == nil)
        // A different principal under the same id (a re-made credential) never gets the old key.
        let remade = S3Principal(accessKeyId: "AK1", secretAccessKey: "s2", username: "u", role: .user, readOnly: false)
        #expect(cache.signingKey(remade, date: "20260101", region: "us-east-1", service: "s3")
                == SigV4.signingKey(secret: "s2", date: "20260101", region: "us-east-1", service: "s3"))
        // Bounded: past the capacity it starts over.
        for index in 2...4 {
            cache.store(S3Principal(accessKeyId: "AK\(index)", secretAccessKey: "s", username: "u", role: .user, readOnly: false), generation: "g")
        }
        #expect(cache.count <= 2)
    }
}

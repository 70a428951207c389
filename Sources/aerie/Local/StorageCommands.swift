import AerieCore
import AeriePostgres
import AerieSQLite
import ArgumentParser
import Foundation
import Logging

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations to a data directory, or move its deployment onto PostgreSQL and an object store (--to).",
        discussion: """
        `serve` migrates on start too; run this to upgrade ahead of time.

        With --to, the deployment in --data moves to PostgreSQL (an empty database) and an object store: users, keys, sessions, the token secret, tables, queued messages, the event log with the triggers' positions, invocation records, app state, object bodies and vector collections. Stop the server first. The data directory is only read: start the new deployment's nodes with the same --database and --object-store, and keep the directory until you are satisfied. Model files stay per node; deployed functions move with the log and the objects.

        Examples:
          aerie migrate --data ./aerie-data
          aerie migrate --data ./aerie-data --to postgres://aerie:secret@db/aerie \\
            --object-store s3://aerie-objects/prod
        """
    )
    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("Move the deployment to this PostgreSQL database (postgres://USER:PASS@HOST:PORT/DB, empty).", valueName: "url"))
    var to: String?
    @Option(help: ArgumentHelp(
        "With --to, where object bytes go: s3://BUCKET[/PREFIX] (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) or file:///PATH (a folder other than --data's objects).",
        valueName: "url"))
    var objectStore: String?

    /// The target as `serve` would read it.
    private var target: DeploymentOptions {
        get throws {
            var arguments = ["--database", to ?? ""]
            if let objectStore { arguments += ["--object-store", objectStore] }
            return try DeploymentOptions.parse(arguments)
        }
    }

    func validate() throws {
        guard to != nil else {
            if objectStore != nil { throw ValidationError("--object-store goes with --to (the database to move to).") }
            return
        }
        guard let objectStore else {
            throw ValidationError("--to needs --object-store: s3://BUCKET[/PREFIX], or file:///PATH for a folder every node shares.")
        }
        let target = try self.target
        try target.validate()
        if let folder = target.objectFolder,
           folder == data.directory.appendingPathComponent(EmbeddedStorage.objectsFolder, isDirectory: true).standardizedFileURL {
            throw ValidationError("--object-store is --data's own objects folder: give the new deployment a folder of its own.")
        }
    }

    func run() async throws {
        guard let to else {
            let applied = try EmbeddedStorage.migrate(directory: data.directory)
            print("\(data.directory.path): \(applied.count) migrations applied")
            for migration in applied { print("  \(migration)") }
            return
        }
        let source = try EmbeddedExport(directory: data.directory)
        let options = try target
        let (bodies, bodiesDescription) = try await options.openBodies(default: data.directory)
        var logger = Logger(label: "aerie.postgres")
        logger.logLevel = .warning
        let storage = try await PostgresStorage.open(url: to, bodies: bodies, logger: logger)
        defer { storage.close() }
        let progress = ProgressLine()
        let summary = try await DeploymentMigration(source: source, target: storage, bodies: bodies, progress: progress).run()
        progress.finish("moved \(summary)")
        print("""
            \(data.directory.path) moved to PostgreSQL at \(PostgresDatabase.redacted(to)), objects in \(bodiesDescription): \(summary).
            Start the new deployment's nodes with:
              aerie serve --database '\(PostgresDatabase.redacted(to))' --object-store '\(objectStore ?? "")'
            The data directory was only read; keep it until you are satisfied with the new deployment.
            """)
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent snapshot of a data directory (database and objects) while the server runs.",
        discussion: "Example:\n  aerie backup /backups/aerie-2026-11-23 --data ./aerie-data"
    )
    @OptionGroup var data: DataOptions
    @Argument(help: "An empty or new directory to write the backup to.") var destination: String

    func run() async throws {
        let storage = try data.openStorage()
        let summary = try await storage.backup(to: URL(fileURLWithPath: destination, isDirectory: true))
        print("backup written to \(destination): \(summary)")
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into an empty data directory.",
        discussion: "Stop the server first, or restore into a new directory and point the server at it.\n\nExample:\n  aerie restore /backups/aerie-2026-11-23 --data ./aerie-data-restored"
    )
    @OptionGroup var data: DataOptions
    @Argument(help: "The backup directory written by `aerie backup`.") var source: String

    func run() async throws {
        try EmbeddedStorage.restore(from: URL(fileURLWithPath: source, isDirectory: true), to: data.directory)
        print("restored \(source) into \(data.directory.path)")
    }
}

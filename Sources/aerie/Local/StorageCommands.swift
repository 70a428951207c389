import AerieCore
import AerieSQLite
import ArgumentParser
import Foundation

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations to a data directory and list them.",
        discussion: "`serve` migrates on start too; run this to upgrade ahead of time.\n\nExample:\n  aerie migrate --data ./aerie-data"
    )
    @OptionGroup var data: DataOptions

    func run() async throws {
        let applied = try EmbeddedStorage.migrate(directory: data.directory)
        print("\(data.directory.path): \(applied.count) migrations applied")
        for migration in applied { print("  \(migration)") }
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

import AerieCore
import AerieSQLite
import ArgumentParser
import Foundation

/// Where the data directory is, shared by the local commands.
struct DataOptions: ParsableArguments {
    @Option(help: "The data directory (SQLite database and object files).")
    var data = "./aerie-data"

    @Option(help: "normal: nothing acknowledged is lost if the process is killed; strict: also safe against power loss (slower).")
    var durability: DurabilityOption = .normal

    var directory: URL { URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL }

    func openStorage() throws -> EmbeddedStorage {
        try EmbeddedStorage(directory: directory, durability: durability.value)
    }
}

enum DurabilityOption: String, ExpressibleByArgument, CaseIterable {
    case normal
    case strict

    var value: Durability {
        switch self {
        case .normal: .normal
        case .strict: .strict
        }
    }
}

import Foundation

/// Places in the repository the tests run from: its root, and the data directory `make test` installs the models
/// into (`aerie models install …`, `make imagine-models`).
public enum RepositoryPaths {
    /// The repository's root (this file is `Sources/AerieTesting/RepositoryPaths.swift`).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$AERIE_DATA`, or `aerie-data` at the root.
    public static var dataDirectory: URL {
        if let data = ProcessInfo.processInfo.environment["AERIE_DATA"], !data.isEmpty {
            return URL(fileURLWithPath: data, isDirectory: true)
        }
        return root.appendingPathComponent("aerie-data", isDirectory: true)
    }
}

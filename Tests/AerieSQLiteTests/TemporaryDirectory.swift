import AerieCore
import AerieSQLite
import Foundation

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-sqlite-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func appending(_ name: String) -> URL {
        url.appendingPathComponent(name, isDirectory: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Runs `body` with embedded storage on a fresh data directory, then deletes it.
func withStorage<T>(durability: Durability = .normal, _ body: (EmbeddedStorage, TemporaryDirectory) async throws -> T) async throws -> T {
    let temporary = try TemporaryDirectory()
    defer { temporary.remove() }
    let storage = try EmbeddedStorage(directory: temporary.appending("data"), durability: durability)
    return try await body(storage, temporary)
}

/// The AerieError code of a thrown error, or nil.
func errorCode(_ body: () async throws -> Void) async -> AerieError.Code? {
    do {
        try await body()
        return nil
    } catch let error as AerieError {
        return error.code
    } catch {
        return AerieError.Code("unexpected: \(error)")
    }
}

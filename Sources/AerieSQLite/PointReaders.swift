import Foundation
import GRDB
import Synchronization

/// Read-only connections for point lookups on the caller's thread: a caller takes an idle one, or opens one when
/// all are in use, and gives it back after. The set grows to the most lookups ever made at once (about one per
/// thread that reads: the cooperative pool's, for the gateway) and stays there; connections are cheap to keep.
final class PointReaders: Sendable {
    private let path: String
    private let configuration: Configuration
    private let idle: Mutex<[DatabaseQueue]>

    init(path: String, configuration: Configuration) throws {
        self.path = path
        self.configuration = configuration
        // One now, so a database that cannot be opened read-only fails at start, not at the first lookup.
        idle = Mutex([try DatabaseQueue(path: path, configuration: configuration)])
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let reader = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(reader) } }
        return try reader.inDatabase(body)
    }
}

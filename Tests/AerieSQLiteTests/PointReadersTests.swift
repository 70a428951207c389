import AerieCore
@testable import AerieSQLite
import Foundation
import GRDB
import Synchronization
import Testing

@Suite struct PointReadersTests {
    @Test func concurrentLookupsEachGetAConnectionAndSeeCommittedWrites() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let database = try SQLiteDatabase(url: temporary.appending("point.sqlite"))
        try await database.write { db in
            try db.execute(sql: "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            for k in 0..<100 { try db.execute(sql: "INSERT INTO kv VALUES (?, ?)", arguments: [k, "v\(k)"]) }
        }
        // Lookups that overlap: each holds its connection while the others start, so one shared connection would
        // serialise them; with the set, as many connections are opened as were in use at once.
        let overlap = Overlap()
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for k in 0..<64 {
                group.addTask {
                    try await database.readPoint { db in
                        overlap.enter()
                        usleep(2_000)
                        overlap.leave()
                        return try String.fetchOne(db, sql: "SELECT v FROM kv WHERE k = ?", arguments: [k % 100])
                    }
                }
            }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(Set(values.compactMap { $0 }) == Set((0..<64).map { "v\($0)" }))
        #expect(overlap.most > 1, "lookups overlapped")
        // A write committed afterwards is seen by the next lookup, whichever connection it gets.
        try await database.write { db in try db.execute(sql: "UPDATE kv SET v = 'new' WHERE k = 5") }
        for _ in 0..<8 {
            #expect(try await database.readPoint { db in try String.fetchOne(db, sql: "SELECT v FROM kv WHERE k = 5") } == "new")
        }
    }
}

/// How many lookups were inside at once, at most.
private final class Overlap: Sendable {
    private let counts = Mutex((inside: 0, most: 0))
    func enter() { counts.withLock { $0.inside += 1; $0.most = max($0.most, $0.inside) } }
    func leave() { counts.withLock { $0.inside -= 1 } }
    var most: Int { counts.withLock { $0.most } }
}

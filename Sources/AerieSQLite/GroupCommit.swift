import Foundation
import GRDB
import Synchronization

/// Commits concurrent small writes together: writes that arrive while a commit is under way wait for it, then run
/// in the next transaction, each in a savepoint of its own. One commit (one WAL sync under `synchronous=FULL`)
/// covers the whole group, and no caller hears back before the commit that holds its write has returned, so each
/// acknowledged write is as durable as if it had committed alone. A write that throws rolls back its savepoint and
/// fails alone; a commit that fails fails every write of the group.
///
/// SQLite has one writer at a time, so under load most of a write's latency is waiting for the writer; grouping
/// turns that wait into shared work (32 concurrent single-message sends cost about one commit, not 32).
final class GroupCommit: Sendable {
    /// One waiting write: `run` executes it inside the group's transaction and keeps its result; `finish` hands
    /// the result (or the commit's error) to its caller.
    private struct Entry: Sendable {
        let run: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var pending: [Entry] = []
        var committing = false
        var commits = 0
        var writes = 0
    }

    /// The most writes in one transaction (keeps a commit's latency bounded under a flood).
    static let maximumGroup = 512

    private let pool: DatabasePool
    private let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Transactions committed and writes they held, since the database was opened (for tests and diagnostics).
    var counts: (commits: Int, writes: Int) {
        state.withLock { ($0.commits, $0.writes) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let entry = Entry(
                run: { db in
                    outcome.result = Result {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        return value!
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.result ?? .failure(CancellationError()))
                    }
                })
            let start = state.withLock { state -> Bool in
                state.pending.append(entry)
                if state.committing { return false }
                state.committing = true
                return true
            }
            if start {
                Task { await self.commitWhilePending() }
            }
        }
    }

    /// Commits groups until no write waits. Runs in a task of its own: no caller's cancellation stops a commit
    /// that other callers wait on.
    private func commitWhilePending() async {
        while true {
            let group = state.withLock { state -> [Entry] in
                let taken = Array(state.pending.prefix(Self.maximumGroup))
                state.pending.removeFirst(taken.count)
                if taken.isEmpty {
                    state.committing = false
                } else {
                    state.commits += 1
                    state.writes += taken.count
                }
                return taken
            }
            if group.isEmpty { return }
            do {
                try await pool.write { db in
                    for entry in group { entry.run(db) }
                }
                for entry in group { entry.finish(nil) }
            } catch {
                for entry in group { entry.finish(error) }
            }
        }
    }
}

/// The result of one grouped write: set on the writer's thread inside the transaction, read by its `finish` after
/// the transaction returned (the pool's write happens before), never concurrently.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Applies one topic's events on this node, in offset order, each once, and tells whoever appended an event what
/// applying it gave: the way a deployment's nodes keep state they hold locally in step (vector indexes, deployed
/// functions). A writer appends its operation, then awaits ``outcome(of:)`` for the offset it got; every node applies
/// every operation, its own included, so all end in the same state whichever node took each write.
///
/// The next offset to apply is kept in `checkpoint` (a file; nil: from the start each time), so a node that was down
/// catches up from where it stopped. Applying must be idempotent: after a crash the operations since the last saved
/// checkpoint apply again.
public actor LogFollower<Outcome: Sendable> {
    public typealias Apply = @Sendable (EventRecord) async -> Result<Outcome, AerieError>

    public nonisolated let topic: String
    private let checkpoint: URL?
    private let apply: Apply
    private let pollInterval: Duration
    /// What ``outcome(of:)`` answers for an operation applied before this process started following.
    private let appliedEarlier: Outcome
    private let stopped: String
    private var next: Int64 = 0
    /// Outcomes of recent operations, for writers that ask after their operation was applied.
    private var recent: [Int64: Result<Outcome, AerieError>] = [:]
    private var waiters: [Int64: [CheckedContinuation<Result<Outcome, AerieError>, Never>]] = [:]

    /// `stopped` is the message writers still waiting get when following stops.
    public init(topic: String, checkpoint: URL?, pollInterval: Duration, appliedEarlier: Outcome, stopped: String, apply: @escaping Apply) {
        self.topic = topic
        self.checkpoint = checkpoint
        self.pollInterval = pollInterval
        self.appliedEarlier = appliedEarlier
        self.stopped = stopped
        self.apply = apply
        if let checkpoint, let text = try? String(contentsOf: checkpoint, encoding: .utf8),
           let stored = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            next = stored
        }
    }

    /// Follows the topic until the task is cancelled, woken by the topic's announcements (appends made here, and on
    /// PostgreSQL other nodes' appends relayed by `LISTEN`) and polling every `pollInterval` besides.
    public nonisolated func start(events: any EventLog, signals: TopicSignals) -> Task<Void, Never> {
        let wake = WakeSignal()
        let subscription = signals.subscribe(topic) { wake.signal() }
        return Task {
            await self.run(events: events, wake: wake)
            signals.unsubscribe(subscription)
        }
    }

    /// The outcome of the operation at `offset`, once this node has applied it.
    public func outcome(of offset: Int64) async -> Result<Outcome, AerieError> {
        if let known = recent[offset] { return known }
        if offset < next { return .success(appliedEarlier) }  // applied long ago; its outcome is no longer kept
        return await withCheckedContinuation { continuation in waiters[offset, default: []].append(continuation) }
    }

    /// Waits until this node has applied every operation appended so far.
    public func catchUp(events: any EventLog) async throws {
        guard let end = try await events.topic(topic)?.nextOffset, end > 0 else { return }
        _ = await outcome(of: end - 1)
    }

    func run(events: any EventLog, wake: WakeSignal) async {
        while !Task.isCancelled {
            do {
                let batch = try await events.read(topic: topic, from: next, limit: 256)
                if batch.isEmpty {
                    await wake.wait(upTo: pollInterval)
                    continue
                }
                for record in batch {
                    let outcome = await apply(record)
                    next = record.offset + 1
                    recent[record.offset] = outcome
                    for waiter in waiters.removeValue(forKey: record.offset) ?? [] { waiter.resume(returning: outcome) }
                }
                if recent.count > 4096 {
                    let cutoff = next - 2048
                    recent = recent.filter { $0.key >= cutoff }
                }
                saveCheckpoint()
            } catch {
                if Task.isCancelled { break }
                await wake.wait(upTo: .seconds(1))
            }
        }
        // Writers still waiting get an answer: their operation is in the log and will apply when a follower runs.
        for (_, list) in waiters {
            for waiter in list { waiter.resume(returning: .failure(AerieError(.unavailable, stopped))) }
        }
        waiters = [:]
    }

    private func saveCheckpoint() {
        guard let checkpoint else { return }
        let temporary = checkpoint.appendingPathExtension("tmp")
        // A failure is not fatal: after a restart the operations since the last checkpoint apply again, to the same effect.
        guard (try? Data(String(next).utf8).write(to: temporary)) != nil else { return }
        _ = rename(temporary.path, checkpoint.path)
    }
}

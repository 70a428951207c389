import AerieCore
import Foundation
import Logging
import Synchronization

/// Turns an invocation's progress and log calls into numbered ``InvocationEvent``s: stored (deferred for sync
/// invocations), fanned out live, and mirrored to the runtime's logger.
final class RecordingReporter: InvocationReporter {
    let id: String
    let store: InvocationStore
    let hub: InvocationEventHub
    let deferred: Bool
    let logger: Logger
    private let state: Mutex<(next: Int64, progress: Double?)>

    init(id: String, startSequence: Int64, store: InvocationStore, hub: InvocationEventHub, deferred: Bool, logger: Logger) {
        self.id = id
        self.store = store
        self.hub = hub
        self.deferred = deferred
        self.logger = logger
        self.state = Mutex((startSequence + 1, nil))
    }

    var latestProgress: Double? { state.withLock { $0.progress } }

    func progress(_ fraction: Double, message: String?, details: JSONValue?) async {
        state.withLock { $0.progress = fraction }
        var data: [String: JSONValue] = ["fraction": .number(fraction)]
        if let message { data["message"] = .string(message) }
        if let details { data["details"] = details }
        await emit(.progress, .object(data))
    }

    func log(level: Logger.Level, message: String) async {
        logger.log(level: level, "\(message)")
        await emit(.log, .object(["level": .string(level.rawValue), "message": .string(message)]))
    }

    @discardableResult
    func emit(_ kind: InvocationEvent.Kind, _ data: JSONValue) async -> InvocationEvent {
        let sequence = state.withLock { state -> Int64 in
            defer { state.next += 1 }
            return state.next
        }
        let event = InvocationEvent(sequence: sequence, kind: kind, data: data, time: Date())
        hub.publish(id, event)
        do {
            try await store.appendEvent(id, event, deferred: deferred)
        } catch {
            logger.warning("Could not store an invocation event", metadata: ["error": "\(error)", "sequence": "\(sequence)"])
        }
        return event
    }
}

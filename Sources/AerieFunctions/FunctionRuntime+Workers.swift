import AerieCore
import Foundation
import Logging

/// Where a delivery came from: the function's own queue (async invocations) or a user queue (a queue trigger).
enum DeliverySource: Sendable {
    case functionQueue
    /// A queue trigger; `maxAttempts` is the queue's own, whose dead-letter queue takes what keeps failing.
    case userQueue(maxAttempts: Int)
}

extension FunctionRuntime {
    // MARK: Worker loop

    /// Takes messages from `queue` only while the function has a free slot, and runs each in a child task.
    func workerLoop(_ host: FunctionHost) async {
        await consume(host, queue: host.queueName, source: .functionQueue, reconcile: true)
    }

    func consume(_ host: FunctionHost, queue: String, source: DeliverySource, reconcile: Bool) async {
        let wake = makeWakeSignal(host.name)
        // A send made by another node (announced by the PostgreSQL driver and relayed here) wakes this loop at once.
        let subscription = primitives.signals.subscribe(TopicSignals.queueKey(queue)) { wake.signal() }
        defer { primitives.signals.unsubscribe(subscription) }
        let fence = ReceiveFence()
        var lastReconcile: ContinuousClock.Instant?
        await withDiscardingTaskGroup { group in
            defer { fence.close() }
            while !Task.isCancelled {
                if reconcile, lastReconcile.map({ ContinuousClock.now - $0 >= configuration.reconcileInterval }) ?? true {
                    lastReconcile = .now
                    await reconcileDeadLetters(host)
                }
                do {
                    try await host.acquireWorkerSlot()
                } catch {
                    return
                }
                let messages: [ReceivedMessage]
                do {
                    messages = try await primitives.queues.receive(queue: queue, max: 1, visibilityTimeout: configuration.visibilityTimeout, now: Date())
                } catch {
                    await host.releaseSlot()
                    logger.warning("Could not receive from a queue", metadata: ["queue": "\(queue)", "error": "\(error)"])
                    await wake.wait(upTo: configuration.pollInterval)
                    continue
                }
                guard let message = messages.first else {
                    await host.releaseSlot()
                    await wake.wait(upTo: configuration.pollInterval)
                    continue
                }
                group.addTask {
                    await self.processDelivery(host, queue: queue, message: message, source: source, fence: fence)
                }
            }
        }
    }

    // MARK: One delivery

    /// Runs the invocation a message stands for, with the slot the loop took.
    func processDelivery(_ host: FunctionHost, queue: String, message: ReceivedMessage, source: DeliverySource, fence: ReceiveFence) async {
        var slotHeld = true
        func releaseSlotIfHeld() async {
            if slotHeld {
                slotHeld = false
                await host.releaseSlot()
            }
        }
        do {
            let claim = try await claimDelivery(host, queue: queue, message: message, source: source)
            let stored: StoredInvocation
            let input: Data
            let startSequence: Int64
            switch claim {
            case .skip:
                await releaseSlotIfHeld()
                try await primitives.queues.ack(queue: queue, receipt: message.receipt)
                return
            case .later(let delay):
                await releaseSlotIfHeld()
                try await primitives.queues.extendVisibility(queue: queue, receipt: message.receipt, by: delay, now: Date())
                return
            case .run(let claimed, let claimedInput, let sequence):
                (stored, input, startSequence) = (claimed, claimedInput, sequence)
            }
            slotHeld = false
            CrashPoint.reach("invocation.started", host.name)
            try await runDelivery(host, queue: queue, message: message, source: source, stored: stored, input: input,
                                  startSequence: startSequence, fence: fence)
        } catch {
            await releaseSlotIfHeld()
            // Left unacked, the message is delivered again after its visibility timeout.
            logger.warning("Could not process a message; it will be delivered again", metadata: [
                "function": "\(host.name)", "queue": "\(queue)", "message": "\(message.id)", "error": "\(error)",
            ])
        }
    }

    /// What to do with a delivery.
    private enum Claim {
        /// Run it: the record now says running under this delivery's lease.
        case run(StoredInvocation, Data, startSequence: Int64)
        /// Nothing to run (already finished, cancelled while queued, a duplicate message): ack.
        case skip
        /// An earlier delivery of the same message still holds a live lease (a late heartbeat, not a crash): let
        /// the message come back after this long.
        case later(Duration)
    }

    /// Loads or creates the record and marks it running under this delivery's lease.
    private func claimDelivery(_ host: FunctionHost, queue: String, message: ReceivedMessage, source: DeliverySource) async throws -> Claim {
        var initial: InvocationRecord
        let input: Data
        switch source {
        case .functionQueue:
            guard let decoded = try? JSONCoding.decode(AsyncInvocationMessage.self, from: message.body) else {
                logger.error("Dropping an unreadable message from a function queue", metadata: ["queue": "\(queue)", "message": "\(message.id)"])
                return .skip
            }
            initial = decoded.record
            input = decoded.input
        case .userQueue:
            let now = Date()
            let scoped = "-|\(host.name)|queue:\(queue):\(message.id)"
            var id = ids.next(now: UInt64(now.timeIntervalSince1970 * 1000))
            if let existing = try await store.claimIdempotency(scoped, invocation: id, expires: now.adding(host.configuration.idempotencyWindow)) {
                id = existing
            }
            initial = InvocationRecord(id: id, function: host.name, trigger: TriggerInfo(kind: .queue, source: queue), owner: nil,
                                       status: .queued, async: true, createdAt: message.sentAt)
            input = message.body
        }
        for _ in 0..<5 {
            var stored: StoredInvocation
            if let existing = try await store.load(initial.id) {
                stored = existing
            } else {
                do {
                    let version = try await store.write(StoredInvocation(record: initial), condition: .absent)
                    stored = StoredInvocation(record: initial, version: version)
                } catch let error as AerieError where error.code == .conditionFailed {
                    continue
                }
            }
            if stored.record.status.isFinished { return .skip }
            if activeControl(stored.record.id) != nil {
                // It runs on this node right now (its heartbeat was late and the message came back).
                return .later(configuration.visibilityTimeout)
            }
            if stored.record.status == .running, let until = stored.leaseUntil, until > Date() {
                if let holder = stored.leaseMessage, holder != message.id {
                    // Another live delivery of the same invocation runs it; this message is a duplicate.
                    return .skip
                }
                return .later(.seconds(double: until.timeIntervalSinceNow) + .milliseconds(10))
            }
            let last = try await store.lastEvent(stored.record.id)
            if let last, last.kind == .result || last.kind == .error {
                // The previous attempt stored its final event but stopped before updating the record.
                stored.record.status = Self.status(fromTerminal: last)
                stored.record.finishedAt = last.time
                stored.record.output = last.kind == .result ? last.data : nil
                try await store.write(stored, condition: .version(stored.version))
                return .skip
            }
            stored.record.status = .running
            stored.record.attempts = message.attempts
            stored.record.startedAt = Date()
            stored.leaseMessage = message.id
            stored.leaseUntil = Date().adding(configuration.visibilityTimeout)
            do {
                stored.version = try await store.write(stored, condition: .version(stored.version))
                return .run(stored, input, startSequence: last?.sequence ?? 0)
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
        }
        throw AerieError(.unavailable, "Invocation \(initial.id) kept changing while a worker claimed it.")
    }

    static func status(fromTerminal event: InvocationEvent) -> InvocationStatus {
        if event.kind == .result { return .succeeded }
        switch event.data["type"]?.stringValue {
        case AerieError.Code.timedOut.rawValue?: return .timedOut
        case AerieError.Code.cancelled.rawValue?: return .cancelled
        default: return .failed
        }
    }

    private func runDelivery(_ host: FunctionHost, queue: String, message: ReceivedMessage, source: DeliverySource,
                             stored: StoredInvocation, input: Data, startSequence: Int64, fence: ReceiveFence) async throws {
        var stored = stored
        let id = stored.record.id
        let control = activate(id)
        defer { deactivate(id, control) }
        if stored.cancelRequested { control.requestCancel(.user) }
        hub.begin(id)
        let reporter = RecordingReporter(id: id, startSequence: startSequence, store: store, hub: hub, deferred: false,
                                         logger: invocationLogger(stored.record))
        let heartbeat = Task { await self.heartbeat(queue: queue, receipt: message.receipt, id: id, control: control, reporter: reporter) }
        let record = stored.record
        let attempt = await runControlled(control, defaultReason: .shutdown) {
            await self.runAttempt(host, record: record, input: input, attempt: message.attempts, reporter: reporter)
        }
        heartbeat.cancel()
        await heartbeat.value
        if case .cancelled = attempt.outcome, control.reason != .user {
            // The runtime is stopping: leave the invocation running under this message and make the message visible
            // again now, so another node (or this one after a restart) runs it again without waiting.
            hub.end(id)
            await fence.waitUntilClosed()
            // This task is cancelled, and a cancelled task's database calls throw (GRDB checks): hand back from a
            // task of its own, or the lease stays and the next node waits it out.
            let store = self.store, queues = primitives.queues
            await Task {
                if var latest = try? await store.load(id) {
                    latest.leaseUntil = nil
                    _ = try? await store.write(latest, condition: .version(latest.version))
                }
                try? await queues.extendVisibility(queue: queue, receipt: message.receipt, by: .zero, now: Date())
            }.value
            return
        }
        if let latest = try? await store.load(id) { stored.version = latest.version }
        let maxAttempts: Int
        switch source {
        case .functionQueue: maxAttempts = host.configuration.retries + 1
        case .userQueue(let queueMax): maxAttempts = queueMax
        }
        let retryable: Bool
        switch attempt.outcome {
        case .failed(let error): retryable = error.code != .invalidArgument
        case .timedOut: retryable = true
        case .succeeded, .cancelled: retryable = false
        }
        if retryable && message.attempts < maxAttempts {
            var failed = stored.record
            _ = Self.finalize(&failed, attempt: attempt, progress: reporter.latestProgress)
            stored.record.status = .queued
            stored.record.error = failed.error
            stored.record.durationMs = attempt.durationMs
            stored.record.coldStart = attempt.coldStart
            stored.record.initMs = attempt.initMs
            stored.leaseMessage = nil
            stored.leaseUntil = nil
            await reporter.emit(.log, .object([
                "level": .string("warning"),
                "message": .string("Attempt \(message.attempts) of \(maxAttempts) failed: \(failed.error?.message ?? "unknown error"). Retrying."),
            ]))
            try await store.write(stored, condition: .none)
            hub.end(id)
            try await primitives.queues.nack(queue: queue, receipt: message.receipt, error: failed.error?.message, delay: nil, now: Date())
            return
        }
        let terminal = Self.finalize(&stored.record, attempt: attempt, progress: reporter.latestProgress)
        stored.leaseMessage = nil
        stored.leaseUntil = nil
        stored.cancelRequested = false
        // The record first, then the terminal event: a client that sees the result (live, or by polling the
        // events) then reads a finished record. A crash between the two leaves a finished record without the event,
        // which readers build from the record (followEvents) and a redelivery skips.
        try await store.write(stored, condition: .none)
        await reporter.emit(terminal.kind, terminal.data)
        CrashPoint.reach("invocation.finished", host.name)
        hub.end(id)
        await host.recordOutcome(stored.record.status, durationMs: attempt.durationMs)
        if case .userQueue = source, stored.record.status != .succeeded, stored.record.status != .cancelled {
            // Hand the message to the queue's dead-letter queue.
            try await primitives.queues.nack(queue: queue, receipt: message.receipt, error: stored.record.error?.message, delay: nil, now: Date())
        } else {
            try await primitives.queues.ack(queue: queue, receipt: message.receipt)
        }
    }

    /// While an attempt runs: keeps its message invisible and its lease fresh, saves progress, and notices a
    /// cancel requested on another node.
    private func heartbeat(queue: String, receipt: String, id: String, control: InvocationControl, reporter: RecordingReporter) async {
        let visibility = configuration.visibilityTimeout
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: visibility / 3)
            } catch {
                return
            }
            do {
                try await primitives.queues.extendVisibility(queue: queue, receipt: receipt, by: visibility, now: Date())
                guard var stored = try await store.load(id) else { continue }
                if stored.cancelRequested { control.requestCancel(.user) }
                stored.leaseUntil = Date().adding(visibility)
                if let progress = reporter.latestProgress { stored.record.progress = progress }
                if Task.isCancelled { return }
                try await store.write(stored, condition: .version(stored.version))
            } catch {
                logger.debug("Heartbeat failed", metadata: ["invocation": "\(id)", "error": "\(error)"])
            }
        }
    }

    // MARK: Dead letters

    /// Finishes invocations whose message went to the dead-letter queue while the record still says queued or
    /// running (the worker died during the last attempt).
    func reconcileDeadLetters(_ host: FunctionHost) async {
        guard let page = try? await primitives.queues.deadLetters(queue: host.queueName, limit: 100, cursor: nil) else { return }
        for letter in page.items {
            guard let message = try? JSONCoding.decode(AsyncInvocationMessage.self, from: letter.body),
                  var stored = try? await store.load(message.record.id), !stored.record.status.isFinished else { continue }
            stored.record.status = .failed
            stored.record.finishedAt = Date()
            stored.record.error = InvocationError(
                type: AerieError.Code.functionFailed.rawValue,
                message: "The last attempt stopped with its worker and no attempts are left (\(letter.lastError ?? "no error recorded")). Invoke the function again to run it.")
            stored.leaseMessage = nil
            stored.leaseUntil = nil
            do {
                try await store.write(stored, condition: .version(stored.version))
                let last = try await store.lastEvent(stored.record.id)
                let reporter = RecordingReporter(id: stored.record.id, startSequence: last?.sequence ?? 0, store: store, hub: hub, deferred: false, logger: logger)
                await reporter.emit(.error, Self.errorEventData(stored.record.error))
                await host.recordOutcome(.failed, durationMs: nil)
            } catch {
                logger.debug("Could not reconcile a dead letter", metadata: ["invocation": "\(stored.record.id)", "error": "\(error)"])
            }
        }
    }
}

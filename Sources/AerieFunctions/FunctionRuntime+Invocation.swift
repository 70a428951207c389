import AerieCore
import Foundation
import Logging

/// The body of an async invocation's queue message: the record as first written (so a worker can create it if the
/// enqueuing node died before writing it) and the input bytes.
struct AsyncInvocationMessage: Codable, Sendable {
    var record: InvocationRecord
    var input: Data
}

/// How one attempt ended.
enum AttemptOutcome: Sendable {
    case succeeded(Data)
    /// `.invalidArgument` (bad input, not retried) or `.functionFailed` with the function's message.
    case failed(AerieError)
    case timedOut
    case cancelled(CancelReason)
}

struct AttemptResult: Sendable {
    var outcome: AttemptOutcome
    var coldStart: Bool
    var initMs: Double?
    var durationMs: Double?
}

extension FunctionRuntime {
    // MARK: Sync

    /// Invokes a function and waits for its output.
    ///
    /// Waits for a free slot (FIFO, at most `maxWaiting` callers); throws ``FunctionInvocationError`` — see there for
    /// the codes. The record is written after the answer (group commit) but is readable on this node at once.
    public func invoke(_ name: String, input: Data, trigger: TriggerInfo, owner: String?) async throws -> (record: InvocationRecord, output: Data) {
        let found: FunctionHost?
        do {
            found = try await resolveHost(name)
        } catch let error as AerieError {
            throw FunctionInvocationError(error)
        }
        guard let host = found else { throw FunctionInvocationError(Self.unknownFunction(name)) }
        do {
            try await prepared()
        } catch let error as AerieError {
            throw FunctionInvocationError(error)
        }
        let now = Date()
        let record = InvocationRecord(id: ids.next(now: UInt64(now.timeIntervalSince1970 * 1000)), function: name, trigger: trigger,
                                      owner: owner, status: .queued, async: false, createdAt: now)
        let control = activate(record.id)
        defer { deactivate(record.id, control) }
        let result = await runControlled(control, defaultReason: .user) {
            await self.executeSync(host, record: record, input: input)
        }
        return try result.get()
    }

    private func executeSync(_ host: FunctionHost, record: InvocationRecord, input: Data) async -> Result<(record: InvocationRecord, output: Data), FunctionInvocationError> {
        var record = record
        do {
            try await host.acquireSlot()
        } catch let error as AerieError {
            return .failure(FunctionInvocationError(error, retryAfter: await host.retryAfterSeconds()))
        } catch {
            // Cancelled while waiting for a slot.
            record.status = .cancelled
            record.finishedAt = Date()
            record.error = InvocationError(type: AerieError.Code.cancelled.rawValue, message: "The invocation was cancelled before it started.")
            let reporter = RecordingReporter(id: record.id, startSequence: 0, store: store, hub: hub, deferred: true, logger: logger)
            await reporter.emit(.error, Self.errorEventData(record.error))
            await store.writeDeferred(record)
            await host.recordOutcome(.cancelled, durationMs: nil)
            return .failure(FunctionInvocationError(AerieError(.cancelled, "Invocation \(record.id) was cancelled."), record: record))
        }
        record.status = .running
        record.startedAt = Date()
        record.attempts = 1
        await store.writeDeferred(record)
        hub.begin(record.id)
        let reporter = RecordingReporter(id: record.id, startSequence: 0, store: store, hub: hub, deferred: true,
                                         logger: invocationLogger(record))
        let attempt = await runAttempt(host, record: record, input: input, attempt: 1, reporter: reporter)
        let terminal = Self.finalize(&record, attempt: attempt, progress: reporter.latestProgress)
        await reporter.emit(terminal.kind, terminal.data)
        await store.writeDeferred(record)
        hub.end(record.id)
        await host.recordOutcome(record.status, durationMs: attempt.durationMs)
        switch attempt.outcome {
        case .succeeded(let output):
            return .success((record, output))
        case .failed(let error):
            return .failure(FunctionInvocationError(error, record: record))
        case .timedOut:
            return .failure(FunctionInvocationError(AerieError(.timedOut, record.error?.message ?? "The function timed out."), record: record))
        case .cancelled:
            return .failure(FunctionInvocationError(AerieError(.cancelled, "Invocation \(record.id) was cancelled."), record: record))
        }
    }

    // MARK: Async

    /// Queues an invocation and returns its record once it is durable (status `queued`).
    ///
    /// With an `idempotencyKey`, a second call with the same key for the same owner and function within the
    /// function's `idempotencyWindow` returns the first invocation with `created == false`.
    public func invokeAsync(_ name: String, input: Data, trigger: TriggerInfo, owner: String?, idempotencyKey: String?) async throws -> (record: InvocationRecord, created: Bool) {
        guard let host = try await resolveHost(name) else { throw Self.unknownFunction(name) }
        try await prepared()
        let now = Date()
        var id = ids.next(now: UInt64(now.timeIntervalSince1970 * 1000))
        var created = true
        if let idempotencyKey {
            guard !idempotencyKey.isEmpty, idempotencyKey.utf8.count <= 255 else {
                throw AerieError.invalid("The idempotency key must be 1–255 bytes.", field: "Idempotency-Key")
            }
            let scoped = "\(owner ?? "-")|\(name)|\(idempotencyKey)"
            if let existing = try await store.claimIdempotency(scoped, invocation: id, expires: now.adding(host.configuration.idempotencyWindow)) {
                if let stored = try await store.load(existing) { return (stored.record, false) }
                // Claimed by a call that stopped before its invocation was durable: finish that call's work.
                id = existing
                created = false
            }
        }
        let record = InvocationRecord(id: id, function: name, trigger: trigger, owner: owner, status: .queued, async: true,
                                      idempotencyKey: idempotencyKey, createdAt: now)
        let body = try JSONCoding.encode(AsyncInvocationMessage(record: record, input: input))
        // The message is the commit point: once sent, a worker runs the invocation (creating the record if needed).
        _ = try await primitives.queues.send(queue: host.queueName, [OutgoingMessage(body: body, deduplicationId: id)], now: now)
        do {
            try await store.write(StoredInvocation(record: record), condition: .absent)
        } catch let error as AerieError where error.code == .conditionFailed {
            // A worker (or a concurrent call with the same key) wrote it first.
            if let stored = try await store.load(id) { return (stored.record, created) }
        }
        wake(name)
        return (record, created)
    }

    // MARK: Cancel

    /// Cancels an invocation: a queued one will not run, a running one has its task cancelled and ends `cancelled`.
    /// Throws `.conflict` when it already finished, `.notFound` for an unknown id.
    public func cancel(_ id: String) async throws -> InvocationRecord {
        try await prepared()
        for _ in 0..<20 {
            if let control = activeControl(id) {
                control.requestCancel(.user)
                await control.waitUntilFinished()
                if let stored = try await store.load(id) { return stored.record }
                throw Self.unknownInvocation(id)
            }
            guard var stored = try await store.load(id) else { throw Self.unknownInvocation(id) }
            if stored.record.status.isFinished {
                throw AerieError(.conflict, "Invocation \(id) already finished (\(stored.record.status.rawValue)); there is nothing to cancel.")
            }
            if stored.version == 0 {
                // A sync invocation of this node between its last step and its record write; look again.
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            if stored.record.status == .queued {
                stored.record.status = .cancelled
                stored.record.finishedAt = Date()
                stored.record.error = InvocationError(type: AerieError.Code.cancelled.rawValue, message: "The invocation was cancelled before it ran.")
                stored.leaseMessage = nil
                do {
                    try await store.write(stored, condition: .version(stored.version))
                } catch let error as AerieError where error.code == .conditionFailed {
                    continue
                }
                let last = try await store.lastEvent(id)
                let reporter = RecordingReporter(id: id, startSequence: last?.sequence ?? 0, store: store, hub: hub, deferred: false, logger: logger)
                await reporter.emit(.error, Self.errorEventData(stored.record.error))
                await host(stored.record.function)?.recordOutcome(.cancelled, durationMs: nil)
                return stored.record
            }
            // Running on another node: its heartbeat sees the request and cancels.
            stored.cancelRequested = true
            do {
                try await store.write(stored, condition: .version(stored.version))
            } catch let error as AerieError where error.code == .conditionFailed {
                continue
            }
            let deadline = ContinuousClock.now + configuration.cancelWait
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: configuration.pollInterval)
                if let current = try await store.load(id), current.record.status.isFinished { return current.record }
            }
            return try await store.load(id)?.record ?? stored.record
        }
        throw AerieError(.unavailable, "Invocation \(id) kept changing state while being cancelled; retry the cancel.")
    }

    // MARK: Events

    /// The invocation's events with a sequence above `after`: stored ones first, then live ones, finishing after
    /// the terminal `result` or `error` event. Throws `.notFound` for an unknown id.
    public func events(_ id: String, after sequence: Int64?) -> AsyncThrowingStream<InvocationEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await self.prepared()
                    try await self.followEvents(id, after: sequence ?? 0) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func followEvents(_ id: String, after: Int64, yield: (InvocationEvent) -> Void) async throws {
        var last = after
        /// Yields events past `last`; true once the terminal event went out.
        func emit(_ events: [InvocationEvent]) -> Bool {
            for event in events where event.sequence > last {
                yield(event)
                last = event.sequence
                if event.kind == .result || event.kind == .error { return true }
            }
            return false
        }
        guard try await store.load(id) != nil else { throw Self.unknownInvocation(id) }
        while !Task.isCancelled {
            let subscription = hub.subscribe(id)
            if emit(try await store.events(id, after: last)) { return }
            if let subscription {
                if emit(subscription.events) { return }
                for await message in subscription.stream {
                    if case .event(let event) = message, emit([event]) { return }
                }
                continue
            }
            if let stored = try await store.load(id), stored.record.status.isFinished {
                if emit(try await store.events(id, after: last)) { return }
                // Some paths write the record before its terminal event; a node that stopped between the two writes
                // leaves a finished record without one. The record holds everything the event would say. (A reader
                // already past a stored terminal event gets nothing more.)
                let lastStored = try await store.lastEvent(id)
                if let lastStored, lastStored.kind == .result || lastStored.kind == .error { return }
                _ = emit([Self.terminalEvent(for: stored.record, after: max(last, lastStored?.sequence ?? 0))])
                return
            }
            try await Task.sleep(for: configuration.pollInterval)
        }
        throw CancellationError()
    }

    // MARK: Running one attempt

    func invocationLogger(_ record: InvocationRecord) -> Logger {
        var logger = self.logger
        logger[metadataKey: "function"] = "\(record.function)"
        logger[metadataKey: "invocation"] = "\(record.id)"
        return logger
    }

    /// Runs `body` in its own task that `control` can cancel; cancelling the calling task cancels it for
    /// `defaultReason` (unless a reason was already given).
    func runControlled<T: Sendable>(_ control: InvocationControl, defaultReason: CancelReason,
                                    _ body: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await body() }
        control.attach { task.cancel() }
        return await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            control.requestCancel(defaultReason)
        }
    }

    /// Runs one attempt with a slot the caller holds; the slot is given back when the function's task has really
    /// ended (a function that ignores cancellation keeps its slot until it returns).
    func runAttempt(_ host: FunctionHost, record: InvocationRecord, input: Data, attempt: Int, reporter: RecordingReporter) async -> AttemptResult {
        let logger = invocationLogger(record)
        let initContext = InitContext(function: host.name, primitives: primitives, logger: logger)
        let checkout: (instance: any FunctionInstance, cold: Bool, initMs: Double?)
        do {
            checkout = try await host.checkoutInstance(initContext)
        } catch {
            await host.releaseSlot()
            if Task.isCancelled { return AttemptResult(outcome: .cancelled(.user), coldStart: true) }
            let message = (error as? AerieError)?.message ?? "\(error)"
            return AttemptResult(outcome: .failed(AerieError(.functionFailed, "Function \(host.name) could not start: \(message)")), coldStart: true)
        }
        let timeout = host.configuration.timeout
        let startReport = StartReport()
        let context = InvocationContext(invocationId: record.id, function: record.function, trigger: record.trigger, owner: record.owner,
                                        attempt: attempt, deadline: .now + timeout, primitives: primitives, reporter: reporter,
                                        startReport: startReport)
        enum Race: Sendable {
            case finished(Result<Data, any Error>)
            case timedOut
            case cancelled
        }
        let start = ContinuousClock.now
        let instance = checkout.instance
        let race = RaceBox<Race>()
        // The function runs in a task of its own, so a timeout or a cancel answers at once even if the function
        // ignores cancellation; it resolves the race itself when it returns.
        let inner = Task {
            let result: Result<Data, any Error>
            do { result = .success(try await instance.invoke(input, context: context)) } catch { result = .failure(error) }
            race.resolve(.finished(result))
        }
        let deadline = DeadlineTimer.shared.schedule(at: start + timeout) { race.resolve(.timedOut) }
        let outcome = await withTaskCancellationHandler {
            await race.wait()
        } onCancel: {
            race.resolve(.cancelled)
        }
        DeadlineTimer.shared.cancel(deadline)
        let durationMs = (ContinuousClock.now - start).inMilliseconds
        switch outcome {
        case .finished:
            await host.checkinInstance()
            await host.releaseSlot()
        case .timedOut, .cancelled:
            inner.cancel()
            Task {
                _ = await inner.value
                await host.checkinInstance()
                await host.releaseSlot()
            }
        }
        let result: AttemptOutcome
        switch outcome {
        case .finished(.success(let output)):
            result = .succeeded(output)
        case .finished(.failure(let error)):
            result = .failed(Self.functionError(error, function: host.name))
        case .timedOut:
            result = .timedOut
        case .cancelled:
            result = .cancelled(.user)
        }
        // A function whose instance runs several processes (out of process) says itself whether this attempt started one.
        if let reported = startReport.value {
            if reported.cold && !checkout.cold { await host.noteColdStart() }
            return AttemptResult(outcome: result, coldStart: reported.cold, initMs: reported.initMs, durationMs: durationMs)
        }
        return AttemptResult(outcome: result, coldStart: checkout.cold, initMs: checkout.initMs, durationMs: durationMs)
    }

    static func functionError(_ error: any Error, function: String) -> AerieError {
        if let error = error as? AerieError {
            return error.code == .invalidArgument ? error : AerieError(.functionFailed, error.message)
        }
        if error is CancellationError {
            return AerieError(.functionFailed, "Function \(function) stopped with a cancellation it was not asked for.")
        }
        return AerieError(.functionFailed, "\(error)")
    }

    /// The terminal event a finished record stands for, numbered after the last event a reader saw.
    static func terminalEvent(for record: InvocationRecord, after sequence: Int64) -> InvocationEvent {
        let time = record.finishedAt ?? Date()
        if record.status == .succeeded {
            return InvocationEvent(sequence: sequence + 1, kind: .result, data: record.output ?? .null, time: time)
        }
        return InvocationEvent(sequence: sequence + 1, kind: .error, data: errorEventData(record.error), time: time)
    }

    static func errorEventData(_ error: InvocationError?) -> JSONValue {
        .object(["type": .string(error?.type ?? "internal"), "message": .string(error?.message ?? "")])
    }

    /// Completes the record from a final attempt; returns the terminal event to emit.
    static func finalize(_ record: inout InvocationRecord, attempt: AttemptResult, progress: Double?) -> (kind: InvocationEvent.Kind, data: JSONValue) {
        record.finishedAt = Date()
        record.durationMs = attempt.durationMs
        record.coldStart = attempt.coldStart
        record.initMs = attempt.initMs
        if let progress { record.progress = progress }
        switch attempt.outcome {
        case .succeeded(let output):
            let json = (try? JSONValue.parse(output)) ?? .string(String(decoding: output, as: UTF8.self))
            record.status = .succeeded
            record.output = json
            record.error = nil
            return (.result, json)
        case .failed(let error):
            record.status = .failed
            record.error = InvocationError(type: error.code.rawValue, message: error.message)
        case .timedOut:
            record.status = .timedOut
            let seconds = record.durationMs.map { String(format: "%.3g", $0 / 1000) } ?? "?"
            record.error = InvocationError(type: AerieError.Code.timedOut.rawValue,
                                           message: "Function \(record.function) ran past its timeout (\(seconds) s) and was cancelled. Raise its timeout or make it faster.")
        case .cancelled:
            record.status = .cancelled
            record.error = InvocationError(type: AerieError.Code.cancelled.rawValue, message: "The invocation was cancelled.")
        }
        return (.error, errorEventData(record.error))
    }
}

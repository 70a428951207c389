import AerieCore
import CoreMetrics
import Foundation

/// One registered function on this node: its concurrency slots with the bounded FIFO wait, its instance (state built
/// on first use, shared, released after idle time) and its statistics and metrics.
actor FunctionHost {
    nonisolated let handler: any FunctionHandler
    nonisolated let name: String
    nonisolated let configuration: FunctionConfiguration
    nonisolated let triggers: [Trigger]
    nonisolated let queueName: String
    private let metrics: FunctionMetrics

    // Concurrency.
    private var running = 0
    private var nextTicket: UInt64 = 0
    private var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var workerWaiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []

    // Instance.
    private enum InstanceState {
        case unloaded
        case loading(Task<any FunctionInstance, any Error>)
        case loaded(any FunctionInstance)
    }
    private var instanceState = InstanceState.unloaded
    private var activeUses = 0
    private var lastUsed = ContinuousClock.now

    // Statistics.
    private var invocations = 0
    private var errors = 0
    private var coldStarts = 0
    private var recentDurations: [Double] = []
    private var recentIndex = 0
    private static let recentCapacity = 512

    init(handler: any FunctionHandler, triggers: [Trigger], metricsFactory: (any MetricsFactory)?) {
        self.handler = handler
        self.name = handler.name
        self.configuration = handler.configuration
        self.triggers = triggers
        self.queueName = "aerie.fn.\(handler.name)"
        self.metrics = FunctionMetrics(function: handler.name, factory: metricsFactory)
    }

    // MARK: Slots

    /// Takes a slot for a sync invocation, waiting FIFO behind others; throws `.rateLimited` when `maxWaiting`
    /// callers already wait, and `CancellationError` when cancelled while waiting.
    func acquireSlot() async throws {
        if running < configuration.concurrency && waiters.isEmpty {
            running += 1
            metrics.inFlight.record(running)
            return
        }
        guard waiters.count < configuration.maxWaiting else {
            throw AerieError(.rateLimited, "Function \(name) is busy: \(configuration.concurrency) invocations run and \(waiters.count) wait. Retry after \(retryAfterSeconds()) s, or invoke it asynchronously.")
        }
        try await waitForSlot(worker: false)
    }

    /// Takes a slot for an async worker, waiting behind sync callers; not bounded.
    func acquireWorkerSlot() async throws {
        if running < max(1, configuration.concurrency) && waiters.isEmpty && workerWaiters.isEmpty {
            running += 1
            metrics.inFlight.record(running)
            return
        }
        try await waitForSlot(worker: true)
    }

    private func waitForSlot(worker: Bool) async throws {
        let ticket = nextTicket
        nextTicket += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else if worker {
                    workerWaiters.append((ticket, continuation))
                } else {
                    waiters.append((ticket, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(ticket) }
        }
    }

    private func cancelWaiter(_ ticket: UInt64) {
        if let index = waiters.firstIndex(where: { $0.ticket == ticket }) {
            waiters.remove(at: index).continuation.resume(throwing: CancellationError())
        } else if let index = workerWaiters.firstIndex(where: { $0.ticket == ticket }) {
            workerWaiters.remove(at: index).continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back; the first waiting sync caller (else a waiting worker) takes it over.
    func releaseSlot() {
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume()
        } else if !workerWaiters.isEmpty && running <= configuration.concurrency {
            workerWaiters.removeFirst().continuation.resume()
        } else {
            running -= 1
            metrics.inFlight.record(running)
        }
    }

    /// Seconds a rate-limited caller should wait: about the time for the queue ahead to drain.
    func retryAfterSeconds() -> Int {
        let typical = percentile(0.5) ?? 1000
        let estimate = typical / 1000 * Double(waiters.count + 1) / Double(max(1, configuration.concurrency))
        return max(1, Int(estimate.rounded(.up)))
    }

    // MARK: Instance

    /// The instance to invoke, building it first on a cold start (concurrent first calls share one build).
    /// Pair every successful call with ``checkinInstance()``.
    func checkoutInstance(_ context: InitContext) async throws -> (instance: any FunctionInstance, cold: Bool, initMs: Double?) {
        activeUses += 1
        switch instanceState {
        case .loaded(let instance):
            return (instance, false, nil)
        case .loading(let task):
            do {
                return (try await task.value, false, nil)
            } catch {
                activeUses -= 1
                throw error
            }
        case .unloaded:
            let handler = self.handler
            let start = ContinuousClock.now
            let task = Task { try await handler.makeInstance(context) }
            instanceState = .loading(task)
            do {
                let instance = try await task.value
                let initMs = (ContinuousClock.now - start).inMilliseconds
                if case .loading(let current) = instanceState, current == task {
                    instanceState = .loaded(instance)
                }
                coldStarts += 1
                metrics.coldStarts.increment()
                return (instance, true, initMs)
            } catch {
                if case .loading(let current) = instanceState, current == task {
                    instanceState = .unloaded
                }
                activeUses -= 1
                throw error
            }
        }
    }

    /// Counts a cold start the instance reported (a fresh process of an out-of-process function).
    func noteColdStart() {
        coldStarts += 1
        metrics.coldStarts.increment()
    }

    func checkinInstance() {
        activeUses -= 1
        lastUsed = .now
    }

    var isWarm: Bool {
        if case .loaded = instanceState { return true }
        return false
    }

    /// Releases the state if unused for `idleUnload` (or at once with `force`, at shutdown).
    func sweep(now: ContinuousClock.Instant, force: Bool = false) async {
        guard case .loaded(let instance) = instanceState, activeUses == 0 else { return }
        guard force || now - lastUsed >= configuration.idleUnload else { return }
        instanceState = .unloaded
        await instance.shutdown()
    }

    // MARK: Statistics

    func recordOutcome(_ status: InvocationStatus, durationMs: Double?) {
        invocations += 1
        if status != .succeeded { errors += 1 }
        metrics.invocations(status).increment()
        if let durationMs {
            metrics.duration.recordNanoseconds(Int64(durationMs * 1_000_000))
            if recentDurations.count < FunctionHost.recentCapacity {
                recentDurations.append(durationMs)
            } else {
                recentDurations[recentIndex] = durationMs
                recentIndex = (recentIndex + 1) % FunctionHost.recentCapacity
            }
        }
    }

    private func percentile(_ fraction: Double) -> Double? {
        guard !recentDurations.isEmpty else { return nil }
        let sorted = recentDurations.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
        return sorted[index]
    }

    func summary() -> FunctionSummary {
        FunctionSummary(
            name: name, configuration: configuration, triggers: ["http"] + triggers.map(\.description), warm: isWarm,
            stats: FunctionStats(invocations: invocations, errors: errors, coldStarts: coldStarts, inFlight: running,
                                 waiting: waiters.count, p50Ms: percentile(0.5), p95Ms: percentile(0.95)))
    }
}

/// The metrics one function reports.
struct FunctionMetrics: Sendable {
    let function: String
    let factory: any MetricsFactory
    let coldStarts: Counter
    let duration: CoreMetrics.Timer
    let inFlight: Gauge
    private let byStatus: [InvocationStatus: Counter]

    init(function: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        self.function = function
        self.factory = factory
        coldStarts = Counter(label: "aerie_cold_starts_total", dimensions: [("function", function)], factory: factory)
        duration = CoreMetrics.Timer(label: "aerie_invocation_duration_seconds", dimensions: [("function", function)], factory: factory)
        inFlight = Gauge(label: "aerie_function_in_flight", dimensions: [("function", function)], factory: factory)
        var byStatus: [InvocationStatus: Counter] = [:]
        for status in InvocationStatus.allCases where status.isFinished {
            byStatus[status] = Counter(label: "aerie_invocations_total", dimensions: [("function", function), ("status", status.rawValue)], factory: factory)
        }
        self.byStatus = byStatus
    }

    func invocations(_ status: InvocationStatus) -> Counter {
        byStatus[status] ?? Counter(label: "aerie_invocations_total", dimensions: [("function", function), ("status", status.rawValue)], factory: factory)
    }
}

extension Duration {
    var inMilliseconds: Double { seconds * 1000 }
}

import AerieCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The functions runtime: registers functions and their triggers, invokes them sync and async with concurrency
/// limits, timeouts, retries, idempotency and cancellation, and records every invocation — all on the primitives,
/// so it runs on every driver and on several nodes at once.
///
/// Register functions, then run it as a ServiceLifecycle ``Service``: `run()` starts the async workers, trigger
/// dispatchers, schedules and the idle sweeper and returns on graceful shutdown. The query and invoke methods work
/// before `run()` too (async invocations then wait in their queue until a worker runs).
///
/// Storage (see ``InvocationStore`` for the tables): async invocations are messages on the queue
/// `aerie.fn.<function>`; object triggers read the topic ``ObjectEvent/topic`` and topic triggers their topic as
/// consumer group `fn.<function>`.
public final class FunctionRuntime: Service, Sendable {
    public let primitives: Primitives
    public let configuration: RuntimeConfiguration
    let logger: Logger
    let store: InvocationStore
    let hub = InvocationEventHub()
    let ids = InvocationIdGenerator()

    struct State {
        var hosts: [String: FunctionHost] = [:]
        var order: [String] = []
        var preparation: Task<Void, any Error>?
        var active: [String: InvocationControl] = [:]
        var wakeSignals: [String: [WakeSignal]] = [:]
        /// Whether `run()` started the loops of the functions registered so far; later ones (``deploy(handler:triggers:)``)
        /// get loops of their own, in `dynamicLoops`.
        var loopsStarted = false
        var dynamicLoops: [String: Task<Void, Never>] = [:]
        var qualifierResolver: QualifierResolver?
    }

    let state = Mutex(State())

    public init(primitives: Primitives, configuration: RuntimeConfiguration = RuntimeConfiguration(), logger: Logger) {
        self.primitives = primitives
        self.configuration = configuration
        self.logger = logger
        self.store = InvocationStore(tables: primitives.tables, eventRetention: configuration.eventRetention,
                                     groupCommitInterval: configuration.groupCommitInterval, logger: logger)
    }

    // MARK: Registration

    /// Registers a Swift function with its triggers. Call before the runtime is used.
    public func register<F: Function>(_ function: F, triggers: [Trigger] = []) throws {
        try register(handler: TypedFunction(function), triggers: triggers)
    }

    /// Registers any handler (for example one that runs the function out of process) with its triggers.
    public func register(handler: any FunctionHandler, triggers: [Trigger] = []) throws {
        try Self.validate(handler, triggers: triggers)
        let host = FunctionHost(handler: handler, triggers: triggers, metricsFactory: configuration.metricsFactory)
        try state.withLock { state in
            guard state.preparation == nil else {
                throw AerieError(.conflict, "Function \(handler.name) was registered after the runtime started; register every function before running or invoking.")
            }
            guard state.hosts[handler.name] == nil else {
                throw AerieError(.alreadyExists, "A function named \(handler.name) is already registered; give each function a unique name.")
            }
            state.hosts[handler.name] = host
            state.order.append(handler.name)
        }
    }

    static func validate(_ handler: any FunctionHandler, triggers: [Trigger]) throws {
        let name = handler.name
        try TableSchema.validateName(name, what: "Function name", field: "name")
        guard name.utf8.count <= 100 else {
            throw AerieError.invalid("Function name \(name) is longer than 100 characters.", field: "name")
        }
        let configuration = handler.configuration
        guard configuration.concurrency >= 1 else { throw AerieError.invalid("Function \(name): concurrency must be at least 1.", field: "concurrency") }
        guard configuration.maxWaiting >= 0 else { throw AerieError.invalid("Function \(name): maxWaiting must not be negative.", field: "maxWaiting") }
        guard configuration.timeout > .zero else { throw AerieError.invalid("Function \(name): timeout must be positive.", field: "timeout") }
        guard configuration.retries >= 0 else { throw AerieError.invalid("Function \(name): retries must not be negative.", field: "retries") }
        for trigger in triggers {
            switch trigger {
            case .object(let bucket, _, _, let kinds):
                try ObjectNames.validateBucket(bucket)
                guard !kinds.isEmpty else { throw AerieError.invalid("Function \(name): an object trigger needs at least one event kind.", field: "triggers") }
            case .queue(let queue):
                try QueueConfiguration.validateName(queue)
            case .every(let interval):
                guard interval >= .milliseconds(1) else {
                    throw AerieError.invalid("Function \(name): a schedule interval must be at least 1 ms.", field: "triggers")
                }
            case .cron(let expression):
                _ = try CronSchedule(expression)
            case .topic(let topic):
                try validateTopic(topic)
            }
        }
    }

    private static func validateTopic(_ topic: String) throws {
        try TableSchema.validateName(topic, what: "Topic name", field: "topic")
    }

    func host(_ name: String) -> FunctionHost? {
        state.withLock { $0.hosts[name] }
    }

    var hosts: [FunctionHost] {
        state.withLock { state in state.order.compactMap { state.hosts[$0] } }
    }

    /// A signal for one polling loop of the function; ``wake(_:)`` rings all of them.
    func makeWakeSignal(_ name: String) -> WakeSignal {
        let signal = WakeSignal()
        state.withLock { $0.wakeSignals[name, default: []].append(signal) }
        return signal
    }

    /// Wakes the function's workers and dispatchers now instead of at their next poll.
    func wake(_ name: String) {
        for signal in state.withLock({ $0.wakeSignals[name] ?? [] }) { signal.signal() }
    }

    /// Wakes every worker and trigger dispatcher now (for example after an object was written in this process),
    /// instead of at their next poll.
    public func wake() {
        for signal in state.withLock({ $0.wakeSignals.values.flatMap { $0 } }) { signal.signal() }
    }

    // MARK: Preparation

    /// Does now what the first call would: creates the runtime's tables and the functions' queues and positions the
    /// triggers' new consumer groups. Call it before anything writes that a trigger must see: with
    /// a trigger start position of `.latest` a write made before the groups are positioned is behind
    /// their start (a race the gateway test harness had).
    public func ready() async throws {
        try await prepared()
    }

    /// Creates the runtime's tables and every function's queue once; the public methods call it first.
    func prepared() async throws {
        let task = state.withLock { state -> Task<Void, any Error> in
            if let preparation = state.preparation { return preparation }
            let hosts = state.order.compactMap { state.hosts[$0] }
            let task = Task { try await self.prepare(hosts) }
            state.preparation = task
            return task
        }
        do {
            try await task.value
        } catch {
            // Let the next call try again (the database may have been unavailable).
            state.withLock { state in
                if state.preparation == task { state.preparation = nil }
            }
            throw error
        }
    }

    func prepare(_ hosts: [FunctionHost]) async throws {
        try await store.ensureTables()
        for host in hosts {
            try await primitives.queues.createQueue(QueueConfiguration(
                name: host.queueName, visibilityTimeout: configuration.visibilityTimeout,
                maxAttempts: host.configuration.retries + 1, backoffBase: configuration.retryBackoff,
                maxBackoff: configuration.maxRetryBackoff))
            primitives.appResources.claim(.queue, host.queueName, by: "function \(host.name)'s async invocations")
            for trigger in host.triggers {
                switch trigger {
                case .queue(let queue):
                    if try await primitives.queues.queue(queue) == nil {
                        try await primitives.queues.createQueue(QueueConfiguration(name: queue))
                    }
                case .object:
                    try await positionConsumerGroup(host, topic: ObjectEvent.topic)
                case .topic(let topic):
                    try await positionConsumerGroup(host, topic: topic)
                case .every, .cron:
                    break
                }
            }
        }
    }

    /// Gives a trigger's consumer group its first position (per ``RuntimeConfiguration/triggerStartPosition``)
    /// unless it has one: from then on no event is missed, even if the process dies before the trigger ran.
    func positionConsumerGroup(_ host: FunctionHost, topic: String) async throws {
        let group = Self.consumerGroup(host.name)
        guard try await primitives.events.committedOffset(group: group, topic: topic) == nil else { return }
        let start: Int64 = switch configuration.triggerStartPosition {
        case .earliest: 0
        case .latest: try await primitives.events.topic(topic)?.nextOffset ?? 0
        }
        try await primitives.events.commit(group: group, topic: topic, offset: start)
    }

    // MARK: Listing

    public func functions() async -> [FunctionSummary] {
        var result: [FunctionSummary] = []
        for host in hosts { result.append(await host.summary()) }
        return result
    }

    public func function(_ name: String) async -> FunctionSummary? {
        await host(name)?.summary()
    }

    /// A function's configuration, without its live statistics (cheap: for checks on every call).
    public func configuration(of name: String) -> FunctionConfiguration? {
        host(name)?.configuration
    }

    /// Seconds a caller rejected with `.rateLimited` should wait before retrying (for `Retry-After`).
    public func retryAfter(_ name: String) async -> Int {
        await host(name)?.retryAfterSeconds() ?? 1
    }

    public func invocation(_ id: String) async throws -> InvocationRecord? {
        try await prepared()
        return try await store.load(id)?.record
    }

    /// Invocation records, newest first, optionally only of one function, status or owner.
    public func invocations(function: String?, status: InvocationStatus?, owner: String?, limit: Int, cursor: String?) async throws -> Page<InvocationRecord> {
        try await prepared()
        return try await store.list(function: function, status: status, owner: owner, limit: limit, cursor: cursor)
    }

    /// The lines the invocation logged (its `log` events), in order.
    public func logs(_ id: String) async throws -> [InvocationEvent] {
        try await prepared()
        guard try await store.load(id) != nil else { throw Self.unknownInvocation(id) }
        return try await store.events(id, after: nil).filter { $0.kind == .log }
    }

    /// Deletes finished invocation records created before `cutoff` (``ExpiryService`` calls it); returns how many.
    public func purgeRecords(createdBefore cutoff: Date) async throws -> Int {
        try await prepared()
        await store.flush()
        return try await store.purgeRecords(createdBefore: cutoff)
    }

    static func unknownInvocation(_ id: String) -> AerieError {
        AerieError.notFound("No invocation with id \(id). List invocations with GET /v1/invocations.")
    }

    static func unknownFunction(_ name: String) -> AerieError {
        AerieError.notFound("No function named \(name) is registered. List the functions with GET /v1/functions.")
    }

    // MARK: Active invocations

    func activate(_ id: String) -> InvocationControl {
        let control = InvocationControl()
        state.withLock { $0.active[id] = control }
        return control
    }

    func deactivate(_ id: String, _ control: InvocationControl) {
        state.withLock { state in
            if state.active[id] === control { state.active[id] = nil }
        }
        control.finish()
    }

    func activeControl(_ id: String) -> InvocationControl? {
        state.withLock { $0.active[id] }
    }

    // MARK: Service

    /// Runs the async workers, trigger dispatchers, schedules and the idle sweeper until graceful shutdown or
    /// cancellation; then abandons running async attempts (their messages are delivered again), writes buffered
    /// records and releases every function's state.
    public func run() async throws {
        try await prepared()
        logger.info("Functions runtime started", metadata: ["functions": "\(hosts.map(\.name))", "node": "\(configuration.nodeId)"])
        await cancelWhenGracefulShutdown {
            await self.runLoops()
        }
        await stopDynamicLoops()
        await store.flush()
        for host in hosts { await host.sweep(now: .now, force: true) }
        logger.info("Functions runtime stopped")
    }

    private func runLoops() async {
        let runsWorkers = configuration.runsWorkers
        let started = state.withLock { state in
            state.loopsStarted = runsWorkers
            return runsWorkers ? state.order.compactMap { state.hosts[$0] } : []
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.sweepLoop() }
            for host in started {
                group.addTask { await self.workerLoop(host) }
                for (index, trigger) in host.triggers.enumerated() {
                    group.addTask { await self.triggerLoop(host, trigger: trigger, index: index) }
                }
            }
        }
    }

    private func sweepLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.sweepInterval)
            if Task.isCancelled { return }
            for host in hosts { await host.sweep(now: .now) }
        }
    }
}

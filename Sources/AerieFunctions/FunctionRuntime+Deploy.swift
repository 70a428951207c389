import AerieCore
import Foundation

/// Functions that come and go while the runtime runs: deployed packages (out of process, `AerieRuntimes`).
///
/// ``register(handler:triggers:)`` is for start-up; ``deploy(handler:triggers:)`` may be called at any time and
/// replaces a function of the same name. The replaced host keeps serving the invocations that already hold it (a
/// deploy never disturbs them); new invocations go to the new one.
extension FunctionRuntime {
    /// Registers `handler`, or replaces the function of that name, while the runtime may already be running: its
    /// queue and trigger positions are prepared and its worker and trigger loops start at once.
    /// With `listed: false` the function is not in ``functions()`` (a version invoked by qualifier, `name:3`).
    public func deploy(handler: any FunctionHandler, triggers: [Trigger] = [], listed: Bool = true) async throws {
        try Self.validate(handler, triggers: triggers)
        let host = FunctionHost(handler: handler, triggers: triggers, metricsFactory: configuration.metricsFactory)
        let (wasPrepared, previousLoops) = state.withLock { state -> (Bool, Task<Void, Never>?) in
            if listed, !state.order.contains(handler.name) { state.order.append(handler.name) }
            state.hosts[handler.name] = host
            return (state.preparation != nil, state.dynamicLoops.removeValue(forKey: handler.name))
        }
        previousLoops?.cancel()
        if wasPrepared {
            try await prepared()
            try await prepare([host])
        }
        startDynamicLoops(host)
    }

    /// Unregisters a deployed function: its loops stop and it can no longer be invoked. Invocations already running
    /// finish. Returns false when no function of that name was registered.
    @discardableResult
    public func remove(_ name: String) async -> Bool {
        let (host, loops) = state.withLock { state -> (FunctionHost?, Task<Void, Never>?) in
            let host = state.hosts.removeValue(forKey: name)
            state.order.removeAll { $0 == name }
            return (host, state.dynamicLoops.removeValue(forKey: name))
        }
        loops?.cancel()
        await loops?.value
        if let host {
            await host.sweep(now: .now, force: true)
            _ = primitives.appResources.release(.queue, host.queueName)
        }
        return host != nil
    }

    /// Resolves a qualified name (`name:3`, `name:alias`) to the handler of that version; set by the deployed
    /// functions' manager. The handler's own name (a valid function name) keys its host, registered on first use.
    public typealias QualifierResolver = @Sendable (_ name: String, _ qualifier: String) async throws -> (any FunctionHandler)?

    public func setQualifierResolver(_ resolver: @escaping QualifierResolver) {
        state.withLock { $0.qualifierResolver = resolver }
    }

    /// The host for `name`, resolving `name:qualifier` through the qualifier resolver (nil when unknown).
    func resolveHost(_ name: String) async throws -> FunctionHost? {
        if let host = host(name) { return host }
        guard let colon = name.firstIndex(of: ":"), let resolver = state.withLock({ $0.qualifierResolver }) else { return nil }
        guard let handler = try await resolver(String(name[..<colon]), String(name[name.index(after: colon)...])) else { return nil }
        if let host = host(handler.name) { return host }
        try await deploy(handler: handler, listed: false)
        return host(handler.name)
    }

    /// Starts the host's worker and trigger loops if `run()` already started the others (else `run()` will).
    private func startDynamicLoops(_ host: FunctionHost) {
        state.withLock { state in
            guard state.loopsStarted, state.hosts[host.name] === host else { return }
            state.dynamicLoops[host.name] = Task {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.workerLoop(host) }
                    for (index, trigger) in host.triggers.enumerated() {
                        group.addTask { await self.triggerLoop(host, trigger: trigger, index: index) }
                    }
                }
            }
        }
    }

    /// Stops the loops of deployed functions (at shutdown).
    func stopDynamicLoops() async {
        let loops = state.withLock { state -> [Task<Void, Never>] in
            state.loopsStarted = false
            defer { state.dynamicLoops = [:] }
            return Array(state.dynamicLoops.values)
        }
        for task in loops { task.cancel() }
        for task in loops { await task.value }
    }
}

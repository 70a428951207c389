import AerieCore
import AerieFunctions
import Foundation
import Logging

/// The warm processes of one function version: one invocation at a time per process, a fresh process when none is
/// idle (a cold start), idle ones stopped after `idleTimeout` (scale to zero). A process that crashed, failed its
/// init or was killed by a timeout is never reused: the next invocation gets a fresh one.
actor ProcessPool {
    nonisolated let spec: ProcessSpec
    nonisolated let idleTimeout: Duration
    private let logger: Logger
    private var idle: [RuntimeProcess] = []
    private var busy: [ObjectIdentifier: RuntimeProcess] = [:]
    private var closed = false

    init(spec: ProcessSpec, idleTimeout: Duration, logger: Logger) {
        self.spec = spec
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// Runs one invocation on an idle process, or a fresh one; reports the cold start on `context.startReport`.
    func invoke(_ input: Data, context: InvocationContext) async throws -> Data {
        guard !closed else {
            throw AerieError(.unavailable, "Function \(spec.function) version \(spec.version) is being stopped; retry.")
        }
        let process: RuntimeProcess
        let cold: Bool
        if let warm = idle.popLast() {
            process = warm
            cold = false
        } else {
            process = RuntimeProcess(spec: spec, logger: logger)
            cold = true
        }
        context.startReport.report(cold: cold, initMs: nil)
        busy[ObjectIdentifier(process)] = process
        do {
            if cold {
                try await process.start(reporter: context.reporter)
            }
            let deadline = Date().addingTimeInterval(Self.seconds(context.deadline - .now))
            let event = RuntimeEvent(requestId: context.invocationId, payload: input,
                                     deadlineMs: Int64(deadline.timeIntervalSince1970 * 1000), functionArn: spec.functionArn,
                                     traceId: Self.traceId())
            let output = try await process.invoke(event, reporter: context.reporter)
            if cold { context.startReport.report(cold: true, initMs: await process.initMs) }
            await returned(process)
            return output
        } catch {
            if cold { context.startReport.report(cold: true, initMs: await process.initMs) }
            await returned(process)
            throw error
        }
    }

    private func returned(_ process: RuntimeProcess) async {
        busy[ObjectIdentifier(process)] = nil
        if await process.isUsable && !closed {
            idle.append(process)
        } else {
            await process.kill(reason: "retired")
        }
    }

    /// Stops processes idle for longer than `idleTimeout`.
    func reap(now: ContinuousClock.Instant) async {
        var kept: [RuntimeProcess] = []
        for process in idle {
            let alive = await process.isAlive
            let lastUsed = await process.lastUsed
            if !alive {
                continue
            } else if now - lastUsed >= idleTimeout {
                await process.kill(reason: "idle")
            } else {
                kept.append(process)
            }
        }
        idle = kept
    }

    /// Stops every process: idle ones at once, busy ones too (``shutdown`` happens when no invocation uses the
    /// pool, or when the server stops).
    func shutdown() async {
        closed = true
        let all = idle + Array(busy.values)
        idle = []
        for process in all { await process.kill(reason: "shutdown") }
        for process in all { await process.waitForExit() }
    }

    var processCount: Int { idle.count + busy.count }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// An X-Ray style trace id: `Root=1-<8 hex time>-<24 hex random>;Sampled=0`.
    static func traceId() -> String {
        let time = String(UInt32(Date().timeIntervalSince1970), radix: 16)
        let random = (0..<3).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
        return "Root=1-\(time)-\(random);Sampled=0"
    }
}

extension Duration {
    var inMillis: Double { ProcessPool.seconds(self) * 1000 }
}

import AerieCore
import Foundation
import CoreMetrics

/// How the functions runtime polls, leases and records. Defaults suit production; tests shorten the intervals.
public struct RuntimeConfiguration: Sendable {
    /// Where a trigger whose consumer group has never committed starts reading its topic.
    public enum StartPosition: Sendable, Hashable {
        /// Only events appended after the runtime first starts (like a freshly created Lambda trigger).
        case latest
        /// Every event the topic holds.
        case earliest
    }

    /// Identifies this process in logs (`aerie serve` uses the host name and pid).
    public var nodeId: String
    /// How often idle workers and dispatchers look for new messages and events (they are also woken in-process).
    public var pollInterval: Duration
    /// How long a worker keeps a message invisible; a heartbeat extends it every third of this while the function
    /// runs, so after a crash (`kill -9`) the message is delivered again after about this long.
    public var visibilityTimeout: Duration
    /// The delay before the first retry of a failed async invocation; doubles with each attempt up to `maxRetryBackoff`.
    public var retryBackoff: Duration
    public var maxRetryBackoff: Duration
    /// How often the idle sweeper looks for function state to release.
    public var sweepInterval: Duration
    /// Sync invocation records and events are written in batches this often (group commit), after the response.
    public var groupCommitInterval: Duration
    /// How long the stored events of an invocation are kept.
    public var eventRetention: Duration
    /// How long `cancel` waits for an invocation running on another node to stop.
    public var cancelWait: Duration
    /// How often async workers look for invocations whose last attempt died with its worker (dead letters).
    public var reconcileInterval: Duration
    public var triggerStartPosition: StartPosition
    /// Whether a write in this process wakes the functions its topic triggers at once (true), or they wait for
    /// their next poll (false: only for benchmarks that show what waking buys).
    public var wakeTriggers = true
    /// Whether this node takes work from the queues: async invocations, trigger deliveries, schedules (`aerie serve`
    /// roles `all` and `worker`). A node without workers (role `gateway`) still runs sync invocations and queues async
    /// ones and trigger deliveries for the nodes that have them.
    public var runsWorkers = true
    /// Metrics backend; nil uses the one bootstrapped in `MetricsSystem` (the gateway installs Prometheus).
    public var metricsFactory: (any MetricsFactory)?

    public init(nodeId: String = "node-\(ProcessInfo.processInfo.processIdentifier)",
                pollInterval: Duration = .milliseconds(150),
                visibilityTimeout: Duration = .seconds(10),
                retryBackoff: Duration = .seconds(1),
                maxRetryBackoff: Duration = .seconds(300),
                sweepInterval: Duration = .seconds(1),
                groupCommitInterval: Duration = .milliseconds(20),
                eventRetention: Duration = .seconds(7 * 86_400),
                cancelWait: Duration = .seconds(30),
                reconcileInterval: Duration = .seconds(30),
                triggerStartPosition: StartPosition = .latest,
                metricsFactory: (any MetricsFactory)? = nil) {
        self.nodeId = nodeId
        self.pollInterval = pollInterval
        self.visibilityTimeout = visibilityTimeout
        self.retryBackoff = retryBackoff
        self.maxRetryBackoff = maxRetryBackoff
        self.sweepInterval = sweepInterval
        self.groupCommitInterval = groupCommitInterval
        self.eventRetention = eventRetention
        self.cancelWait = cancelWait
        self.reconcileInterval = reconcileInterval
        self.triggerStartPosition = triggerStartPosition
        self.metricsFactory = metricsFactory
    }
}

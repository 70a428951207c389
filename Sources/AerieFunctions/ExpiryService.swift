import AerieCore
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// Purges what has outlived its time, in the background: table rows past their TTL (page sessions, idempotency
/// keys, invocation events, and any app table with a TTL attribute) and finished invocation records older than
/// ``Configuration/recordRetention``.
///
/// `aerie serve` runs it next to the runtime; on several nodes each runs it (deletes are idempotent).
public struct ExpiryService: Service {
    public struct Configuration: Sendable, Hashable {
        /// How often a pass runs.
        public var interval: Duration
        /// Finished invocation records older than this are deleted; nil keeps them forever.
        public var recordRetention: Duration?

        public init(interval: Duration = .seconds(60), recordRetention: Duration? = .seconds(30 * 86_400)) {
            self.interval = interval
            self.recordRetention = recordRetention
        }
    }

    /// What one pass removed.
    public struct Report: Sendable, Hashable {
        /// Table rows whose TTL had passed.
        public var expiredRows: Int
        /// Invocation records past the retention.
        public var invocationRecords: Int
    }

    public let configuration: Configuration
    let tables: any TableStore
    let runtime: FunctionRuntime
    let logger: Logger
    let removed: Counter

    public init(tables: any TableStore, runtime: FunctionRuntime, configuration: Configuration = Configuration(), logger: Logger) {
        self.tables = tables
        self.runtime = runtime
        self.configuration = configuration
        self.logger = logger
        self.removed = Counter(label: "aerie_expired_total", dimensions: [], factory: runtime.configuration.metricsFactory ?? MetricsSystem.factory)
    }

    /// One pass at `now`.
    @discardableResult
    public func purge(now: Date = Date()) async throws -> Report {
        let rows = try await tables.purgeExpired(now: now)
        var records = 0
        if let retention = configuration.recordRetention {
            records = try await runtime.purgeRecords(createdBefore: now.addingTimeInterval(-retention.seconds))
        }
        removed.increment(by: rows + records)
        if rows + records > 0 {
            logger.info("Expired rows purged", metadata: ["rows": "\(rows)", "invocation_records": "\(records)"])
        }
        return Report(expiredRows: rows, invocationRecords: records)
    }

    /// Runs a pass every ``Configuration/interval`` until graceful shutdown; a failed pass is logged and retried.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.interval)
                if Task.isCancelled { return }
                do {
                    try await purge()
                } catch {
                    logger.warning("Expiry pass failed; it runs again later", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

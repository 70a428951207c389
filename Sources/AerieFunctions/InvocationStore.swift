import AerieCore
import Foundation
import Logging
import Synchronization

/// An invocation record as stored, with the runtime's bookkeeping next to it.
struct StoredInvocation: Sendable {
    var record: InvocationRecord
    /// The queue message whose delivery currently runs the invocation.
    var leaseMessage: String?
    /// Until when that delivery's worker is known to be alive (its heartbeat moves this forward).
    var leaseUntil: Date?
    /// Set by `cancel` on another node; the running worker's heartbeat sees it and cancels.
    var cancelRequested: Bool = false
    /// The item version, for conditional writes (0 for a record not yet written).
    var version: Int64 = 0
}

/// Records, events and idempotency keys on the Tables primitive.
///
/// Tables (created at start):
/// - `aerie_invocations`: partition key `id`; indexes `by_function` (function, id), `by_owner` (owner, id) and
///   `by_time` (scope = "all", id). Ids sort by creation time, so descending queries list newest first.
/// - `aerie_invocation_events`: partition key `invocation`, sort key `sequence`; TTL attribute `expires`.
/// - `aerie_idempotency`: partition key `key` (`owner|function|key`); TTL attribute `expires`.
///
/// Sync invocations write through ``writeDeferred(_:)`` and ``appendEvent(_:_:deferred:)`` with `deferred`: the
/// writes are batched by the flush loop (group commit) after the caller has its answer; reads on this node see
/// them at once.
final class InvocationStore: Sendable {
    static let recordsTable = "aerie_invocations"
    static let eventsTable = "aerie_invocation_events"
    static let idempotencyTable = "aerie_idempotency"

    let tables: any TableStore
    let eventRetention: Duration
    let groupCommitInterval: Duration
    let logger: Logger

    private struct Pending {
        var records: [String: InvocationRecord] = [:]
        var events: [String: [InvocationEvent]] = [:]
        var flushingRecords: [String: InvocationRecord] = [:]
        var flushingEvents: [String: [InvocationEvent]] = [:]
        var flushing = false
        var flushWaiters: [CheckedContinuation<Void, Never>] = []
        var flushScheduled = false
        var isEmpty: Bool { records.isEmpty && events.isEmpty }
    }

    private let pending = Mutex(Pending())

    init(tables: any TableStore, eventRetention: Duration, groupCommitInterval: Duration, logger: Logger) {
        self.tables = tables
        self.eventRetention = eventRetention
        self.groupCommitInterval = groupCommitInterval
        self.logger = logger
    }

    func ensureTables() async throws {
        try await tables.ensureTable(TableSchema(
            name: Self.recordsTable, partitionKey: "id",
            indexes: [
                .init(name: "by_function", partitionKey: "function", sortKey: "id"),
                .init(name: "by_owner", partitionKey: "owner", sortKey: "id"),
                .init(name: "by_time", partitionKey: "scope", sortKey: "id"),
            ]))
        try await tables.ensureTable(TableSchema(name: Self.eventsTable, partitionKey: "invocation", sortKey: "sequence", ttlAttribute: "expires"))
        try await tables.ensureTable(TableSchema(name: Self.idempotencyTable, partitionKey: "key", ttlAttribute: "expires"))
    }

    // MARK: Records

    /// The table item of a record: the record's JSON (as `JSONCoding` writes it) plus the bookkeeping fields.
    /// Built field by field (``InvocationRecord/tableFields``): a JSON text round trip here was the largest cost of
    /// a sync invoke in the profile (every record is written twice).
    static func item(of stored: StoredInvocation) throws -> [String: JSONValue] {
        var item = stored.record.tableFields
        item["scope"] = .string("all")
        if let leaseMessage = stored.leaseMessage { item["lease_message"] = .string(leaseMessage) }
        if let leaseUntil = stored.leaseUntil { item["lease_until"] = .number(leaseUntil.timeIntervalSince1970) }
        if stored.cancelRequested { item["cancel_requested"] = .bool(true) }
        return item
    }

    static func stored(from item: StoredItem) throws -> StoredInvocation {
        let record = try InvocationRecord(tableFields: item.item)
        var cancelRequested = false
        if case .bool(true)? = item.item["cancel_requested"] { cancelRequested = true }
        return StoredInvocation(
            record: record, leaseMessage: item.item["lease_message"]?.stringValue,
            leaseUntil: item.item["lease_until"]?.numberValue.map(Date.init(timeIntervalSince1970:)),
            cancelRequested: cancelRequested, version: item.version)
    }

    /// The record with its bookkeeping; a sync record not yet flushed comes from memory (version 0).
    func load(_ id: String) async throws -> StoredInvocation? {
        let buffered = pending.withLock { $0.records[id] ?? $0.flushingRecords[id] }
        if let buffered { return StoredInvocation(record: buffered) }
        guard let item = try await tables.get(table: Self.recordsTable, key: ItemKey(partition: .string(id))) else { return nil }
        return try Self.stored(from: item)
    }

    /// Writes the record now; returns the new version. `.conditionFailed` when `condition` does not hold.
    @discardableResult
    func write(_ stored: StoredInvocation, condition: WriteCondition) async throws -> Int64 {
        pending.withLock { _ = $0.records.removeValue(forKey: stored.record.id) }
        let written = try await tables.put(table: Self.recordsTable, item: Self.item(of: stored), owner: stored.record.owner, condition: condition)
        return written.version
    }

    /// Queues the record for the next group commit; the latest version of each record wins. Waits for a flush when
    /// too much is buffered (``maxBuffered``).
    func writeDeferred(_ record: InvocationRecord) async {
        pending.withLock { $0.records[record.id] = record }
        scheduleFlush()
        await relieveBacklog()
    }

    /// Starts a flush after the group-commit interval unless one is already scheduled.
    private func scheduleFlush() {
        let schedule = pending.withLock { state -> Bool in
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        guard schedule else { return }
        let interval = groupCommitInterval
        Task {
            try? await Task.sleep(for: interval)
            await self.flush()
        }
    }

    func list(function: String?, status: InvocationStatus?, owner: String?, limit: Int, cursor: String?) async throws -> Page<InvocationRecord> {
        await flush()
        var filter: [String: JSONValue] = [:]
        if let status { filter["status"] = .string(status.rawValue) }
        var query: TableQuery
        if let function {
            query = TableQuery(index: "by_function", partition: .string(function))
            if let owner { filter["owner"] = .string(owner) }
        } else if let owner {
            query = TableQuery(index: "by_owner", partition: .string(owner))
        } else {
            query = TableQuery(index: "by_time", partition: .string("all"))
        }
        query.filter = filter
        query.descending = true
        query.limit = max(1, min(limit, 1000))
        query.cursor = cursor
        let page = try await tables.query(table: Self.recordsTable, query)
        return Page(items: try page.items.map { try Self.stored(from: $0).record }, nextCursor: page.nextCursor)
    }

    // MARK: Events

    func eventItem(_ id: String, _ event: InvocationEvent) -> [String: JSONValue] {
        [
            "invocation": .string(id), "sequence": .number(Double(event.sequence)), "kind": .string(event.kind.rawValue),
            "data": event.data, "time": .string(RFC3339.string(from: event.time)),
            "expires": .number((event.time.timeIntervalSince1970 + eventRetention.seconds).rounded()),
        ]
    }

    func appendEvent(_ id: String, _ event: InvocationEvent, deferred: Bool) async throws {
        if deferred {
            pending.withLock { $0.events[id, default: []].append(event) }
            scheduleFlush()
            await relieveBacklog()
        } else {
            try await tables.put(table: Self.eventsTable, item: eventItem(id, event))
        }
    }

    static func event(from item: StoredItem) -> InvocationEvent? {
        guard let sequence = item.item["sequence"]?.numberValue, let kindText = item.item["kind"]?.stringValue,
              let kind = InvocationEvent.Kind(rawValue: kindText) else { return nil }
        let time = item.item["time"]?.stringValue.flatMap(RFC3339.date(from:)) ?? item.updatedAt
        return InvocationEvent(sequence: Int64(sequence), kind: kind, data: item.item["data"] ?? .null, time: time)
    }

    /// Stored (and buffered) events with a sequence above `after`, in order.
    func events(_ id: String, after: Int64?) async throws -> [InvocationEvent] {
        var result: [Int64: InvocationEvent] = [:]
        var cursor: String?
        repeat {
            var query = TableQuery(partition: .string(id), limit: 500, cursor: cursor)
            if let after { query.sort = .greaterThan(.number(Double(after))) }
            let page = try await tables.query(table: Self.eventsTable, query)
            for item in page.items {
                if let event = Self.event(from: item) { result[event.sequence] = event }
            }
            cursor = page.nextCursor
        } while cursor != nil
        let buffered = pending.withLock { ($0.flushingEvents[id] ?? []) + ($0.events[id] ?? []) }
        for event in buffered where event.sequence > (after ?? 0) {
            result[event.sequence] = event
        }
        return result.values.sorted { $0.sequence < $1.sequence }
    }

    /// The event with the highest sequence, if any.
    func lastEvent(_ id: String) async throws -> InvocationEvent? {
        let page = try await tables.query(table: Self.eventsTable, TableQuery(partition: .string(id), descending: true, limit: 1))
        let stored = page.items.first.flatMap(Self.event(from:))
        let buffered = pending.withLock { (($0.flushingEvents[id] ?? []) + ($0.events[id] ?? [])).last }
        if let buffered, buffered.sequence > (stored?.sequence ?? 0) { return buffered }
        return stored
    }

    // MARK: Retention

    /// Deletes the finished invocation records created before `cutoff` (ids sort by creation time, so the `by_time`
    /// index gives the oldest first); queued and running ones stay. Returns how many were deleted.
    func purgeRecords(createdBefore cutoff: Date) async throws -> Int {
        let millis = UInt64(max(0, cutoff.timeIntervalSince1970 * 1000))
        let digits = String(millis, radix: 16)
        let bound = "inv_" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        var deleted = 0
        var cursor: String?
        repeat {
            let page = try await tables.query(table: Self.recordsTable, TableQuery(
                index: "by_time", partition: .string("all"), sort: .lessThan(.string(bound)), limit: 500, cursor: cursor))
            for item in page.items {
                guard let id = item.item["id"]?.stringValue,
                      let status = item.item["status"]?.stringValue.flatMap(InvocationStatus.init(rawValue:)), status.isFinished
                else { continue }
                do {
                    // Conditional: a record written since the query (a late update) is left for the next pass.
                    if try await tables.delete(table: Self.recordsTable, key: ItemKey(partition: .string(id)), condition: .version(item.version)) {
                        deleted += 1
                    }
                } catch let error as AerieError where error.code == .conditionFailed {
                    continue
                }
            }
            cursor = page.nextCursor
        } while cursor != nil
        return deleted
    }

    // MARK: Idempotency

    /// Maps `key` to `invocation` unless it already maps to another invocation within its window; returns the
    /// existing invocation id in that case.
    func claimIdempotency(_ key: String, invocation: String, expires: Date) async throws -> String? {
        let item: [String: JSONValue] = [
            "key": .string(key), "invocation": .string(invocation), "expires": .number(expires.timeIntervalSince1970.rounded(.up)),
        ]
        for _ in 0..<3 {
            do {
                try await tables.put(table: Self.idempotencyTable, item: item, owner: nil, condition: .absent)
                return nil
            } catch let error as AerieError where error.code == .conditionFailed {
                if let existing = try await tables.get(table: Self.idempotencyTable, key: ItemKey(partition: .string(key))),
                   let id = existing.item["invocation"]?.stringValue {
                    return id
                }
                // Expired or deleted between the two calls: try to claim again.
            }
        }
        throw AerieError(.unavailable, "The idempotency key \(key) is contended; retry the request.")
    }

    // MARK: Group commit

    /// Writes everything buffered so far (waiting for a flush already under way).
    func flush() async {
        while true {
            switch await flushStep(untilEmpty: true) {
            case .done, .failed: return
            case .flushed: continue
            }
        }
    }

    private enum FlushResult { case done, flushed, failed }

    /// One step of the group commit: waits for the flush under way, or writes what is buffered now.
    /// With `untilEmpty` false, a wait for someone else's flush counts as the step (back-pressure waits for one
    /// flush, not for an empty buffer, which under steady load never comes).
    private func flushStep(untilEmpty: Bool) async -> FlushResult {
        enum Step { case write([String: InvocationRecord], [String: [InvocationEvent]]), wait, done }
        let step = pending.withLock { state -> Step in
            if state.flushing { return .wait }
            if state.isEmpty { return .done }
            state.flushing = true
            state.flushScheduled = false
            state.flushingRecords = state.records
            state.flushingEvents = state.events
            state.records = [:]
            state.events = [:]
            return .write(state.flushingRecords, state.flushingEvents)
        }
        switch step {
        case .done:
            return .done
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = pending.withLock { state -> Bool in
                    if !state.flushing { return true }
                    state.flushWaiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            return untilEmpty ? .flushed : .done
        case .write(let records, let events):
            // Written concurrently: on SQLite the writes of one flush share a commit or two (GroupCommit).
            let (failedRecords, failedEvents) = await writeConcurrently(records: records, events: events)
            let waiters = pending.withLock { state -> [CheckedContinuation<Void, Never>] in
                for (id, record) in failedRecords where state.records[id] == nil { state.records[id] = record }
                for (id, list) in failedEvents { state.events[id] = list + (state.events[id] ?? []) }
                state.flushingRecords = [:]
                state.flushingEvents = [:]
                state.flushing = false
                defer { state.flushWaiters = [] }
                return state.flushWaiters
            }
            for waiter in waiters { waiter.resume() }
            if !failedRecords.isEmpty || !failedEvents.isEmpty {
                scheduleFlush()
                return .failed
            }
            return .flushed
        }
    }

    /// Records and event lists buffered (including those being written) beyond which a deferred writer waits for
    /// one flush. Without it a burst of sync invokes outran the group commit (about 5,000 records/s on the 2-core
    /// development machine) and left a backlog in memory that later requests queued behind for most of a second.
    static let maxBuffered = 2048

    /// Records and event lists buffered now (including those being written).
    var bufferedCount: Int {
        pending.withLock { $0.records.count + $0.flushingRecords.count + $0.events.count + $0.flushingEvents.count }
    }

    /// Back-pressure for deferred writers: past ``maxBuffered``, wait for (or do) one flush.
    private func relieveBacklog() async {
        guard bufferedCount > Self.maxBuffered else { return }
        _ = await flushStep(untilEmpty: false)
    }

    /// Writes records and each invocation's events (in order), all invocations at once; returns what failed.
    private func writeConcurrently(records: [String: InvocationRecord], events: [String: [InvocationEvent]]) async
        -> (records: [String: InvocationRecord], events: [String: [InvocationEvent]]) {
        enum Failure { case record(String, InvocationRecord), events(String, [InvocationEvent]), none }
        let failures = await withTaskGroup(of: Failure.self) { group in
            for (id, list) in events {
                group.addTask {
                    for (index, event) in list.enumerated() {
                        do {
                            try await self.tables.put(table: Self.eventsTable, item: self.eventItem(id, event))
                        } catch {
                            self.logger.error("Could not write invocation events; will retry", metadata: ["invocation": "\(id)", "error": "\(error)"])
                            return .events(id, Array(list[index...]))
                        }
                    }
                    return .none
                }
            }
            for (id, record) in records {
                group.addTask {
                    do {
                        try await self.tables.put(table: Self.recordsTable, item: Self.item(of: StoredInvocation(record: record)),
                                                  owner: record.owner, condition: .none)
                        return .none
                    } catch {
                        self.logger.error("Could not write an invocation record; will retry", metadata: ["invocation": "\(id)", "error": "\(error)"])
                        return .record(id, record)
                    }
                }
            }
            var failed: (records: [String: InvocationRecord], events: [String: [InvocationEvent]]) = ([:], [:])
            for await failure in group {
                switch failure {
                case .record(let id, let record): failed.records[id] = record
                case .events(let id, let list): failed.events[id] = list
                case .none: break
                }
            }
            return failed
        }
        return failures
    }
}

extension InvocationRecord {
    /// The record as a JSON object, exactly as `JSONCoding.encode` writes it (camelCase keys, RFC 3339 times, absent
    /// optionals left out); a test compares the two.
    var tableFields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "id": .string(id), "function": .string(function), "status": .string(status.rawValue), "async": .bool(async),
            "attempts": .number(Double(attempts)), "createdAt": .string(RFC3339.string(from: createdAt)),
        ]
        var triggerFields: [String: JSONValue] = ["kind": .string(trigger.kind.rawValue)]
        if let source = trigger.source { triggerFields["source"] = .string(source) }
        fields["trigger"] = .object(triggerFields)
        if let owner { fields["owner"] = .string(owner) }
        if let idempotencyKey { fields["idempotencyKey"] = .string(idempotencyKey) }
        if let startedAt { fields["startedAt"] = .string(RFC3339.string(from: startedAt)) }
        if let finishedAt { fields["finishedAt"] = .string(RFC3339.string(from: finishedAt)) }
        if let durationMs { fields["durationMs"] = .number(durationMs) }
        if let coldStart { fields["coldStart"] = .bool(coldStart) }
        if let initMs { fields["initMs"] = .number(initMs) }
        if let error { fields["error"] = .object(["type": .string(error.type), "message": .string(error.message)]) }
        if let progress { fields["progress"] = .number(progress) }
        if let output { fields["output"] = output }
        return fields
    }

    /// Reads ``tableFields`` back; throws `.internal` for an item that is not a record.
    init(tableFields fields: [String: JSONValue]) throws {
        func bad(_ field: String) -> AerieError {
            AerieError(.internal, "A stored invocation record has no valid \(field); the table aerie_invocations holds something else.")
        }
        func date(_ key: String) throws -> Date? {
            guard let value = fields[key], value != .null else { return nil }
            guard let text = value.stringValue, let date = RFC3339.date(from: text) else { throw bad(key) }
            return date
        }
        guard let id = fields["id"]?.stringValue else { throw bad("id") }
        guard let function = fields["function"]?.stringValue else { throw bad("function") }
        guard let kindText = fields["trigger"]?["kind"]?.stringValue, let kind = TriggerInfo.Kind(rawValue: kindText) else { throw bad("trigger") }
        guard let statusText = fields["status"]?.stringValue, let status = InvocationStatus(rawValue: statusText) else { throw bad("status") }
        guard case .bool(let isAsync)? = fields["async"] else { throw bad("async") }
        guard let createdAt = try date("createdAt") else { throw bad("createdAt") }
        var error: InvocationError?
        if let errorValue = fields["error"], errorValue != .null {
            guard let type = errorValue["type"]?.stringValue, let message = errorValue["message"]?.stringValue else { throw bad("error") }
            error = InvocationError(type: type, message: message)
        }
        var coldStart: Bool?
        if case .bool(let value)? = fields["coldStart"] { coldStart = value }
        let output = fields["output"].flatMap { $0 == .null ? nil : $0 }
        self.init(id: id, function: function, trigger: TriggerInfo(kind: kind, source: fields["trigger"]?["source"]?.stringValue),
                  owner: fields["owner"]?.stringValue, status: status, async: isAsync,
                  attempts: Int(fields["attempts"]?.numberValue ?? 0), idempotencyKey: fields["idempotencyKey"]?.stringValue,
                  createdAt: createdAt, startedAt: try date("startedAt"), finishedAt: try date("finishedAt"),
                  durationMs: fields["durationMs"]?.numberValue, coldStart: coldStart, initMs: fields["initMs"]?.numberValue,
                  error: error, progress: fields["progress"]?.numberValue, output: output)
    }
}

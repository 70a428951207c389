import AerieCore
import Foundation

/// The draft (session) and committed (storage) stores, both projections of the event log.
///
/// Every change of an experiment is appended first, as a behavioural record carrying the experiment's snapshot
/// (topic `session` for drafts, `storage` for committed ones); the projector (consumer group `lab-projection`) then
/// applies what it has not applied yet to tables `lab_drafts` and `lab_committed`. Applying keeps the highest
/// revision, so replays, rewinds and re-emitted records change nothing that is already there, and
/// ``rebuild()`` drops both tables and gets them back, equal, from the log alone.
///
/// One actor serializes the read-modify-write of experiments (training, evaluation and the routes all change them).
actor LabStore {
    static let drafts = TableSchema(name: "lab_drafts", partitionKey: "id", indexes: [
        .init(name: "by_owner", partitionKey: "owner", sortKey: "id"), .init(name: "all", partitionKey: "kind", sortKey: "id"),
    ])
    static let committed = TableSchema(name: "lab_committed", partitionKey: "id", indexes: [
        .init(name: "by_owner", partitionKey: "owner", sortKey: "id"), .init(name: "all", partitionKey: "kind", sortKey: "id"),
    ])
    /// Deleted drafts (id → revision), so a replayed or re-emitted record never brings one back.
    static let tombstones = TableSchema(name: "lab_deleted", partitionKey: "id")
    static let projectionGroup = "lab-projection"
    static let projectedTopics = ["session", "storage"]

    let primitives: Primitives
    let now: @Sendable () -> Date
    /// Changes and projection run one at a time: an actor alone would interleave them at every `await` (a stale
    /// snapshot could be projected over a newer one, or a read-modify-write lose an update).
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(primitives: Primitives, now: @escaping @Sendable () -> Date) {
        self.primitives = primitives
        self.now = now
    }

    func prepare() async throws {
        try await primitives.ensureAppTable(Self.drafts, app: LabApp.name)
        try await primitives.ensureAppTable(Self.committed, app: LabApp.name)
        try await primitives.ensureAppTable(Self.tombstones, app: LabApp.name)
        try await catchUp()
    }

    private func serialized<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    // MARK: - Behavioural records

    /// Appends a behavioural record to `topic`; returns its offset.
    @discardableResult
    func record(_ topic: String, from source: BehaviouralRecord.Service, to destination: BehaviouralRecord.Service, _ type: String,
                payload: String, data: JSONValue? = nil, sync: Bool = false) async throws -> Int64 {
        try await serialized { try await recordUnlocked(topic, from: source, to: destination, type, payload: payload, data: data, sync: sync) }
    }

    @discardableResult
    private func recordUnlocked(_ topic: String, from source: BehaviouralRecord.Service, to destination: BehaviouralRecord.Service, _ type: String,
                                payload: String, data: JSONValue? = nil, sync: Bool = false) async throws -> Int64 {
        let record = BehaviouralRecord(sourceService: source, destinationService: destination, messageType: type, comType: sync ? "sync" : "async",
                                       payload: payload, timestamp: LabTime.milliseconds(now()), data: data)
        let offset = try await primitives.events.append(topic: topic, key: record.key, payload: JSONCoding.encode(record))
        // The projection reads every record of its topics, summaries included, so its lag stays 0 between changes.
        if Self.projectedTopics.contains(topic) { try await catchUpUnlocked() }
        return offset
    }

    /// Appends a copy of the record at `topic@offset` (marked as re-emitted) and lets the projector see it.
    func reemit(topic: String, offset: Int64) async throws -> (offset: Int64, record: BehaviouralRecord) {
        try await serialized { try await reemitUnlocked(topic: topic, offset: offset) }
    }

    private func reemitUnlocked(topic: String, offset: Int64) async throws -> (offset: Int64, record: BehaviouralRecord) {
        guard let event = try await primitives.events.read(topic: topic, from: offset, limit: 1).first, event.offset == offset,
              var record = try? JSONCoding.decode(BehaviouralRecord.self, from: event.payload) else {
            throw AerieError.notFound("Topic \(topic) has no record at offset \(offset); GET /v1/apps/lab/records?topic=\(topic) lists them.")
        }
        record.reemittedFrom = "\(topic)@\(offset)"
        record.timestamp = LabTime.milliseconds(now())
        let newOffset = try await primitives.events.append(topic: topic, key: event.key, payload: JSONCoding.encode(record))
        try await catchUpUnlocked()
        return (newOffset, record)
    }

    // MARK: - Reads

    func draft(_ id: String) async throws -> Experiment? {
        try await primitives.tables.get(table: Self.drafts.name, key: ItemKey(partition: .string(id))).flatMap(Self.decode)
    }

    func committedExperiment(_ id: String) async throws -> Experiment? {
        try await primitives.tables.get(table: Self.committed.name, key: ItemKey(partition: .string(id))).flatMap(Self.decode)
    }

    /// The experiment in either store.
    func experiment(_ id: String) async throws -> Experiment? {
        if let committed = try await committedExperiment(id) { return committed }
        return try await draft(id)
    }

    /// A page of one store, newest first: the owner's, or everyone's when `owner` is nil.
    func list(_ state: Experiment.State, owner: String?, limit: Int, cursor: String?) async throws -> Page<Experiment> {
        let table = state == .draft ? Self.drafts : Self.committed
        let query = owner.map { TableQuery(index: "by_owner", partition: .string($0), descending: true, limit: limit, cursor: cursor) }
            ?? TableQuery(index: "all", partition: .string("experiment"), descending: true, limit: limit, cursor: cursor)
        let page = try await primitives.tables.query(table: table.name, query)
        return Page(items: page.items.compactMap(Self.decode), nextCursor: page.nextCursor)
    }

    /// Every item of both stores, for comparisons.
    func snapshot() async throws -> [String: Experiment] {
        var result: [String: Experiment] = [:]
        for state in [Experiment.State.draft, .committed] {
            var cursor: String?
            repeat {
                let page = try await list(state, owner: nil, limit: 500, cursor: cursor)
                for experiment in page.items { result["\(state.rawValue):\(experiment.id)"] = experiment }
                cursor = page.nextCursor
            } while cursor != nil
        }
        return result
    }

    // MARK: - Changes (log first, then projection)

    /// Creates a draft: appended to topic `session` as `payload`, then projected.
    func create(_ experiment: Experiment, from source: BehaviouralRecord.Service, payload: String) async throws {
        try await serialized { try await recordUnlocked("session", from: source, to: .session, "receive", payload: payload, data: .object(["experiment": try Self.json(experiment)])) }
    }

    /// Changes draft `id` with `change`; nil when there is no such draft (or `change` returns false: nothing to do).
    @discardableResult
    func updateDraft(_ id: String, from source: BehaviouralRecord.Service, payload: String,
                     _ change: @Sendable (inout Experiment) throws -> Bool) async throws -> Experiment? {
        try await serialized { try await updateDraftUnlocked(id, from: source, payload: payload, change) }
    }

    private func updateDraftUnlocked(_ id: String, from source: BehaviouralRecord.Service, payload: String,
                                     _ change: @Sendable (inout Experiment) throws -> Bool) async throws -> Experiment? {
        guard var experiment = try await draft(id) else { return nil }
        guard try change(&experiment) else { return nil }
        experiment.revision += 1
        experiment.updatedAt = now()
        try await recordUnlocked("session", from: source, to: .session, "receive", payload: payload, data: .object(["experiment": try Self.json(experiment)]))
        return experiment
    }

    /// Deletes draft `id`; false when there is none.
    func deleteDraft(_ id: String) async throws -> Bool {
        try await serialized { try await deleteDraftUnlocked(id) }
    }

    private func deleteDraftUnlocked(_ id: String) async throws -> Bool {
        guard var experiment = try await draft(id) else { return false }
        experiment.revision += 1
        experiment.updatedAt = now()
        try await recordUnlocked("session", from: .client, to: .session, "receive", payload: "delete_session", data: .object(["deleted": try Self.json(experiment)]))
        return true
    }

    /// Archives draft `id` as committed (same id): one `storage` record carries the committed snapshot, and the
    /// projector moves it from the draft store to the committed one. Nil when there is no such draft.
    func archive(_ id: String) async throws -> Experiment? {
        try await serialized { try await archiveUnlocked(id) }
    }

    private func archiveUnlocked(_ id: String) async throws -> Experiment? {
        if let committed = try await committedExperiment(id) { return committed }
        guard var experiment = try await draft(id) else { return nil }
        experiment.state = .committed
        experiment.revision += 1
        experiment.updatedAt = now()
        try await recordUnlocked("storage", from: .session, to: .storage, "receive", payload: "archive_data", data: .object(["experiment": try Self.json(experiment)]))
        return experiment
    }

    // MARK: - Projection

    /// Applies every record of the projected topics after the group's committed offsets.
    func catchUp() async throws {
        try await serialized { try await catchUpUnlocked() }
    }

    private func catchUpUnlocked() async throws {
        for topic in Self.projectedTopics {
            var offset = try await primitives.events.committedOffset(group: Self.projectionGroup, topic: topic) ?? 0
            while true {
                let events = try await primitives.events.read(topic: topic, from: offset, limit: 500)
                if events.isEmpty { break }
                for event in events {
                    try await apply(event)
                    offset = event.offset + 1
                }
                try await primitives.events.commit(group: Self.projectionGroup, topic: topic, offset: offset)
            }
        }
    }

    /// Drops both stores and projects them again from the whole log.
    func rebuild() async throws {
        try await serialized { try await rebuildUnlocked() }
    }

    private func rebuildUnlocked() async throws {
        try await primitives.deleteAppTable(Self.drafts.name)
        try await primitives.deleteAppTable(Self.committed.name)
        try await primitives.deleteAppTable(Self.tombstones.name)
        try await primitives.ensureAppTable(Self.drafts, app: LabApp.name)
        try await primitives.ensureAppTable(Self.committed, app: LabApp.name)
        try await primitives.ensureAppTable(Self.tombstones, app: LabApp.name)
        for topic in Self.projectedTopics {
            try await primitives.events.commit(group: Self.projectionGroup, topic: topic, offset: 0)
        }
        try await catchUpUnlocked()
    }

    private func apply(_ event: EventRecord) async throws {
        guard let record = try? JSONCoding.decode(BehaviouralRecord.self, from: event.payload), case .object(let data)? = record.data else { return }
        if let snapshot = data["experiment"], let experiment = try? Self.experiment(from: snapshot) {
            switch experiment.state {
            case .draft:
                // A draft never comes back once committed.
                guard try await committedExperiment(experiment.id) == nil else { return }
                if let deleted = try await primitives.tables.get(table: Self.tombstones.name, key: ItemKey(partition: .string(experiment.id))),
                   (deleted.item["revision"]?.numberValue ?? 0) >= Double(experiment.revision) { return }
                if let current = try await draft(experiment.id), current.revision >= experiment.revision { return }
                try await put(experiment, in: Self.drafts)
            case .committed:
                if let current = try await committedExperiment(experiment.id), current.revision >= experiment.revision { return }
                try await put(experiment, in: Self.committed)
                _ = try await primitives.tables.delete(table: Self.drafts.name, key: ItemKey(partition: .string(experiment.id)))
            }
        } else if let snapshot = data["deleted"], let experiment = try? Self.experiment(from: snapshot) {
            if let current = try await draft(experiment.id), current.revision >= experiment.revision { return }
            _ = try await primitives.tables.put(table: Self.tombstones.name,
                                                item: ["id": .string(experiment.id), "revision": .number(Double(experiment.revision))], owner: experiment.owner)
            _ = try await primitives.tables.delete(table: Self.drafts.name, key: ItemKey(partition: .string(experiment.id)))
        }
    }

    private func put(_ experiment: Experiment, in table: TableSchema) async throws {
        guard case .object(var item) = try Self.json(experiment) else { return }
        item["kind"] = .string("experiment")
        _ = try await primitives.tables.put(table: table.name, item: item, owner: experiment.owner, condition: .none)
    }

    static func json(_ experiment: Experiment) throws -> JSONValue {
        try JSONCoding.decode(JSONValue.self, from: JSONCoding.encode(experiment))
    }

    static func experiment(from value: JSONValue) throws -> Experiment {
        try JSONCoding.decode(Experiment.self, from: JSONCoding.encode(value))
    }

    static func decode(_ stored: StoredItem) -> Experiment? {
        try? experiment(from: .object(stored.item))
    }
}

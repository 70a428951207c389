import Foundation
import Synchronization

/// A vector store kept in step across the nodes of a deployment through the event log: each node holds its own
/// in-process index (`local`, a `FileVectorStore` in its data directory) and every write goes through topic
/// ``topic`` first.
///
/// A write (create or drop a collection, upsert, remove) is checked, appended to the topic as one operation, and then
/// waits until this node's follower has applied the log up to that operation, returning the operation's own result.
/// Every node's follower applies every operation, its own included, in offset order, so all nodes apply the same
/// writes in the same order and end in the same state, whichever node took each write; a node that was down catches
/// up from its checkpoint (the next offset to apply, kept in `checkpoint`) when it starts. Reads (`get`, `search`,
/// `count`) go to the local index. A collection that another node just created is found: a lookup that misses first
/// catches up with the log.
///
/// Followers wake on the topic's announcements (appends made here, and, on PostgreSQL, other nodes' appends relayed
/// by `LISTEN`) and poll every ``pollInterval`` besides.
public final class ReplicatedVectorStore: VectorStore {
    public static let topic = "aerie.vectors"
    public static let pollInterval: Duration = .milliseconds(150)

    let local: any VectorStore
    let events: any EventLog
    private let follower: LogFollower<VectorOutcome>
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// Starts following the topic from the checkpoint in `checkpoint` (from the start when there is none, or when
    /// `checkpoint` is nil: a store in memory). Stop it with ``close()``.
    public init(local: any VectorStore, events: any EventLog, signals: TopicSignals, checkpoint: URL?) {
        self.local = local
        self.events = events
        follower = LogFollower(
            topic: Self.topic, checkpoint: checkpoint, pollInterval: Self.pollInterval, appliedEarlier: VectorOutcome(),
            stopped: "This node stopped before applying the vector write; it is stored and applies when the node starts again."
        ) { record in await Self.apply(record, to: local) }
        let started = follower.start(events: events, signals: signals)
        task.withLock { $0 = started }
    }

    /// Stops following the topic.
    public func close() {
        task.withLock { $0?.cancel() }
    }

    deinit { close() }

    // MARK: - VectorStore

    public func createCollection(_ name: String, dimensions: Int, metric: VectorMetric) async throws -> Bool {
        try VectorRules.validateName(name)
        try VectorRules.validateDimensions(dimensions)
        return try await write(.create(collection: name, dimensions: dimensions, metric: metric)).created
    }

    public func collections() async throws -> [VectorCollectionInfo] {
        try await local.collections()
    }

    public func collection(_ name: String) async throws -> any Vectors {
        do {
            return ReplicatedVectors(base: try await local.collection(name), name: name, store: self)
        } catch let error as AerieError where error.code == .notFound {
            // Created on another node a moment ago? Catch up with the log, then look again.
            try await catchUp()
            return ReplicatedVectors(base: try await local.collection(name), name: name, store: self)
        }
    }

    public func dropCollection(_ name: String) async throws -> Bool {
        try VectorRules.validateName(name)
        return try await write(.drop(collection: name)).created
    }

    // MARK: - Writes through the log

    /// Appends `operation` and waits for this node to apply it; its outcome (or error) is the caller's.
    func write(_ operation: VectorOperation) async throws -> VectorOutcome {
        let offset = try await events.append(topic: Self.topic, key: operation.collection, payload: try operation.encoded())
        return try await follower.outcome(of: offset).get()
    }

    /// The events that recreate a collection in a deployment's log: its creation, then its records in batches. For
    /// `aerie migrate --to`, which moves an embedded deployment's collections into the log every node replays.
    public static func copyEvents(of collection: VectorCollectionInfo, records: [VectorRecord]) throws -> [OutgoingEvent] {
        var operations: [VectorOperation] = [.create(collection: collection.name, dimensions: collection.dimensions, metric: collection.metric)]
        var start = records.startIndex
        while start < records.endIndex {
            let end = min(start + 256, records.endIndex)
            operations.append(.upsert(collection: collection.name, records: Array(records[start..<end])))
            start = end
        }
        return try operations.map { OutgoingEvent(key: $0.collection, payload: try $0.encoded()) }
    }

    /// Waits until this node has applied every operation appended so far.
    public func catchUp() async throws {
        try await follower.catchUp(events: events)
    }

    /// Applies one operation of the log to the local store. The same on every node: an error (a collection dropped
    /// before an upsert to it, a conflicting definition) is every node's outcome.
    private static func apply(_ record: EventRecord, to local: any VectorStore) async -> Result<VectorOutcome, AerieError> {
        do {
            switch try VectorOperation.decode(record.payload) {
            case .create(let name, let dimensions, let metric):
                return .success(VectorOutcome(created: try await local.createCollection(name, dimensions: dimensions, metric: metric)))
            case .drop(let name):
                return .success(VectorOutcome(created: try await local.dropCollection(name)))
            case .upsert(let name, let records):
                try await local.collection(name).upsert(records)
                return .success(VectorOutcome())
            case .remove(let name, let ids):
                return .success(VectorOutcome(removed: try await local.collection(name).remove(ids: ids)))
            }
        } catch let error as AerieError {
            return .failure(error)
        } catch {
            return .failure(AerieError(.internal, "Applying a vector write failed: \(error)"))
        }
    }
}

/// One collection through a ``ReplicatedVectorStore``: writes go through the log, reads to the local index.
struct ReplicatedVectors: Vectors {
    let base: any Vectors
    let name: String
    let store: ReplicatedVectorStore

    var dimensions: Int { base.dimensions }
    var metric: VectorMetric { base.metric }
    var count: Int { get async throws { try await base.count } }

    func upsert(_ records: [VectorRecord]) async throws {
        // Checked here, before the log: an operation in the log must apply on every node.
        try VectorRules.validate(records, dimensions: dimensions, metric: metric)
        guard !records.isEmpty else { return }
        _ = try await store.write(.upsert(collection: name, records: records))
    }

    func remove(ids: [String]) async throws -> Int {
        for id in ids { try VectorRules.validateID(id) }
        guard !ids.isEmpty else { return 0 }
        return try await store.write(.remove(collection: name, ids: ids)).removed
    }

    func get(_ id: String) async throws -> VectorRecord? { try await base.get(id) }

    func search(_ query: [Float], k: Int, filter: VectorFilter?, exact: Bool) async throws -> [VectorMatch] {
        try await base.search(query, k: k, filter: filter, exact: exact)
    }
}

/// A write as the log carries it. Vectors travel as base64 of their little-endian 32-bit floats.
enum VectorOperation: Sendable {
    case create(collection: String, dimensions: Int, metric: VectorMetric)
    case drop(collection: String)
    case upsert(collection: String, records: [VectorRecord])
    case remove(collection: String, ids: [String])

    var collection: String {
        switch self {
        case .create(let name, _, _), .drop(let name), .upsert(let name, _), .remove(let name, _): name
        }
    }

    private struct Wire: Codable {
        struct Record: Codable {
            var id: String
            var vector: String
            var metadata: [String: KeyValue]
        }
        var op: String
        var collection: String
        var dimensions: Int?
        var metric: VectorMetric?
        var records: [Record]?
        var ids: [String]?
    }

    func encoded() throws -> Data {
        var wire = Wire(op: "", collection: collection)
        switch self {
        case .create(_, let dimensions, let metric):
            (wire.op, wire.dimensions, wire.metric) = ("create", dimensions, metric)
        case .drop:
            wire.op = "drop"
        case .upsert(_, let records):
            wire.op = "upsert"
            wire.records = records.map { record in
                let bytes = record.vector.withUnsafeBytes { Data($0) }  // little-endian on every platform Aerie runs on
                return Wire.Record(id: record.id, vector: bytes.base64EncodedString(), metadata: record.metadata)
            }
        case .remove(_, let ids):
            (wire.op, wire.ids) = ("remove", ids)
        }
        return try JSONEncoder().encode(wire)
    }

    static func decode(_ data: Data) throws -> VectorOperation {
        let wire = try JSONDecoder().decode(Wire.self, from: data)
        switch wire.op {
        case "create":
            guard let dimensions = wire.dimensions, let metric = wire.metric else { break }
            return .create(collection: wire.collection, dimensions: dimensions, metric: metric)
        case "drop":
            return .drop(collection: wire.collection)
        case "upsert":
            guard let records = wire.records else { break }
            return .upsert(collection: wire.collection, records: try records.map { record in
                guard let bytes = Data(base64Encoded: record.vector), bytes.count % 4 == 0 else {
                    throw AerieError(.internal, "A vector in the replication log is damaged.")
                }
                let vector = bytes.withUnsafeBytes { raw in (0..<bytes.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
                return VectorRecord(id: record.id, vector: vector, metadata: record.metadata)
            })
        case "remove":
            guard let ids = wire.ids else { break }
            return .remove(collection: wire.collection, ids: ids)
        default:
            break
        }
        throw AerieError(.internal, "The replication log holds a vector operation this version does not know (\(wire.op)).")
    }
}

/// What applying an operation gave: whether a collection was created (or dropped), how many ids were removed.
struct VectorOutcome: Sendable {
    var created = false
    var removed = 0
}

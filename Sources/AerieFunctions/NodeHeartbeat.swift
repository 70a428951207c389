import AerieCore
import Foundation
import Logging
import ServiceLifecycle

/// One process of a deployment as the others see it: a row of table `aerie_nodes`, written every
/// ``NodeHeartbeat/interval`` by the node itself. Rows expire (TTL) a minute after their last heartbeat, so a node
/// that died leaves the list on its own; until then it shows as not alive.
public struct NodeStatus: Sendable, Hashable, Codable {
    /// Unique per process start.
    public var id: String
    public var host: String
    public var pid: Int
    /// `gateway`, `worker`.
    public var roles: [String]
    /// Where the node serves HTTP (`http://host:port`).
    public var address: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// The machine's one-minute load average (`/proc/loadavg`); nil where unknown.
    public var load1: Double?
    /// Invocations running on the node at the heartbeat.
    public var running: Int
    /// Whether the last heartbeat is recent (within three intervals of the reading).
    public var alive: Bool

    enum CodingKeys: String, CodingKey {
        case id, host, pid, roles, address, load1, running, alive
        case startedAt = "started_at"
        case heartbeatAt = "heartbeat_at"
    }

    public init(id: String, host: String, pid: Int, roles: [String], address: String, startedAt: Date, heartbeatAt: Date,
                load1: Double?, running: Int, alive: Bool = true) {
        self.id = id
        self.host = host
        self.pid = pid
        self.roles = roles
        self.address = address
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.load1 = load1
        self.running = running
        self.alive = alive
    }
}

/// Writes this node's ``NodeStatus`` to the shared tables at start and every ``interval``, and removes it when the
/// node stops; ``nodes(tables:now:)`` lists the deployment (the console's nodes panel, `GET /v1/nodes`).
public struct NodeHeartbeat: Service {
    public static let table = "aerie_nodes"
    public static let interval: Duration = .seconds(5)
    static let partition = "nodes"
    /// A row outlives its last heartbeat by this long before the expiry service removes it.
    static let retention: TimeInterval = 60

    let tables: any TableStore
    let runtime: FunctionRuntime
    let status: NodeStatus
    let logger: Logger

    public init(tables: any TableStore, runtime: FunctionRuntime, roles: [String], address: String, logger: Logger) {
        self.tables = tables
        self.runtime = runtime
        let now = Date()
        status = NodeStatus(id: UUID().uuidString.lowercased(), host: ProcessInfo.processInfo.hostName,
                            pid: Int(ProcessInfo.processInfo.processIdentifier), roles: roles, address: address,
                            startedAt: now, heartbeatAt: now, load1: nil, running: 0)
        self.logger = logger
    }

    public static func ensureTable(_ tables: any TableStore) async throws {
        // One partition for every node: listing the deployment is one query.
        try await tables.ensureTable(TableSchema(name: table, partitionKey: "deployment", sortKey: "id", ttlAttribute: "expires"))
    }

    public func run() async throws {
        try await Self.ensureTable(tables)
        // The loop ends at graceful shutdown (not only on cancellation), so the row below is removed on the way out.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await beat()
                } catch {
                    logger.warning("Could not write this node's heartbeat", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: Self.interval)
            }
        }
        // Leaving: the others stop listing this node at once (a killed node's row expires instead).
        _ = try? await tables.delete(table: Self.table, key: ItemKey(partition: .string(Self.partition), sort: .string(status.id)))
    }

    /// Writes one heartbeat now.
    public func beat(now: Date = Date()) async throws {
        var current = status
        current.heartbeatAt = now
        current.load1 = Self.loadAverage()
        current.running = await runtime.functions().reduce(0) { $0 + $1.stats.inFlight }
        guard case .object(var item) = try JSONValue.parse(bytes: try JSONCoding.encode(current)) else { return }
        item["deployment"] = .string(Self.partition)
        item["expires"] = .number((now.timeIntervalSince1970 + Self.retention).rounded(.up))
        try await tables.put(table: Self.table, item: item)
    }

    /// The deployment's nodes, oldest first, `alive` judged at `now`.
    public static func nodes(tables: any TableStore, now: Date = Date()) async throws -> [NodeStatus] {
        try await ensureTable(tables)
        var nodes: [NodeStatus] = []
        var cursor: String?
        repeat {
            let page = try await tables.query(table: table, TableQuery(partition: .string(partition), limit: 1000, cursor: cursor))
            for stored in page.items {
                guard let data = try? JSONCoding.encode(JSONValue.object(stored.item)),
                      var node = try? JSONCoding.decode(NodeStatus.self, from: data) else { continue }
                node.alive = now.timeIntervalSince(node.heartbeatAt) < 3 * interval.seconds
                nodes.append(node)
            }
            cursor = page.nextCursor
        } while cursor != nil
        return nodes.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}

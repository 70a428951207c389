/// The platform's primitives for one deployment, chosen by configuration: in memory for tests,
/// embedded (SQLite + files) by default, PostgreSQL + S3 at scale.
///
/// Functions, the gateway and the apps receive this bundle through their initialisers; nothing reaches
/// a primitive through a global.
public struct Primitives: Sendable {
    public var objects: any ObjectStore
    public var tables: any TableStore
    public var queues: any QueueStore
    public var events: any EventLog

    public init(objects: any ObjectStore, tables: any TableStore, queues: any QueueStore, events: any EventLog) {
        self.objects = objects
        self.tables = tables
        self.queues = queues
        self.events = events
    }
}

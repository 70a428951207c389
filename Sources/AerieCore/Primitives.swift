/// The platform's primitives for one deployment, chosen by configuration: in memory for tests,
/// embedded (SQLite + files) by default, PostgreSQL + S3 at scale.
///
/// Functions, the gateway and the apps receive this bundle through their initialisers; nothing reaches
/// a primitive through a global. Each driver is held behind its primitive's front end (``CheckedObjectStore``,
/// ``CheckedTableStore``, ``CheckedQueueStore``, ``CheckedEventLog``), which applies the names, keys and limits
/// rules once for every driver; vector collections apply ``VectorRules``.
public struct Primitives: Sendable {
    public var objects: any ObjectStore { didSet { objects = CheckedObjectStore.wrap(objects) } }
    public var tables: any TableStore { didSet { tables = CheckedTableStore.wrap(tables) } }
    public var queues: any QueueStore { didSet { queues = CheckedQueueStore.wrap(queues) } }
    public var events: any EventLog { didSet { events = CheckedEventLog.wrap(events) } }
    public var vectors: any VectorStore

    public init(
        objects: any ObjectStore, tables: any TableStore, queues: any QueueStore, events: any EventLog,
        vectors: any VectorStore
    ) {
        self.objects = CheckedObjectStore.wrap(objects)
        self.tables = CheckedTableStore.wrap(tables)
        self.queues = CheckedQueueStore.wrap(queues)
        self.events = CheckedEventLog.wrap(events)
        self.vectors = vectors
    }
}

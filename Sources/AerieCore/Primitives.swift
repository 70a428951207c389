/// The platform's primitives for one deployment, chosen by configuration: in memory for tests,
/// embedded (SQLite + files) by default, PostgreSQL + S3 at scale.
///
/// Functions, the gateway and the apps receive this bundle through their initialisers; nothing reaches
/// a primitive through a global. Each driver is held behind its primitive's front end (``CheckedObjectStore``,
/// ``CheckedTableStore``, ``CheckedQueueStore``, ``CheckedEventLog``), which applies the names, keys and limits
/// rules once for every driver; vector collections apply ``VectorRules``. The object and event-log front ends announce
/// appends on ``signals``, which in-process readers (trigger dispatchers) wait on besides their poll; the object and
/// table and queue front ends (and the vector routes) refuse to delete what ``appResources`` holds for an app.
public struct Primitives: Sendable {
    public var objects: any ObjectStore { didSet { objects = CheckedObjectStore.wrap(objects, signals: signals, appResources: appResources) } }
    public var tables: any TableStore { didSet { tables = CheckedTableStore.wrap(tables, appResources: appResources) } }
    public var queues: any QueueStore { didSet { queues = CheckedQueueStore.wrap(queues, appResources: appResources) } }
    public var events: any EventLog { didSet { events = CheckedEventLog.wrap(events, signals: signals) } }
    public var vectors: any VectorStore
    /// Appends in this process, by topic (shared by every copy of this bundle).
    public let signals: TopicSignals
    /// The apps' own buckets and tables, which the front ends refuse to delete (shared by every copy of this bundle).
    public let appResources: AppResources

    public init(
        objects: any ObjectStore, tables: any TableStore, queues: any QueueStore, events: any EventLog,
        vectors: any VectorStore
    ) {
        let signals = TopicSignals()
        self.signals = signals
        let appResources = AppResources()
        self.appResources = appResources
        self.objects = CheckedObjectStore.wrap(objects, signals: signals, appResources: appResources)
        self.tables = CheckedTableStore.wrap(tables, appResources: appResources)
        self.queues = CheckedQueueStore.wrap(queues, appResources: appResources)
        self.events = CheckedEventLog.wrap(events, signals: signals)
        self.vectors = vectors
    }
}

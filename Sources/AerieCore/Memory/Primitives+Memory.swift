extension Primitives {
    /// A fresh set of in-memory drivers (for tests): object events land in this bundle's own event log.
    public static func memory() -> Primitives {
        let events = MemoryEventLog()
        return Primitives(
            objects: MemoryObjectStore(events: events),
            tables: MemoryTableStore(),
            queues: MemoryQueueStore(),
            events: events,
            vectors: MemoryVectorStore()
        )
    }
}

import AerieCore
import AerieTesting
import Testing

/// The in-memory drivers against the shared conformance suites.
@Suite struct MemoryConformanceTests {
    @Test(arguments: ObjectStoreConformance.cases)
    func objects(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }

    @Test(arguments: TableStoreConformance.cases)
    func tables(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }

    @Test(arguments: QueueStoreConformance.cases)
    func queues(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }

    @Test(arguments: EventLogConformance.cases)
    func events(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }

    @Test(arguments: VectorsConformance.cases)
    func vectors(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }
}

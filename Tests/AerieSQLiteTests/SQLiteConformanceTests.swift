import AerieCore
import AerieSQLite
import AerieTesting
import Foundation
import Testing

/// The shared conformance suites, each case on embedded storage in a fresh temporary data directory.
@Suite struct SQLiteConformanceTests {
    @Test(arguments: ObjectStoreConformance.cases)
    func objects(_ check: ConformanceCase) async throws { try await run(check) }

    @Test(arguments: TableStoreConformance.cases)
    func tables(_ check: ConformanceCase) async throws { try await run(check) }

    @Test(arguments: QueueStoreConformance.cases)
    func queues(_ check: ConformanceCase) async throws { try await run(check) }

    @Test(arguments: EventLogConformance.cases)
    func events(_ check: ConformanceCase) async throws { try await run(check) }

    @Test(arguments: VectorsConformance.cases)
    func vectors(_ check: ConformanceCase) async throws { try await run(check) }

    private func run(_ check: ConformanceCase) async throws {
        try await withStorage { storage, _ in
            try await check.run(storage.primitives)
        }
    }
}

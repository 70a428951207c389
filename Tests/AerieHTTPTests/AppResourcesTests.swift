import AerieCore
import AerieFunctions
import AerieHTTPTesting
import Foundation
import HTTPTypes
import Logging
import Testing

@testable import AerieHTTP

/// An app's own storage stays while the app runs: an admin (or an API fuzzer acting as one) cannot delete its
/// bucket, queue or vector collection, nor a function's async queue; what nobody holds is deleted as before.
@Suite("The apps' own buckets, tables, queues and collections cannot be deleted")
struct AppResourcesTests {
    struct Shelf: AerieApp {
        static let name = "shelf"
        func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
            try await primitives.ensureAppBucket("shelf", app: Self.name)
            try await primitives.ensureAppTable(TableSchema(name: "shelf_items", partitionKey: "id"), app: Self.name)
            try await primitives.ensureAppQueue(QueueConfiguration(name: "shelf-jobs"), app: Self.name)
            _ = try await primitives.ensureAppCollection("shelf-vectors", dimensions: 2, metric: .cosine, app: Self.name)
            try runtime.register(Noop())
        }
    }

    struct Noop: Function {
        static let name = "shelf-noop"
        func handle(_ input: JSONValue, state: Void, context: InvocationContext) async throws -> JSONValue { input }
    }

    @Test("409 over HTTP for what an app or a function holds; 204 for the rest")
    func deletionsAreRefused() async throws {
        let harness = try await GatewayHarness.make(apps: [Shelf()])
        try await harness.test { client in
            let admin = harness.adminToken
            try await client.send(.delete, "/v1/buckets/shelf", token: admin).expectProblem("conflict", status: 409)
            try await client.send(.delete, "/v1/queues/shelf-jobs", token: admin).expectProblem("conflict", status: 409)
            try await client.send(.delete, "/v1/queues/aerie.fn.shelf-noop", token: admin).expectProblem("conflict", status: 409)
            try await client.send(.delete, "/v1/vectors/shelf-vectors", token: admin).expectProblem("conflict", status: 409)
            // Still there.
            #expect(try await harness.gateway.primitives.queues.queue("shelf-jobs") != nil)
            #expect(try await client.send(.get, "/v1/vectors/shelf-vectors", token: admin).status == .ok)
            #expect(try await harness.gateway.primitives.objects.bucket("shelf") != nil)
            // Nobody holds these: deleted as before.
            #expect(try await client.send(.put, "/v1/buckets/mine", token: admin).status == .created)
            #expect(try await client.send(.delete, "/v1/buckets/mine", token: admin).status == .noContent)
            #expect(try await client.send(.post, "/v1/queues", token: admin, json: #"{"name": "mine"}"#).status == .created)
            #expect(try await client.send(.delete, "/v1/queues/mine", token: admin).status == .noContent)
        }
    }

    @Test("The front ends refuse the same deletions to in-process callers; the app may drop and rebuild its own table")
    func frontEnds() async throws {
        let primitives = Primitives.memory()
        try await Shelf().setUp(primitives: primitives, runtime: FunctionRuntime(primitives: primitives, logger: Logger(label: "test")),
                                logger: Logger(label: "test"))
        await #expect { try await primitives.objects.deleteBucket("shelf") } throws: { ($0 as? AerieError)?.code == .conflict }
        await #expect { try await primitives.tables.deleteTable("shelf_items") } throws: { ($0 as? AerieError)?.code == .conflict }
        await #expect { try await primitives.queues.deleteQueue("shelf-jobs") } throws: { ($0 as? AerieError)?.code == .conflict }
        try await primitives.deleteAppTable("shelf_items")
        #expect(try await primitives.tables.table("shelf_items") == nil)
        try await primitives.ensureAppTable(TableSchema(name: "shelf_items", partitionKey: "id"), app: Shelf.name)
        await #expect { try await primitives.tables.deleteTable("shelf_items") } throws: { ($0 as? AerieError)?.code == .conflict }
    }
}

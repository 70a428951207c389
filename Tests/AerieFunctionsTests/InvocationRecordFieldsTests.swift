import AerieCore
@testable import AerieFunctions
import Foundation
import Testing

/// The records table holds each record as `JSONCoding` writes it; the store builds and reads those fields directly.
@Suite struct InvocationRecordFieldsTests {
    static let full = InvocationRecord(
        id: "inv_1", function: "echo", trigger: TriggerInfo(kind: .object, source: "photos/a.jpg"), owner: "ann", status: .failed,
        async: true, attempts: 3, idempotencyKey: "k-1", createdAt: Date(timeIntervalSince1970: 1_700_000_000.125),
        startedAt: Date(timeIntervalSince1970: 1_700_000_001.5), finishedAt: Date(timeIntervalSince1970: 1_700_000_002.75),
        durationMs: 12.5, coldStart: true, initMs: 3.25, error: InvocationError(type: "function-failed", message: "disk \"full\""),
        progress: 0.5, output: ["a": [1, 2, "three"], "b": .null])
    static let minimal = InvocationRecord(id: "inv_2", function: "noop", trigger: .http, owner: nil, status: .queued, async: false,
                                          createdAt: Date(timeIntervalSince1970: 1_700_000_000))

    @Test(arguments: [full, minimal]) func fieldsAreWhatTheJSONEncoderWrites(_ record: InvocationRecord) throws {
        let viaJSON = try JSONValue.parse(JSONCoding.encode(record))
        #expect(JSONValue.object(record.tableFields) == viaJSON)
    }

    @Test(arguments: [full, minimal]) func fieldsReadBackToTheSameRecord(_ record: InvocationRecord) throws {
        let read = try InvocationRecord(tableFields: record.tableFields)
        #expect(try JSONCoding.encode(read) == JSONCoding.encode(record))
        // And what the JSON decoder reads from the same fields.
        let decoded = try JSONCoding.decode(InvocationRecord.self, from: JSONValue.object(record.tableFields).encoded())
        #expect(try JSONCoding.encode(read) == JSONCoding.encode(decoded))
    }

    @Test func somethingElseIsAnInternalError() {
        #expect(throws: AerieError.self) { try InvocationRecord(tableFields: ["id": "x"]) }
        #expect(throws: AerieError.self) {
            var fields = Self.minimal.tableFields
            fields["createdAt"] = "yesterday"
            return try InvocationRecord(tableFields: fields)
        }
    }
}

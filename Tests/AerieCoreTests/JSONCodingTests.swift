import AerieCore
import Foundation
import Testing

@Suite struct JSONCodingTests {
    struct Request: Codable, Equatable {
        struct Step: Codable, Equatable {
            var name: String
            var count: Int
        }
        var prompt: String
        var steps: [Step]
        var at: Date?
    }

    func failure(_ json: String) -> AerieError? {
        do {
            _ = try JSONCoding.decode(Request.self, from: Data(json.utf8))
            return nil
        } catch {
            return error as? AerieError
        }
    }

    @Test func typeMismatchPointsAtTheField() throws {
        let error = try #require(failure(#"{"prompt": 3, "steps": []}"#))
        #expect(error.code == .invalidArgument)
        #expect(error.field == "/prompt")
        #expect(error.message.contains("/prompt"))
        #expect(error.message.contains("a string"))
    }

    @Test func nestedArrayElementsArePointedAtByIndex() throws {
        let error = try #require(failure(#"{"prompt": "p", "steps": [{"name": "a", "count": 1}, {"name": "b", "count": "two"}]}"#))
        #expect(error.field == "/steps/1/count")
        #expect(error.message.contains("an integer"))
    }

    @Test func missingFieldIsNamed() throws {
        let error = try #require(failure(#"{"steps": []}"#))
        #expect(error.field == "/prompt")
        #expect(error.message.contains("missing field \"prompt\""))
        let nested = try #require(failure(#"{"prompt": "p", "steps": [{"count": 1}]}"#))
        #expect(nested.field == "/steps/0/name")
    }

    @Test func nullIsNotAValue() throws {
        let error = try #require(failure(#"{"prompt": null, "steps": []}"#))
        #expect(error.field == "/prompt")
        #expect(error.message.contains("not null"))
    }

    @Test func syntaxErrorsSayTheBodyIsNotJSON() throws {
        let error = try #require(failure(#"{"prompt": "#))
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("not valid JSON"))
        #expect(throws: AerieError.self) { try JSONValue.parse(Data("{nope".utf8)) }
    }

    @Test func badDatesPointAtTheField() throws {
        let error = try #require(failure(#"{"prompt": "p", "steps": [], "at": "yesterday"}"#))
        #expect(error.field == "/at")
        #expect(error.message.contains("RFC 3339"))
    }

    @Test func roundTripWithRFC3339Dates() throws {
        let value = Request(prompt: "p", steps: [.init(name: "a", count: 1)], at: Date(timeIntervalSince1970: 1_700_000_000.125))
        let data = try JSONCoding.encode(value)
        #expect(String(decoding: data, as: UTF8.self).contains("\"2023-11-14T22:13:20.125Z\""))
        let decoded = try JSONCoding.decode(Request.self, from: data)
        #expect(decoded.prompt == value.prompt)
        #expect(decoded.steps == value.steps)
        #expect(abs((decoded.at ?? .distantPast).timeIntervalSince(value.at ?? .distantFuture)) < 0.001)
    }
}

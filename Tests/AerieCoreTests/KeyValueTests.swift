import AerieCore
import Foundation
import Testing

@Suite struct KeyValueTests {
    static let ordered: [KeyValue] = [
        .number(-.infinity), .number(-1e300), .number(-1000), .number(-1), .number(-0.5), .number(-Double.leastNonzeroMagnitude),
        .number(0), .number(Double.leastNonzeroMagnitude), .number(0.5), .number(1), .number(2), .number(10), .number(1e15),
        .number(1e300), .number(.infinity),
        .string(""), .string("10"), .string("2"), .string("A"), .string("Z"), .string("a"), .string("ab"), .string("b"),
        .string("\u{E9}"), .string("\u{FF21}"), .string("\u{1F600}"),
    ]

    @Test func comparisonOrder() {
        for (index, value) in Self.ordered.enumerated() {
            for later in Self.ordered[(index + 1)...] {
                #expect(value < later, "\(value) < \(later)")
                #expect(!(later < value), "not \(later) < \(value)")
            }
        }
    }

    @Test func sortableBytesFollowTheOrder() {
        let sortables = Self.ordered.map { Array($0.sortable.utf8) }
        for index in sortables.indices.dropLast() {
            #expect(sortables[index].lexicographicallyPrecedes(sortables[index + 1]), "\(Self.ordered[index]) before \(Self.ordered[index + 1])")
        }
        let shuffled = Self.ordered.shuffled()
        #expect(shuffled.sorted { Array($0.sortable.utf8).lexicographicallyPrecedes(Array($1.sortable.utf8)) } == Self.ordered)
        #expect(shuffled.sorted() == Self.ordered)
    }

    @Test func sortableShape() {
        #expect(KeyValue.string("abc").sortable == "sabc")
        for value in [-1e300, -1, 0, 1, 123.456, 1e300] {
            let sortable = KeyValue.number(value).sortable
            #expect(sortable.count == 17)
            #expect(sortable.hasPrefix("n"))
            #expect(sortable.dropFirst().allSatisfy { $0.isHexDigit && !$0.isUppercase })
        }
        #expect(KeyValue.number(1).sortable != KeyValue.number(2).sortable)
    }

    @Test func fromJSON() throws {
        #expect(try KeyValue(.string("x"), attribute: "id") == .string("x"))
        #expect(try KeyValue(.number(3), attribute: "id") == .number(3))
        for bad: JSONValue in [.null, .bool(true), .array([]), .object([:])] {
            #expect {
                try KeyValue(bad, attribute: "id")
            } throws: { error in
                (error as? AerieError)?.code == .invalidArgument && (error as? AerieError)?.field == "/id"
            }
        }
    }

    @Test func codableRoundTrip() throws {
        for value in [KeyValue.string("a"), .number(2), .number(-0.5)] {
            let data = try JSONCoding.encode(value)
            #expect(try JSONCoding.decode(KeyValue.self, from: data) == value)
        }
        #expect(String(decoding: try JSONCoding.encode(KeyValue.number(2)), as: UTF8.self) == "2")
    }

    @Test func literals() {
        let key: KeyValue = "abc"
        let number: KeyValue = 3
        #expect(key == .string("abc"))
        #expect(number == .number(3))
        let json: JSONValue = ["a": [1, 2.5, "x", true, nil], "b": ["c": "d"]]
        #expect(json == .object(["a": .array([.number(1), .number(2.5), .string("x"), .bool(true), .null]), "b": .object(["c": .string("d")])]))
    }
}

import AerieCore
import Foundation
import Testing

/// The hand-written JSON reader and writer for `JSONValue`, checked against Foundation's coders.
@Suite struct JSONTextTests {
    /// A seeded generator of JSON documents: every kind of value, escapes, non-ASCII text, awkward numbers.
    struct Documents {
        var state: UInt64

        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }

        mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

        static let pieces = ["a", "z", "é", "日本", "😀", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", " ", "ok", "\u{7F}", "\u{2028}"]

        mutating func string() -> String {
            (0..<int(6)).map { _ in Self.pieces[int(Self.pieces.count)] }.joined()
        }

        /// Object keys of lower-case letters only: the one alphabet where Foundation's sorted-keys order (numeric,
        /// case-insensitive) and this writer's byte order agree, so the bytes can be compared exactly.
        mutating func key() -> String {
            String((0..<(1 + int(4))).map { _ in Character(UnicodeScalar(UInt8(97 + int(26)))) })
        }

        mutating func number() -> Double {
            switch int(6) {
            case 0: return Double(int(1000)) - 500
            case 1: return Double(next()) * (int(2) == 0 ? 1 : -1)
            case 2: return Double(int(100_000)) / 1000
            case 3: return 1e-7 * Double(1 + int(9))
            case 4: return 1.5e300
            default: return Double(bitPattern: 0x3FF0_0000_0000_0000 | next())
            }
        }

        mutating func value(depth: Int = 0) -> JSONValue {
            switch depth > 3 ? int(4) : int(6) {
            case 0: return .null
            case 1: return .bool(int(2) == 0)
            case 2: return .number(number())
            case 3: return .string(string())
            case 4: return .array((0..<int(5)).map { _ in value(depth: depth + 1) })
            default:
                var object: [String: JSONValue] = [:]
                for _ in 0..<int(5) { object[key()] = value(depth: depth + 1) }
                return .object(object)
            }
        }
    }

    @Test("Writes what JSONEncoder writes, and reads back what it wrote and what Foundation wrote")
    func agreesWithFoundation() throws {
        var documents = Documents(state: 42)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for _ in 0..<2_000 {
            let value = documents.value()
            let ours = value.encoded()
            let foundation = try encoder.encode(value)
            #expect(ours == foundation, "\(String(decoding: foundation, as: UTF8.self))")
            #expect(try JSONValue.parse(ours) == value)
            #expect(try JSONDecoder().decode(JSONValue.self, from: ours) == value)
        }
    }

    @Test("Reads escapes, surrogate pairs, white space, numbers in every form and any value at the top")
    func reads() throws {
        #expect(try JSONValue.parse(Data(#" {"a" : [1, -0.5, 2e3, 1E-2, 0, -0] , "b":"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"} "#.utf8))
                == .object(["a": .array([.number(1), .number(-0.5), .number(2000), .number(0.01), .number(0), .number(0)]),
                            "b": .string("é😀/\u{08}\u{0C}\n\r\t\"\\")]))
        #expect(try JSONValue.parse(Data("\"text\"".utf8)) == .string("text"))
        #expect(try JSONValue.parse(Data("true".utf8)) == .bool(true))
        #expect(try JSONValue.parse(Data("null".utf8)) == .null)
        #expect(try JSONValue.parse(Data("12345678901234567890".utf8)) == .number(12345678901234567890))
        #expect(try JSONValue.parse(Data("\u{FEFF}{}".utf8)) == .object([:]))
        #expect(try JSONValue.parse(bytes: "[\"日本\"]".utf8) == .array([.string("日本")]))
        // The last of repeated names wins, as with Foundation.
        #expect(try JSONValue.parse(Data(#"{"a":1,"a":2}"#.utf8)) == .object(["a": .number(2)]))
    }

    @Test("Refuses what is not JSON, saying what and where")
    func refuses() {
        let cases: [(String, String)] = [
            ("", "ends where a value should be"), ("{", "member name"), ("[1,]", "unexpected character"), ("[1 2]", "expected ','"),
            ("{\"a\" 1}", "expected ':'"), ("01", "cannot start with 0"), ("1.", "digits after '.'"), ("1e", "exponent"),
            ("-", "needs digits"), ("tru", "unexpected character"), ("\"a", "ends inside a string"), ("\"\u{01}\"", "control character"),
            ("\"\\x\"", "unknown escape"), ("\"\\ud800\"", "lone surrogate"), ("\"\\udc00\"", "lone surrogate"), ("\"\\u12zz\"", "four hexadecimal"),
            ("1e999", "out of range"), ("{} x", "after the value"), ("NaN", "unexpected character"), ("'a'", "unexpected character"),
        ]
        for (text, reason) in cases {
            do {
                _ = try JSONValue.parse(Data(text.utf8))
                Issue.record("\(text) was accepted")
            } catch let error as AerieError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("The body is not valid JSON"))
                #expect(error.message.contains(reason), "\(text): \(error.message)")
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
        #expect(throws: AerieError.self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
    }

    @Test("Deep nesting is refused, not a stack overflow")
    func depth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: AerieError.self) { try JSONValue.parse(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        #expect(try JSONValue.parse(Data(fine.utf8)) != .null)
    }

    @Test("Numbers that are not finite are written as null")
    func nonFinite() {
        #expect(JSONValue.array([.number(.nan), .number(.infinity), .number(1)]).encodedString() == "[null,null,1]")
    }
}

@Suite struct RandomUUIDTests {
    @Test("Random UUIDs are version 4, RFC 4122 variant, lower case, and distinct")
    func shape() throws {
        var seen = Set<String>()
        for _ in 0..<1_000 {
            let text = RandomUUID.string()
            let uuid = try #require(UUID(uuidString: text))
            #expect(text == text.lowercased())
            #expect(uuid.uuid.6 >> 4 == 4)
            #expect(uuid.uuid.8 >> 6 == 0b10)
            seen.insert(text)
        }
        #expect(seen.count == 1_000)
    }
}

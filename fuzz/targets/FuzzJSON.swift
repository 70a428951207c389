// libFuzzer target for the JSON parser every request body goes through (`JSONValue.parse`, AerieCore; built by
// `make fuzz-parsers` with Sources/AerieCore/JSONValue*.swift, JSONText.swift and AerieError.swift).
//
// Beyond "no crash": whatever parses must survive a round trip (parse → encode → parse gives the same value), and a
// refusal must be Aerie's own error (a 400 problem), never anything else.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let value: JSONValue
    do {
        value = try JSONValue.parse(bytes: bytes)
    } catch is AerieError {
        return 0
    } catch {
        fatalError("a refusal that is not an AerieError: \(error)")
    }
    let text = value.encoded()
    guard let again = try? JSONValue.parse(text) else {
        fatalError("the encoding of a parsed value does not parse: \(String(decoding: text, as: UTF8.self))")
    }
    if again != value {
        fatalError("round trip changed the value: \(value) → \(again)")
    }
    return 0
}

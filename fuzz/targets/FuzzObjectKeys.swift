// libFuzzer target for object keys and bucket names as the REST routes take them (built by `make fuzz-parsers` with
// Sources/AerieCore/Objects/ObjectNames.swift and AerieError.swift): the raw path after `/objects/` is
// percent-decoded once, as the gateway does, then checked.
//
// Beyond "no crash": a refusal is Aerie's own error naming the field, and whatever is accepted keeps the promises the
// stores rely on (non-empty, at most 1024 bytes of UTF-8, no control character, no leading '/', no '.' or '..'
// segment; a bucket of 3–63 of a-z 0-9 '-' '.').
import Foundation

private func refusedProperly(_ body: () throws -> Void, field: String) -> Bool {
    do {
        try body()
        return false
    } catch let error as AerieError {
        precondition(error.code == .invalidArgument && error.field == field, "unexpected refusal: \(error)")
        return true
    } catch {
        fatalError("a refusal that is not an AerieError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzObjectKeys(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let raw = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let key = raw.removingPercentEncoding, !refusedProperly({ try ObjectNames.validatePathKey(key) }, field: "key") {
        precondition(!key.isEmpty && key.utf8.count <= ObjectNames.maxKeyBytes, "accepted a key of \(key.utf8.count) bytes")
        precondition(!key.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "accepted a control character")
        precondition(!key.hasPrefix("/"), "accepted a leading '/'")
        precondition(!key.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == "." || $0 == ".." },
                     "accepted a dot segment: \(key)")
    }
    if !refusedProperly({ try ObjectNames.validateBucket(raw) }, field: "bucket") {
        precondition((3...63).contains(raw.utf8.count), "accepted a bucket of \(raw.utf8.count) bytes")
        precondition(raw.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E },
                     "accepted a bucket character outside a-z 0-9 - .")
        precondition(!raw.contains(".."), "accepted '..' in a bucket")
    }
    return 0
}

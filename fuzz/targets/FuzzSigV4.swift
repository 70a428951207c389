// libFuzzer target for SigV4's parsing of what a client sends (built by `make fuzz-parsers` from
// Sources/AerieS3/SigV4.swift, linked against the package's own build of swift-crypto, which is not instrumented:
// the coverage is of SigV4's code).
//
// Properties: percent-decoding undoes the AWS encoding (with and without '/' kept); the canonical query string is a
// fixed point (canonicalising it again changes nothing); a parsed X-Amz-Date is a real instant written canonically
// (printing it gives back the input: "20261399T999999Z" is refused, not rolled over into another date).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSigV4(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for keepSlash in [false, true] {
        let encoded = SigV4.uriEncode(text, keepSlash: keepSlash)
        precondition(SigV4.percentDecode(encoded) == text, "decoding the encoding changed \(text.debugDescription)")
    }
    let canonical = SigV4.canonicalQueryString(text)
    precondition(SigV4.canonicalQueryString(canonical) == canonical, "canonical query of \(text.debugDescription) is not a fixed point")
    if let date = SigV4.parseTimestamp(text) {
        precondition(SigV4.timestamp(date) == text, "\(text.debugDescription) parsed as \(SigV4.timestamp(date))")
    }
    return 0
}

import AerieCore
import Foundation
import Testing

@Suite("Percent-decoding of path segments")
struct PercentDecodingTests {
    @Test("answers as Foundation's removingPercentEncoding does", arguments: [
        "", "plain", "a/b/c.txt", "a%20b", "%2Fetc%2Fpasswd", "caf%C3%A9", "%e2%82%ac", "100%25", "a+b", "%41%42%43",
        "%", "%4", "%zz", "a%2", "%G1", "%C3", "%FF%FE", "x%C3%A9y%20z", "ümlaut%20ok", "..%2F..%2Fsecret",
    ])
    func matchesFoundation(_ text: String) {
        #expect(PercentDecoding.decode(text) == text.removingPercentEncoding, "\(text)")
    }

    @Test("a substring decodes as its string")
    func substring() {
        let path = "/v1/buckets/b/objects/a%20b"
        #expect(PercentDecoding.decode(path.dropFirst(22)) == "a b")
    }
}

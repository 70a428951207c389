/// Percent-decoding of URL path segments without Foundation: `removingPercentEncoding` on Linux goes through
/// `NSString` and took about 2 % of a small object GET's CPU (issue 19's profile), decoding paths that usually hold no
/// `%` at all.
public enum PercentDecoding {
    /// The text with each `%XX` replaced by its byte; nil for a broken escape (`%4`, `%zz`) or bytes that are not
    /// UTF-8, as `removingPercentEncoding` answers. `+` stays `+` (it means a space only in form bodies).
    public static func decode(_ text: some StringProtocol) -> String? {
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                index = utf8.index(after: index)
                continue
            }
            let high = utf8.index(after: index)
            guard high != utf8.endIndex, let upper = hexValue(utf8[high]) else { return nil }
            let low = utf8.index(after: high)
            guard low != utf8.endIndex, let lower = hexValue(utf8[low]) else { return nil }
            bytes.append(upper << 4 | lower)
            index = utf8.index(after: low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

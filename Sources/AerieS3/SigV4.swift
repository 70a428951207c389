import Crypto
import Foundation

/// AWS Signature Version 4 as S3 uses it: the canonical request, the string to sign, the signing key and the
/// signature, for both sides (the S3 API verifies with it; a client signs with it).
///
/// ```swift
/// let key = SigV4.signingKey(secret: secret, date: "20130524", region: "us-east-1", service: "s3")
/// let signature = SigV4.signature(key: key, stringToSign: toSign)
/// ```
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// `x-amz-content-sha256` when the body is not part of the signature.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// aws-chunked bodies whose chunks are signed one after another.
    public static let streamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    /// aws-chunked bodies with signed chunks and a signed trailer.
    public static let streamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    /// aws-chunked bodies, unsigned, with a trailer (what botocore sends over HTTPS).
    public static let streamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    /// SHA-256 of nothing, in hex.
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The derived key for one day, region and service.
    public static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// Lower-case hex HMAC-SHA256 of `stringToSign`.
    public static func signature(key: SymmetricKey, stringToSign: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256 of the canonical request>`.
    public static func stringToSign(timestamp: String, scope: String, canonicalRequest: String) -> String {
        "\(algorithm)\n\(timestamp)\n\(scope)\n\(sha256Hex(Data(canonicalRequest.utf8)))"
    }

    /// The canonical request.
    ///
    /// - Parameters:
    ///   - path: The path as sent, percent-encoded; it is decoded and encoded again the way S3 does (no
    ///     normalization of `.` or `//`, `/` kept).
    ///   - query: The raw query string (without `?`); `excluding` names a parameter left out (the presigned
    ///     signature itself).
    ///   - headers: Every header of the request; those named in `signedHeaders` are used, their values trimmed and
    ///     inner runs of spaces collapsed, repeated headers joined with `,`.
    public static func canonicalRequest(method: String, path: String, query: String, headers: [(name: String, value: String)],
                                        signedHeaders: [String], payloadHash: String, excluding: String? = nil) -> String {
        let canonicalPath = uriEncode(percentDecode(path), keepSlash: true)
        let canonicalQuery = canonicalQueryString(query, excluding: excluding)
        var lines: [String] = []
        for name in signedHeaders {
            let values = headers.filter { $0.name.lowercased() == name }.map { canonicalHeaderValue($0.value) }
            lines.append("\(name):\(values.joined(separator: ","))")
        }
        return [method, canonicalPath.isEmpty ? "/" : canonicalPath, canonicalQuery, lines.joined(separator: "\n") + "\n",
                signedHeaders.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    /// Parameters sorted by encoded name then value, each name and value encoded the AWS way.
    public static func canonicalQueryString(_ query: String, excluding: String? = nil) -> String {
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (name, value): (Substring, Substring)
            if let equals = part.firstIndex(of: "=") {
                (name, value) = (part[..<equals], part[part.index(after: equals)...])
            } else {
                (name, value) = (part, "")
            }
            let decodedName = percentDecode(String(name))
            if decodedName == excluding { continue }
            pairs.append((uriEncode(decodedName, keepSlash: false), uriEncode(percentDecode(String(value)), keepSlash: false)))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Trims a header value and collapses runs of spaces inside it to one.
    static func canonicalHeaderValue(_ value: String) -> String {
        var result = ""
        var lastWasSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " || character == "\t" {
                if !lastWasSpace { result.append(" ") }
                lastWasSpace = true
            } else {
                result.append(character)
                lastWasSpace = false
            }
        }
        return result
    }

    /// Percent-encodes every byte but `A-Z a-z 0-9 - _ . ~` (and `/` when `keepSlash`), upper-case hex.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                result.append("/")
            default:
                result.append("%")
                result.append(hexDigits[Int(byte >> 4)])
                result.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    /// Decodes `%XX` escapes (a `+` stays a `+`); malformed escapes are kept as they are.
    public static func percentDecode(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
               let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The string a chunk signature signs (aws-chunked with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
    public static func chunkStringToSign(timestamp: String, scope: String, previousSignature: String, chunkSHA256: String) -> String {
        "AWS4-HMAC-SHA256-PAYLOAD\n\(timestamp)\n\(scope)\n\(previousSignature)\n\(emptySHA256)\n\(chunkSHA256)"
    }

    /// The string a trailer signature signs (`…-PAYLOAD-TRAILER`).
    public static func trailerStringToSign(timestamp: String, scope: String, previousSignature: String, trailerSHA256: String) -> String {
        "AWS4-HMAC-SHA256-TRAILER\n\(timestamp)\n\(scope)\n\(previousSignature)\n\(trailerSHA256)"
    }

    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var result = ""
        for byte in bytes {
            result.append(lowerHex[Int(byte >> 4)])
            result.append(lowerHex[Int(byte & 0x0F)])
        }
        return result
    }

    private static let lowerHex: [Character] = Array("0123456789abcdef")

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// Parses `yyyyMMdd'T'HHmmss'Z'`: a real instant only. Out-of-range fields are refused, not rolled over by the
    /// calendar (the parser fuzz target found `12260027T235959Z`, month 0, taken as December 1225).
    public static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15) else { return nil }
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        (components.year, components.month, components.day) = (year, month, day)
        (components.hour, components.minute, components.second) = (hour, minute, second)
        guard let date = Calendar(identifier: .gregorian).date(from: components), timestamp(date) == text else { return nil }
        return date
    }
}

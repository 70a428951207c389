import CZlib
import Crypto
import Foundation

/// The additional checksums S3 takes in `x-amz-checksum-*` headers and aws-chunked trailers.
public enum S3ChecksumAlgorithm: String, Sendable, CaseIterable {
    case crc32, crc32c, sha1, sha256

    /// `x-amz-checksum-crc32`…
    public var headerName: String { "x-amz-checksum-\(rawValue)" }

    /// The algorithm named in a header (`x-amz-checksum-crc32`) or by `x-amz-sdk-checksum-algorithm` (`CRC32`).
    public init?(name: String) {
        let lower = name.lowercased()
        if let algorithm = Self(rawValue: lower.hasPrefix("x-amz-checksum-") ? String(lower.dropFirst(15)) : lower) {
            self = algorithm
        } else {
            return nil
        }
    }

    /// The digest's length in bytes.
    var byteCount: Int {
        switch self {
        case .crc32, .crc32c: 4
        case .sha1: 20
        case .sha256: 32
        }
    }
}

/// A running checksum: feed it the bytes, then read the base64 digest S3 shows.
public struct S3Checksum: Sendable {
    public let algorithm: S3ChecksumAlgorithm
    private var crc: UInt32 = 0
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    public init(_ algorithm: S3ChecksumAlgorithm) {
        self.algorithm = algorithm
    }

    public mutating func update(_ data: Data) {
        switch algorithm {
        case .crc32:
            crc = data.withUnsafeBytes { raw in
                guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return crc }
                return UInt32(CZlib.crc32(uLong(crc), base, uInt(raw.count)))
            }
        case .crc32c: crc = CRC32C.update(crc, data)
        case .sha1: sha1.update(data: data)
        case .sha256: sha256.update(data: data)
        }
    }

    /// The digest's bytes (big-endian for the CRCs).
    public func finalizeBytes() -> [UInt8] {
        switch algorithm {
        case .crc32, .crc32c: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        case .sha1: Array(sha1.finalize())
        case .sha256: Array(sha256.finalize())
        }
    }

    /// The digest in base64, as S3's headers carry it.
    public func finalize() -> String { Data(finalizeBytes()).base64EncodedString() }

    /// Whether `value` is a well-formed base64 digest of this algorithm.
    public static func isWellFormed(_ value: String, _ algorithm: S3ChecksumAlgorithm) -> Bool {
        Data(base64Encoded: value)?.count == algorithm.byteCount
    }
}

/// CRC-32C (Castagnoli), table-driven.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1 }
        return value
    }

    static func update(_ crc: UInt32, _ data: Data) -> UInt32 {
        var value = ~crc
        data.withUnsafeBytes { raw in
            for byte in raw.bindMemory(to: UInt8.self) {
                value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8)
            }
        }
        return ~value
    }
}

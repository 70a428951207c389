import Foundation

/// Random (version 4) UUIDs in lower case, drawn from the system generator.
///
/// Foundation's `UUID()` opens, reads and closes `/dev/urandom` on every call on Linux; queue sends and receives
/// make one per message, so that showed in their profiles. This draws the same 122 random bits with the standard
/// library's generator (`getrandom`, no file).
public enum RandomUUID {
    public static func string() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0xF000) | 0x4000                       // version 4
        low = (low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000  // RFC 4122 variant
        let bytes = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}

import Foundation

/// Record ids that sort by creation time: 12 hex digits of milliseconds since 1970, then 10 random hex digits.
/// As a table's sort key they make a partition read newest first with `descending`, and a time range a key range
/// (``lowerBound(_:)`` … ``upperBound(_:)``).
public enum TimeOrderedID {
    /// A fresh id for something created at `time`.
    public static func make(_ time: Date) -> String {
        String(format: "%012llx%010llx", milliseconds(time), UInt64.random(in: 0..<(1 << 40)))
    }

    /// The smallest id of anything created at or after `time` (to the millisecond).
    public static func lowerBound(_ time: Date) -> String {
        String(format: "%012llx", milliseconds(time)) + "0000000000"
    }

    /// The largest id of anything created at or before `time` (to the millisecond).
    public static func upperBound(_ time: Date) -> String {
        String(format: "%012llx", milliseconds(time)) + "ffffffffff"
    }

    static func milliseconds(_ time: Date) -> UInt64 {
        UInt64(max(0, time.timeIntervalSince1970 * 1000))
    }
}

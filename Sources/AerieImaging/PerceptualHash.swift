import Foundation

/// A 64-bit perceptual hash (the DCT "pHash"): the image is reduced to 32 × 32 grey levels, transformed with a 2-D
/// DCT, and each of the 8 × 8 lowest frequencies (without the constant term) gives one bit, set when it is above
/// their median. A re-encoded, resized or slightly recoloured copy keeps nearly all its bits; different photos differ
/// in about half. Near-duplicates are hashes within ``nearDuplicateDistance`` bits.
public struct PerceptualHash: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt64

    /// Hashes at most this many bits apart are treated as the same picture.
    public static let nearDuplicateDistance = 8

    public init(value: UInt64) {
        self.value = value
    }

    public init?(hex: String) {
        guard let value = UInt64(hex, radix: 16) else { return nil }
        self.value = value
    }

    public init(image: RGBImage) {
        let small = image.resized(width: 32, height: 32)
        var grey = [Double](repeating: 0, count: 32 * 32)
        for index in 0..<(32 * 32) {
            let r = Double(small.pixels[index * 3]), g = Double(small.pixels[index * 3 + 1]), b = Double(small.pixels[index * 3 + 2])
            grey[index] = 0.299 * r + 0.587 * g + 0.114 * b
        }
        let coefficients = Self.lowFrequencies(grey)
        let ac = Array(coefficients.dropFirst())
        let median = ac.sorted()[ac.count / 2]
        var bits: UInt64 = 0
        for (index, coefficient) in coefficients.enumerated() where index > 0 && coefficient > median {
            bits |= 1 << UInt64(index)
        }
        value = bits
    }

    /// The number of differing bits.
    public func distance(to other: PerceptualHash) -> Int {
        (value ^ other.value).nonzeroBitCount
    }

    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public var description: String { hex }

    /// The top-left 8 × 8 coefficients of the 32 × 32 DCT-II, row-major.
    static func lowFrequencies(_ grey: [Double]) -> [Double] {
        let n = 32
        let basis: [[Double]] = (0..<8).map { u in
            (0..<n).map { x in cos(Double((2 * x + 1) * u) * Double.pi / Double(2 * n)) }
        }
        // Rows first (8 frequencies per row), then columns.
        var rows = [Double](repeating: 0, count: n * 8)
        for y in 0..<n {
            for u in 0..<8 {
                var sum = 0.0
                for x in 0..<n { sum += grey[y * n + x] * basis[u][x] }
                rows[y * 8 + u] = sum
            }
        }
        var out = [Double](repeating: 0, count: 64)
        for v in 0..<8 {
            for u in 0..<8 {
                var sum = 0.0
                for y in 0..<n { sum += rows[y * 8 + u] * basis[v][y] }
                out[v * 8 + u] = sum
            }
        }
        return out
    }
}

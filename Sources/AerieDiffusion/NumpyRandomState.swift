import Foundation

/// numpy's legacy `np.random.RandomState(seed)`, bit for bit: MT19937 seeded with `init_genrand`,
/// `random_sample` as a 53-bit double from two 32-bit draws, and `randn` by the polar Box–Muller method
/// that caches the second value of each pair (numpy's `legacy_gauss`).
public struct NumpyRandomState: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624
    private var cachedGauss: Double?

    public init(seed: UInt32) {
        state[0] = seed
        for index in 1..<624 {
            let previous = state[index - 1]
            state[index] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(index)
        }
    }

    private mutating func twist() {
        for index in 0..<624 {
            let y = (state[index] & 0x8000_0000) | (state[(index + 1) % 624] & 0x7FFF_FFFF)
            var next = state[(index + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_B0DF }
            state[index] = next
        }
        position = 0
    }

    /// The next 32-bit output (`genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if position >= 624 { twist() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `random_sample()`: uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5)
        let b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()` of the legacy generator (`randn` draws these one by one).
    public mutating func nextGaussian() -> Double {
        if let cached = cachedGauss {
            cachedGauss = nil
            return cached
        }
        var x1 = 0.0
        var x2 = 0.0
        var r2 = 0.0
        repeat {
            x1 = 2.0 * nextDouble() - 1.0
            x2 = 2.0 * nextDouble() - 1.0
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1.0 || r2 == 0.0
        let f = (-2.0 * log(r2) / r2).squareRoot()
        cachedGauss = f * x1
        return f * x2
    }

    /// `randn(count)`.
    public mutating func randn(_ count: Int) -> [Double] {
        (0..<count).map { _ in nextGaussian() }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gaussian naive Bayes: per-class feature means and variances, with scikit-learn's variance
/// smoothing (a fraction of the largest feature variance added to every variance).
public struct GaussianNaiveBayes: Sendable, Equatable {
    /// `classes × features`, row-major.
    public var means: [Double]
    public var variances: [Double]
    public var logPriors: [Double]
    public var classes: Int
    public var features: Int

    public static func fit(_ x: Matrix, labels: [Int], classes k: Int, varSmoothing: Double = 1e-9) -> GaussianNaiveBayes {
        let d = x.cols
        var means = [Double](repeating: 0, count: k * d)
        var vars = [Double](repeating: 0, count: k * d)
        var counts = [Double](repeating: 0, count: k)
        for i in 0..<x.rows {
            let c = labels[i]
            counts[c] += 1
            for j in 0..<d { means[c * d + j] += x[i, j] }
        }
        for c in 0..<k where counts[c] > 0 {
            for j in 0..<d { means[c * d + j] /= counts[c] }
        }
        for i in 0..<x.rows {
            let c = labels[i]
            for j in 0..<d {
                let e = x[i, j] - means[c * d + j]
                vars[c * d + j] += e * e
            }
        }
        // Largest variance over all rows, per feature.
        var maxVar = 0.0
        let n = Double(max(1, x.rows))
        for j in 0..<d {
            var m = 0.0
            for i in 0..<x.rows { m += x[i, j] }
            m /= n
            var v = 0.0
            for i in 0..<x.rows { v += (x[i, j] - m) * (x[i, j] - m) }
            maxVar = max(maxVar, v / n)
        }
        let epsilon = max(varSmoothing * maxVar, 1e-300)
        for c in 0..<k {
            for j in 0..<d { vars[c * d + j] = (counts[c] > 0 ? vars[c * d + j] / counts[c] : 0) + epsilon }
        }
        let logPriors = counts.map { $0 > 0 ? log($0 / n) : -Double.infinity }
        return GaussianNaiveBayes(means: means, variances: vars, logPriors: logPriors, classes: k, features: d)
    }

    /// Class probabilities, row-major `rows × classes`.
    public func predictValues(_ x: Matrix) -> [Double] {
        let k = classes
        let d = features
        var out = [Double](repeating: 0, count: x.rows * k)
        var logNorm = [Double](repeating: 0, count: k)
        for c in 0..<k {
            var s = 0.0
            for j in 0..<d { s += log(2 * Double.pi * variances[c * d + j]) }
            logNorm[c] = -0.5 * s
        }
        x.values.withUnsafeBufferPointer { xv in
            means.withUnsafeBufferPointer { mv in
                variances.withUnsafeBufferPointer { vv in
                    out.withUnsafeMutableBufferPointer { ov in
                        for i in 0..<x.rows {
                            let row = i &* d
                            let o = i &* k
                            var best = -Double.infinity
                            for c in 0..<k {
                                var s = logPriors[c] + logNorm[c]
                                let cd = c &* d
                                for j in 0..<d {
                                    let e = xv[row &+ j] - mv[cd &+ j]
                                    s -= 0.5 * e * e / vv[cd &+ j]
                                }
                                ov[o &+ c] = s
                                best = max(best, s)
                            }
                            var total = 0.0
                            for c in 0..<k {
                                let e = exp(ov[o &+ c] - best)
                                ov[o &+ c] = e
                                total += e
                            }
                            for c in 0..<k { ov[o &+ c] /= total }
                        }
                    }
                }
            }
        }
        return out
    }
}

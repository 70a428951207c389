import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Multinomial logistic regression with L2 regularisation, fitted by L-BFGS.
///
/// Minimises `C · Σ cross-entropy + ½‖W‖²` (the bias is not penalised), as scikit-learn does.
public struct LogisticRegression: Sendable, Equatable {
    /// `classes × features`, row-major.
    public var weights: [Double]
    public var bias: [Double]
    public var classes: Int
    public var features: Int

    public static func fit(
        _ x: Matrix, labels: [Int], classes k: Int, c: Double = 1, maxIterations: Int = 100, tolerance: Double = 1e-4
    ) -> LogisticRegression {
        let n = x.rows
        let d = x.cols
        let invN = 1 / Double(max(1, n))
        let lambda = 1 / (c * Double(max(1, n)))  // objective divided by C·n
        let start = [Double](repeating: 0, count: k * d + k)
        var scores = [Double](repeating: 0, count: n * k)
        let result = LBFGS.minimize(start: start, maxIterations: maxIterations, tolerance: tolerance) { theta in
            let model = LogisticRegression(
                weights: Array(theta[0..<(k * d)]), bias: Array(theta[(k * d)...]), classes: k, features: d)
            scores = model.predictValues(x)
            var loss = 0.0
            for i in 0..<n {
                loss -= log(max(scores[i * k + labels[i]], 1e-300))
                scores[i * k + labels[i]] -= 1  // now P - Y
            }
            loss *= invN
            var grad = [Double](repeating: 0, count: k * d + k)
            // gradW = (P - Y)ᵀ X / n, gradB = Σ (P - Y) / n, in one pass over the rows. Plain
            // loops: the product is thin, and BLAS threads stall on a busy machine.
            scores.withUnsafeBufferPointer { p in
                x.values.withUnsafeBufferPointer { xv in
                    grad.withUnsafeMutableBufferPointer { gv in
                        for i in 0..<n {
                            let row = i &* d
                            for c in 0..<k {
                                let r = p[i &* k &+ c]
                                let g = c &* d
                                for j in 0..<d { gv[g &+ j] += r * xv[row &+ j] }
                                gv[k &* d &+ c] += r
                            }
                        }
                        for w in 0..<(k * d + k) { gv[w] *= invN }
                    }
                }
            }
            for w in 0..<(k * d) {
                loss += 0.5 * lambda * theta[w] * theta[w]
                grad[w] += lambda * theta[w]
            }
            return (loss, grad)
        }
        let theta = result.x
        return LogisticRegression(weights: Array(theta[0..<(k * d)]), bias: Array(theta[(k * d)...]), classes: k, features: d)
    }

    /// Softmax probabilities, row-major `rows × classes`. Plain loops rather than BLAS: for
    /// prediction the product is small, and BLAS threads cost more than they save.
    /// Large batches run in two halves on two threads unless `threads` is 1.
    public func predictValues(_ x: Matrix, threads: Int? = nil) -> [Double] {
        let n = x.rows
        var out = [Double](repeating: 0, count: n * classes)
        x.values.withUnsafeBufferPointer { xv in
            out.withUnsafeMutableBufferPointer { ov in
                let shared = RowBuffers(x: xv, out: ov)
                // Large batches in two halves on two threads.
                if n >= 8192 && ThreadCount.resolve(threads) >= 2 {
                    DispatchQueue.concurrentPerform(iterations: 2) { half in
                        scores(shared, rows: half == 0 ? 0..<(n / 2) : (n / 2)..<n)
                    }
                } else {
                    scores(shared, rows: 0..<n)
                }
            }
        }
        return out
    }

    /// Input rows and the probabilities written for them, shared by tasks on disjoint rows.
    private struct RowBuffers: @unchecked Sendable {
        let x: UnsafeBufferPointer<Double>
        let out: UnsafeMutableBufferPointer<Double>
    }

    private func scores(_ b: RowBuffers, rows: Range<Int>) {
        let k = classes
        let d = features
        let xv = b.x
        let ov = b.out
        weights.withUnsafeBufferPointer { wv in
            bias.withUnsafeBufferPointer { bv in
                for i in rows {
                    let row = i &* d
                    let o = i &* k
                    var m = -Double.infinity
                    for c in 0..<k {
                        var s = bv[c]
                        let w = c &* d
                        for j in 0..<d { s += xv[row &+ j] * wv[w &+ j] }
                        ov[o &+ c] = s
                        m = max(m, s)
                    }
                    var total = 0.0
                    for c in 0..<k {
                        let e = exp(ov[o &+ c] - m)
                        ov[o &+ c] = e
                        total += e
                    }
                    for c in 0..<k { ov[o &+ c] /= total }
                }
            }
        }
    }
}

import COpenBLAS

/// k-nearest neighbours by Euclidean distance (brute force on BLAS), uniform weights.
/// Classification returns the neighbours' class fractions; regression their mean target.
public struct NearestNeighbors: Sendable, Equatable {
    public var points: Matrix
    /// Class index (classification) or value (regression) per point.
    public var targets: [Double]
    /// Number of classes; 0 for regression.
    public var classes: Int
    public var k: Int

    public init(points: Matrix, targets: [Double], classes: Int, k: Int) {
        self.points = points
        self.targets = targets
        self.classes = classes
        self.k = k
    }

    public func predictValues(_ x: Matrix) -> [Double] {
        let outputs = max(1, classes)
        let n = points.rows
        let d = points.cols
        let kk = min(k, n)
        var out = [Double](repeating: 0, count: x.rows * outputs)
        guard kk > 0 else { return out }
        var pointNorms = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for j in 0..<d { s += points[i, j] * points[i, j] }
            pointNorms[i] = s
        }
        let batch = 256
        var dots = [Double](repeating: 0, count: batch * n)
        var start = 0
        while start < x.rows {
            let m = min(batch, x.rows - start)
            x.values.withUnsafeBufferPointer { xv in
                points.values.withUnsafeBufferPointer { pv in
                    dots.withUnsafeMutableBufferPointer { dv in
                        cblas_dgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(d), 1,
                            xv.baseAddress.map { $0 + start * d }, Int32(d), pv.baseAddress, Int32(d), 0,
                            dv.baseAddress, Int32(n))
                    }
                }
            }
            var bestDist = [Double](repeating: .infinity, count: kk)
            var bestIndex = [Int](repeating: 0, count: kk)
            for r in 0..<m {
                for t in 0..<kk {
                    bestDist[t] = .infinity
                    bestIndex[t] = 0
                }
                // ‖x − p‖² up to the constant ‖x‖²: ‖p‖² − 2 x·p
                for i in 0..<n {
                    let dist = pointNorms[i] - 2 * dots[r * n + i]
                    if dist < bestDist[kk - 1] {
                        var t = kk - 1
                        while t > 0 && bestDist[t - 1] > dist {
                            bestDist[t] = bestDist[t - 1]
                            bestIndex[t] = bestIndex[t - 1]
                            t -= 1
                        }
                        bestDist[t] = dist
                        bestIndex[t] = i
                    }
                }
                let row = start + r
                if classes > 0 {
                    for t in 0..<kk { out[row * outputs + Int(targets[bestIndex[t]])] += 1 / Double(kk) }
                } else {
                    var s = 0.0
                    for t in 0..<kk { s += targets[bestIndex[t]] }
                    out[row] = s / Double(kk)
                }
            }
            start += m
        }
        return out
    }
}

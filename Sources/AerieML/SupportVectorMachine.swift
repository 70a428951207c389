import COpenBLAS
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernel of a support vector machine.
public enum SVMKernel: String, Sendable, Codable, CaseIterable {
    case linear
    /// exp(−γ‖x − y‖²)
    case rbf
}

/// A C-support vector classifier (LIBSVM's SMO with second-order working-set selection),
/// one-vs-one for more than two classes, like scikit-learn's `SVC`.
///
/// Probabilities are not Platt-calibrated: two classes use a sigmoid of the decision value;
/// more use the one-vs-one vote fractions.
public struct SupportVectorMachine: Sendable, Equatable {
    public var kernel: SVMKernel
    public var gamma: Double
    public var classes: Int
    /// Support vectors, one per row (the union over all class pairs).
    public var supportVectors: Matrix
    /// Per pair (a < b, in order): start offset into `pairVectors` / `pairCoefficients`.
    public var pairOffsets: [Int32]
    public var pairVectors: [Int32]
    /// α·y per support vector of the pair, +1 meaning the lower class index.
    public var pairCoefficients: [Double]
    public var pairRho: [Double]

    public static func fit(
        _ x: Matrix, labels: [Int], classes k: Int, kernel: SVMKernel, c: Double = 1, gamma: Double,
        tolerance: Double = 1e-3, maxIterations: Int = 10_000_000, threads: Int? = nil
    ) -> SupportVectorMachine {
        var byClass = [[Int]](repeating: [], count: k)
        for (i, y) in labels.enumerated() { byClass[y].append(i) }
        var pairs: [(Int, Int)] = []
        for a in 0..<k {
            for b in (a + 1)..<max(a + 1, k) { pairs.append((a, b)) }
        }
        let solutions = Mutex<[[(Int, Double)]]>([[(Int, Double)]](repeating: [], count: pairs.count))
        let rhos = Mutex<[Double]>([Double](repeating: 0, count: pairs.count))
        let pairList = pairs
        let classRows = byClass
        ThreadCount.perform(iterations: pairs.count, threads: ThreadCount.resolve(threads)) { p in
            let (a, b) = pairList[p]
            let rows = classRows[a] + classRows[b]
            let y = classRows[a].map { _ in 1.0 } + classRows[b].map { _ in -1.0 }
            let sub = x.selecting(rows: rows)
            var solver = SMOSolver(x: sub, y: y, c: c, kernel: kernel, gamma: gamma)
            let (alpha, rho) = solver.solve(tolerance: tolerance, maxIterations: maxIterations)
            var sv: [(Int, Double)] = []
            for t in 0..<rows.count where alpha[t] > 0 { sv.append((rows[t], alpha[t] * y[t])) }
            solutions.withLock { $0[p] = sv }
            rhos.withLock { $0[p] = rho }
        }
        let solved = solutions.withLock { $0 }
        // Union of support vectors, renumbered.
        var svIndex: [Int: Int32] = [:]
        var svRows: [Int] = []
        var offsets: [Int32] = []
        var vectors: [Int32] = []
        var coefs: [Double] = []
        for sv in solved {
            offsets.append(Int32(vectors.count))
            for (row, coef) in sv {
                let id: Int32
                if let known = svIndex[row] {
                    id = known
                } else {
                    id = Int32(svRows.count)
                    svIndex[row] = id
                    svRows.append(row)
                }
                vectors.append(id)
                coefs.append(coef)
            }
        }
        offsets.append(Int32(vectors.count))
        return SupportVectorMachine(
            kernel: kernel, gamma: gamma, classes: k, supportVectors: x.selecting(rows: svRows),
            pairOffsets: offsets, pairVectors: vectors, pairCoefficients: coefs, pairRho: rhos.withLock { $0 })
    }

    /// Kernel values between each row of `x` and each support vector, row-major.
    func kernelValues(_ x: Matrix) -> [Double] {
        let n = supportVectors.rows
        let d = supportVectors.cols
        var out = [Double](repeating: 0, count: x.rows * n)
        guard n > 0, x.rows > 0 else { return out }
        x.values.withUnsafeBufferPointer { xv in
            supportVectors.values.withUnsafeBufferPointer { sv in
                out.withUnsafeMutableBufferPointer { ov in
                    cblas_dgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(x.rows), Int32(n), Int32(d), 1,
                        xv.baseAddress, Int32(d), sv.baseAddress, Int32(d), 0, ov.baseAddress, Int32(n))
                }
            }
        }
        if kernel == .rbf {
            let svNorms = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + supportVectors[i, $1] * supportVectors[i, $1] } }
            for r in 0..<x.rows {
                var xn = 0.0
                for j in 0..<d { xn += x[r, j] * x[r, j] }
                for i in 0..<n { out[r * n + i] = exp(-gamma * max(0, xn + svNorms[i] - 2 * out[r * n + i])) }
            }
        }
        return out
    }

    /// Decision value per row and class pair, row-major.
    public func decisionValues(_ x: Matrix) -> [Double] {
        let kv = kernelValues(x)
        let n = supportVectors.rows
        let pairCount = pairRho.count
        var out = [Double](repeating: 0, count: x.rows * pairCount)
        for r in 0..<x.rows {
            for p in 0..<pairCount {
                var s = -pairRho[p]
                for t in Int(pairOffsets[p])..<Int(pairOffsets[p + 1]) {
                    s += pairCoefficients[t] * kv[r * n + Int(pairVectors[t])]
                }
                out[r * pairCount + p] = s
            }
        }
        return out
    }

    /// Class probabilities (see the type's note), row-major `rows × classes`.
    public func predictValues(_ x: Matrix) -> [Double] {
        let dv = decisionValues(x)
        let k = classes
        let pairCount = pairRho.count
        var out = [Double](repeating: 0, count: x.rows * k)
        for r in 0..<x.rows {
            if k == 2 {
                let p = 1 / (1 + exp(-dv[r]))
                out[r * 2] = p
                out[r * 2 + 1] = 1 - p
                continue
            }
            var p = 0
            for a in 0..<k {
                for b in (a + 1)..<k {
                    // Ties between equal vote counts are broken by a tiny share of the margin.
                    let v = dv[r * pairCount + p]
                    if v > 0 { out[r * k + a] += 1 } else { out[r * k + b] += 1 }
                    let nudge = 1e-6 * tanh(v)
                    out[r * k + a] += nudge
                    out[r * k + b] -= nudge
                    p += 1
                }
            }
            var total = 0.0
            for c in 0..<k {
                out[r * k + c] = max(0, out[r * k + c])
                total += out[r * k + c]
            }
            for c in 0..<k { out[r * k + c] /= max(total, 1e-300) }
        }
        return out
    }
}

/// The SMO solver for one binary problem.
struct SMOSolver {
    let x: Matrix
    let y: [Double]
    let c: Double
    let kernel: SVMKernel
    let gamma: Double
    let norms: [Double]
    var cache: [Int: [Double]] = [:]
    var cacheOrder: [Int] = []
    let cacheLimit: Int

    init(x: Matrix, y: [Double], c: Double, kernel: SVMKernel, gamma: Double) {
        self.x = x
        self.y = y
        self.c = c
        self.kernel = kernel
        self.gamma = gamma
        norms = (0..<x.rows).map { i in (0..<x.cols).reduce(0.0) { $0 + x[i, $1] * x[i, $1] } }
        cacheLimit = max(2, (256 << 20) / max(1, x.rows * 8))
    }

    /// Kernel row `i` against every training row.
    mutating func row(_ i: Int) -> [Double] {
        if let hit = cache[i] { return hit }
        let n = x.rows
        let d = x.cols
        var out = [Double](repeating: 0, count: n)
        x.values.withUnsafeBufferPointer { xv in
            out.withUnsafeMutableBufferPointer { ov in
                cblas_dgemv(
                    CblasRowMajor, CblasNoTrans, Int32(n), Int32(d), 1, xv.baseAddress, Int32(d),
                    xv.baseAddress.map { $0 + i * d }, 1, 0, ov.baseAddress, 1)
            }
        }
        if kernel == .rbf {
            for t in 0..<n { out[t] = exp(-gamma * max(0, norms[i] + norms[t] - 2 * out[t])) }
        }
        if cache.count >= cacheLimit, !cacheOrder.isEmpty {
            cache[cacheOrder.removeFirst()] = nil
        }
        cache[i] = out
        cacheOrder.append(i)
        return out
    }

    func diagonal(_ i: Int) -> Double {
        kernel == .rbf ? 1 : norms[i]
    }

    mutating func solve(tolerance: Double, maxIterations: Int) -> (alpha: [Double], rho: Double) {
        let n = x.rows
        var alpha = [Double](repeating: 0, count: n)
        var g = [Double](repeating: -1, count: n)
        let tau = 1e-12
        var iteration = 0
        while iteration < maxIterations {
            iteration += 1
            // Select i: maximal violating −y G among the "up" set.
            var gMax = -Double.infinity
            var i = -1
            for t in 0..<n {
                let up = y[t] > 0 ? alpha[t] < c : alpha[t] > 0
                if up, -y[t] * g[t] >= gMax {
                    gMax = -y[t] * g[t]
                    i = t
                }
            }
            guard i >= 0 else { break }
            let ki = row(i)
            var gMax2 = -Double.infinity
            var j = -1
            var bestObjective = Double.infinity
            for t in 0..<n {
                let low = y[t] > 0 ? alpha[t] > 0 : alpha[t] < c
                guard low else { continue }
                gMax2 = max(gMax2, y[t] * g[t])
                let gradDiff = gMax + y[t] * g[t]
                if gradDiff > 0 {
                    var a = diagonal(i) + diagonal(t) - 2 * ki[t]
                    if a <= 0 { a = tau }
                    let objective = -(gradDiff * gradDiff) / a
                    if objective <= bestObjective {
                        bestObjective = objective
                        j = t
                    }
                }
            }
            if gMax + gMax2 < tolerance || j < 0 { break }
            let kj = row(j)
            let oldI = alpha[i]
            let oldJ = alpha[j]
            let qij = y[i] * y[j] * ki[j]
            if y[i] != y[j] {
                var quad = diagonal(i) + diagonal(j) + 2 * qij
                if quad <= 0 { quad = tau }
                let delta = (-g[i] - g[j]) / quad
                let diff = alpha[i] - alpha[j]
                alpha[i] += delta
                alpha[j] += delta
                if diff > 0 {
                    if alpha[j] < 0 { alpha[j] = 0; alpha[i] = diff }
                } else {
                    if alpha[i] < 0 { alpha[i] = 0; alpha[j] = -diff }
                }
                if diff > 0 {
                    if alpha[i] > c { alpha[i] = c; alpha[j] = c - diff }
                } else {
                    if alpha[j] > c { alpha[j] = c; alpha[i] = c + diff }
                }
            } else {
                var quad = diagonal(i) + diagonal(j) - 2 * qij
                if quad <= 0 { quad = tau }
                let delta = (g[i] - g[j]) / quad
                let sum = alpha[i] + alpha[j]
                alpha[i] -= delta
                alpha[j] += delta
                if sum > c {
                    if alpha[i] > c { alpha[i] = c; alpha[j] = sum - c }
                } else {
                    if alpha[j] < 0 { alpha[j] = 0; alpha[i] = sum }
                }
                if sum > c {
                    if alpha[j] > c { alpha[j] = c; alpha[i] = sum - c }
                } else {
                    if alpha[i] < 0 { alpha[i] = 0; alpha[j] = sum }
                }
            }
            let di = alpha[i] - oldI
            let dj = alpha[j] - oldJ
            for t in 0..<n {
                g[t] += y[t] * (y[i] * ki[t] * di + y[j] * kj[t] * dj)
            }
        }
        // ρ: mean of y G over free vectors, else the middle of the feasible interval.
        var ub = Double.infinity
        var lb = -Double.infinity
        var freeSum = 0.0
        var freeCount = 0
        for t in 0..<n {
            let yg = y[t] * g[t]
            if alpha[t] >= c {
                if y[t] < 0 { ub = min(ub, yg) } else { lb = max(lb, yg) }
            } else if alpha[t] <= 0 {
                if y[t] > 0 { ub = min(ub, yg) } else { lb = max(lb, yg) }
            } else {
                freeSum += yg
                freeCount += 1
            }
        }
        let rho = freeCount > 0 ? freeSum / Double(freeCount) : (ub + lb) / 2
        return (alpha, rho)
    }
}

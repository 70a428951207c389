#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The impurity a tree minimises when it splits a node.
public enum SplitCriterion: String, Sendable, Codable, CaseIterable {
    case gini
    case entropy
    /// Mean squared error (regression).
    case mse
}

/// Settings for growing one tree.
public struct TreeParameters: Sendable, Codable, Equatable {
    public var criterion: SplitCriterion
    /// Deepest level grown; `nil` grows until leaves are pure or too small.
    public var maxDepth: Int?
    public var minSamplesSplit: Int
    public var minSamplesLeaf: Int
    /// Features tried per split; `nil` tries all.
    public var maxFeatures: Int?

    public init(
        criterion: SplitCriterion, maxDepth: Int? = nil, minSamplesSplit: Int = 2, minSamplesLeaf: Int = 1,
        maxFeatures: Int? = nil
    ) {
        self.criterion = criterion
        self.maxDepth = maxDepth
        self.minSamplesSplit = minSamplesSplit
        self.minSamplesLeaf = minSamplesLeaf
        self.maxFeatures = maxFeatures
    }
}

/// Training data laid out for tree growing: features column-major, targets as class indices
/// (classification) or values (regression).
public struct TreeData: Sendable {
    public let rows: Int
    public let cols: Int
    /// `columns[j * rows + i]` is feature `j` of row `i`.
    public let columns: [Double]
    /// Number of classes; 0 for regression.
    public let classCount: Int
    public let targets: [Double]

    public init(_ x: Matrix, targets: [Double], classCount: Int) {
        rows = x.rows
        cols = x.cols
        var c = [Double](repeating: 0, count: x.rows * x.cols)
        for i in 0..<x.rows {
            for j in 0..<x.cols { c[j * x.rows + i] = x.values[i * x.cols + j] }
        }
        columns = c
        self.classCount = classCount
        self.targets = targets
    }
}

/// A CART decision tree stored as flat arrays in preorder (a node's left child follows it).
public struct DecisionTree: Sendable, Equatable {
    /// Split feature per node; -1 marks a leaf.
    public var feature: [Int32]
    /// Split threshold per node: `x <= threshold` goes left.
    public var threshold: [Double]
    /// Right child per internal node; leaf index per leaf.
    public var right: [Int32]
    /// `outputs` values per leaf: class probabilities, or the mean target.
    public var leafValues: [Double]
    public var outputs: Int

    public var nodeCount: Int { feature.count }

    /// The leaf's values for one row of features.
    @inline(__always)
    public func leafOffset(_ x: UnsafeBufferPointer<Double>) -> Int {
        var node = 0
        while true {
            let f = Int(feature[node])
            if f < 0 { return Int(right[node]) * outputs }
            node = x[f] <= threshold[node] ? node + 1 : Int(right[node])
        }
    }

    /// Calls `body` with the node and leaf arrays pinned in memory (for fast batch traversal).
    @inline(__always)
    func withNodes<R>(
        _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Double>) -> R
    ) -> R {
        feature.withUnsafeBufferPointer { f in
            threshold.withUnsafeBufferPointer { t in
                right.withUnsafeBufferPointer { r in
                    leafValues.withUnsafeBufferPointer { l in body(f, t, r, l) }
                }
            }
        }
    }

    /// Grows a tree on the rows `sample` (repeats allowed: a bootstrap sample).
    public static func fit(
        _ data: TreeData, sample: [Int]? = nil, parameters: TreeParameters, seed: UInt64
    ) -> DecisionTree {
        var builder = TreeBuilder(data: data, parameters: parameters, seed: seed)
        var indices = (sample ?? Array(0..<data.rows)).map { Int32($0) }
        builder.grow(&indices)
        return DecisionTree(
            feature: builder.feature, threshold: builder.threshold, right: builder.right,
            leafValues: builder.leafValues, outputs: max(1, data.classCount))
    }

    /// Class probabilities (classification) or a single value (regression) per row, row-major.
    public func predictValues(_ x: Matrix) -> [Double] {
        var out = [Double](repeating: 0, count: x.rows * outputs)
        x.values.withUnsafeBufferPointer { xv in
            for i in 0..<x.rows {
                let off = leafOffset(UnsafeBufferPointer(rebasing: xv[(i * x.cols)..<((i + 1) * x.cols)]))
                for k in 0..<outputs { out[i * outputs + k] = leafValues[off + k] }
            }
        }
        return out
    }
}

/// Grows one tree depth first.
struct TreeBuilder {
    let data: TreeData
    let parameters: TreeParameters
    var rng: SeededGenerator
    var feature: [Int32] = []
    var threshold: [Double] = []
    var right: [Int32] = []
    var leafValues: [Double] = []
    var leafCount: Int32 = 0
    // Scratch buffers reused across nodes.
    var pairs: [(Double, Int32)] = []
    var countsLeft: [Double]
    var countsTotal: [Double]
    var featureOrder: [Int]

    init(data: TreeData, parameters: TreeParameters, seed: UInt64) {
        self.data = data
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
        countsLeft = [Double](repeating: 0, count: max(1, data.classCount))
        countsTotal = countsLeft
        featureOrder = Array(0..<data.cols)
    }

    mutating func grow(_ indices: inout [Int32]) {
        indices.withUnsafeMutableBufferPointer { buffer in
            node(buffer, depth: 0)
        }
    }

    struct Split {
        var feature = -1
        var threshold = 0.0
        var score = -Double.infinity
    }

    private mutating func makeLeaf(_ idx: UnsafeMutableBufferPointer<Int32>) {
        feature.append(-1)
        threshold.append(0)
        right.append(leafCount)
        leafCount += 1
        let n = Double(idx.count)
        if data.classCount > 0 {
            var counts = [Double](repeating: 0, count: data.classCount)
            for i in idx { counts[Int(data.targets[Int(i)])] += 1 }
            leafValues.append(contentsOf: counts.map { $0 / n })
        } else {
            var sum = 0.0
            for i in idx { sum += data.targets[Int(i)] }
            leafValues.append(sum / n)
        }
    }

    private mutating func node(_ idx: UnsafeMutableBufferPointer<Int32>, depth: Int) {
        let n = idx.count
        let p = parameters
        guard n > 0 else {  // only for an empty training set: a leaf predicting zeros
            feature.append(-1)
            threshold.append(0)
            right.append(leafCount)
            leafCount += 1
            leafValues.append(contentsOf: [Double](repeating: 0, count: max(1, data.classCount)))
            return
        }
        // Parent statistics.
        var parentScore: Double
        var pure = true
        let firstTarget = data.targets[Int(idx[0])]
        if data.classCount > 0 {
            for k in 0..<countsTotal.count { countsTotal[k] = 0 }
            for i in idx {
                let t = data.targets[Int(i)]
                countsTotal[Int(t)] += 1
                if t != firstTarget { pure = false }
            }
            parentScore = score(countsTotal, n: Double(n))
        } else {
            var sum = 0.0
            for i in idx {
                let t = data.targets[Int(i)]
                sum += t
                if t != firstTarget { pure = false }
            }
            parentScore = sum * sum / Double(n)
        }
        if pure || n < p.minSamplesSplit || n < 2 * p.minSamplesLeaf || depth >= (p.maxDepth ?? Int.max) {
            makeLeaf(idx)
            return
        }
        let best = findSplit(idx)
        guard best.feature >= 0, best.score > parentScore + 1e-12 * max(1, abs(parentScore)) else {
            makeLeaf(idx)
            return
        }
        // Partition: rows with x <= threshold to the front.
        let col = best.feature * data.rows
        var lo = 0
        var hi = n - 1
        data.columns.withUnsafeBufferPointer { xs in
            while lo <= hi {
                if xs[col + Int(idx[lo])] <= best.threshold {
                    lo += 1
                } else {
                    idx.swapAt(lo, hi)
                    hi -= 1
                }
            }
        }
        let me = feature.count
        feature.append(Int32(best.feature))
        threshold.append(best.threshold)
        right.append(0)
        node(UnsafeMutableBufferPointer(rebasing: idx[0..<lo]), depth: depth + 1)
        right[me] = Int32(feature.count)
        node(UnsafeMutableBufferPointer(rebasing: idx[lo..<n]), depth: depth + 1)
    }

    /// Higher is better: the negated weighted child impurity, up to a per-node constant.
    @inline(__always)
    private func score(_ counts: [Double], n: Double) -> Double {
        if parameters.criterion == .entropy {
            var s = 0.0
            for c in counts where c > 0 { s += c * log(c) }
            return s - n * log(n)
        }
        var s = 0.0
        for c in counts { s += c * c }
        return s / n
    }

    private mutating func findSplit(_ idx: UnsafeMutableBufferPointer<Int32>) -> Split {
        let n = idx.count
        let minLeaf = max(1, parameters.minSamplesLeaf)
        let wanted = min(parameters.maxFeatures ?? data.cols, data.cols)
        var best = Split()
        var tried = 0
        var f = 0
        if pairs.count < n { pairs = [(Double, Int32)](repeating: (0, 0), count: n) }
        let classification = data.classCount > 0
        let entropy = parameters.criterion == .entropy
        while f < data.cols && tried < wanted {
            // Draw the next feature at random among those not yet drawn.
            let pick = f + rng.index(below: data.cols - f)
            featureOrder.swapAt(f, pick)
            let j = featureOrder[f]
            f += 1
            let col = j * data.rows
            var constant = true
            data.columns.withUnsafeBufferPointer { xs in
                let first = xs[col + Int(idx[0])]
                for k in 0..<n {
                    let v = xs[col + Int(idx[k])]
                    pairs[k] = (v, idx[k])
                    if v != first { constant = false }
                }
            }
            if constant { continue }
            tried += 1
            pairs.withUnsafeMutableBufferPointer { buf in
                var head = UnsafeMutableBufferPointer(rebasing: buf[0..<n])
                head.sort { $0.0 < $1.0 }
            }
            if classification {
                for k in 0..<countsLeft.count { countsLeft[k] = 0 }
                let total = countsTotal
                if entropy {
                    var sumLeft = 0.0  // Σ cL log cL
                    var sumRight = 0.0
                    for c in total where c > 0 { sumRight += c * log(c) }
                    for k in 0..<(n - 1) {
                        let c = Int(data.targets[Int(pairs[k].1)])
                        let l = countsLeft[c]
                        let r = total[c] - l
                        sumLeft += (l + 1) * log(l + 1) - (l > 0 ? l * log(l) : 0)
                        sumRight += (r > 1 ? (r - 1) * log(r - 1) : 0) - r * log(r)
                        countsLeft[c] = l + 1
                        let nl = k + 1
                        if nl < minLeaf || n - nl < minLeaf || pairs[k].0 == pairs[k + 1].0 { continue }
                        let dl = Double(nl)
                        let dr = Double(n - nl)
                        let s = sumLeft - dl * log(dl) + sumRight - dr * log(dr)
                        if s > best.score { best = Split(feature: j, threshold: midpoint(pairs[k].0, pairs[k + 1].0), score: s) }
                    }
                } else {
                    var sqLeft = 0.0
                    var sqRight = 0.0
                    for c in total { sqRight += c * c }
                    for k in 0..<(n - 1) {
                        let c = Int(data.targets[Int(pairs[k].1)])
                        let l = countsLeft[c]
                        let r = total[c] - l
                        sqLeft += 2 * l + 1
                        sqRight -= 2 * r - 1
                        countsLeft[c] = l + 1
                        let nl = k + 1
                        if nl < minLeaf || n - nl < minLeaf || pairs[k].0 == pairs[k + 1].0 { continue }
                        let s = sqLeft / Double(nl) + sqRight / Double(n - nl)
                        if s > best.score { best = Split(feature: j, threshold: midpoint(pairs[k].0, pairs[k + 1].0), score: s) }
                    }
                }
            } else {
                var total = 0.0
                for k in 0..<n { total += data.targets[Int(pairs[k].1)] }
                var left = 0.0
                for k in 0..<(n - 1) {
                    left += data.targets[Int(pairs[k].1)]
                    let nl = k + 1
                    if nl < minLeaf || n - nl < minLeaf || pairs[k].0 == pairs[k + 1].0 { continue }
                    let r = total - left
                    let s = left * left / Double(nl) + r * r / Double(n - nl)
                    if s > best.score { best = Split(feature: j, threshold: midpoint(pairs[k].0, pairs[k + 1].0), score: s) }
                }
            }
        }
        return best
    }

    @inline(__always)
    private func midpoint(_ a: Double, _ b: Double) -> Double {
        let m = a + (b - a) / 2
        return m < b ? m : a
    }
}

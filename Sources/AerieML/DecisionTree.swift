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

/// A CART decision tree stored as flat arrays in preorder (a node's left child follows it).
public struct DecisionTree: Sendable, Equatable {
    /// Split feature per node; -1 marks a leaf.
    public var feature: [Int32]
    /// Split threshold per node: `x <= threshold` goes left (and so does NaN).
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
            node = x[f] > threshold[node] ? Int(right[node]) : node + 1
        }
    }

    /// Grows a tree on the rows `sample` (repeats allowed: a bootstrap sample; a row drawn `k`
    /// times counts with weight `k`).
    public static func fit(
        _ data: TreeData, sample: [Int]? = nil, parameters: TreeParameters, seed: UInt64
    ) -> DecisionTree {
        var weights = [Double](repeating: sample == nil ? 1 : 0, count: data.rows)
        if let sample {
            for i in sample { weights[i] += 1 }
        }
        return fit(data, weights: weights, parameters: parameters, seed: seed)
    }

    /// Grows a tree on the rows of nonzero `weights` (one per data row). Nodes with fewer than
    /// `exactBelow` rows search exact thresholds over sorted values; larger ones use the bins.
    static func fit(
        _ data: TreeData, weights: [Double], parameters: TreeParameters, seed: UInt64,
        exactBelow: Int = TreeBuilder.defaultExactBelow
    ) -> DecisionTree {
        var builder = TreeBuilder(data: data, weights: weights, parameters: parameters, seed: seed, exactBelow: exactBelow)
        var indices: [Int32] = []
        indices.reserveCapacity(data.rows)
        for i in 0..<data.rows where weights[i] > 0 { indices.append(Int32(i)) }
        builder.grow(&indices)
        return DecisionTree(
            feature: builder.feature, threshold: builder.threshold, right: builder.right,
            leafValues: builder.leafValues, outputs: max(1, data.classCount))
    }

    /// Class probabilities (classification) or a single value (regression) per row, row-major.
    /// Large batches run on `threads` threads (`nil`: all cores).
    public func predictValues(_ x: Matrix, threads: Int? = nil) -> [Double] {
        if x.rows >= PackedForest.minimumBatch {
            return PackedForest([self], outputs: outputs).predict(x, threads: ThreadCount.resolve(threads))
        }
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

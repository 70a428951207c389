import Dispatch
import Synchronization

/// Settings for a random forest.
public struct ForestParameters: Sendable, Codable, Equatable {
    public var treeCount: Int
    public var tree: TreeParameters
    public var bootstrap: Bool
    public var seed: UInt64

    public init(treeCount: Int = 100, tree: TreeParameters, bootstrap: Bool = true, seed: UInt64 = 0) {
        self.treeCount = treeCount
        self.tree = tree
        self.bootstrap = bootstrap
        self.seed = seed
    }
}

/// A random forest: trees grown in parallel on bootstrap samples, each split drawing a random
/// subset of features. Predictions average the trees' leaf values.
public struct RandomForest: Sendable, Equatable {
    public var trees: [DecisionTree]
    public var outputs: Int

    /// Grows the trees on all cores. `progress` is called with the number of trees done.
    public static func fit(
        _ data: TreeData, parameters: ForestParameters, progress: (@Sendable (Int) -> Void)? = nil
    ) -> RandomForest {
        let count = max(1, parameters.treeCount)
        let results = Mutex<[DecisionTree?]>([DecisionTree?](repeating: nil, count: count))
        let done = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: count) { t in
            var rng = SeededGenerator(seed: parameters.seed &+ UInt64(t) &* 0x9E37_79B9_7F4A_7C15)
            var sample: [Int]?
            if parameters.bootstrap {
                sample = (0..<data.rows).map { _ in rng.index(below: data.rows) }
            }
            let tree = DecisionTree.fit(data, sample: sample, parameters: parameters.tree, seed: rng.next())
            results.withLock { $0[t] = tree }
            let finished = done.add(1, ordering: .relaxed).newValue
            progress?(finished)
        }
        let trees = results.withLock { $0.compactMap { $0 } }
        return RandomForest(trees: trees, outputs: max(1, data.classCount))
    }

    /// Mean of the trees' leaf values per row, row-major (`outputs` per row). Large batches are
    /// split into chunks predicted on all cores.
    public func predictValues(_ x: Matrix) -> [Double] {
        let chunk = 512
        let chunks = (x.rows + chunk - 1) / chunk
        if chunks <= 1 {
            return predictRows(x, 0..<x.rows)
        }
        let parts = Mutex<[[Double]]>([[Double]](repeating: [], count: chunks))
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let part = predictRows(x, (c * chunk)..<min(x.rows, (c + 1) * chunk))
            parts.withLock { $0[c] = part }
        }
        return parts.withLock { $0.flatMap { $0 } }
    }

    private func predictRows(_ x: Matrix, _ rows: Range<Int>) -> [Double] {
        var out = [Double](repeating: 0, count: rows.count * outputs)
        let scale = 1 / Double(max(1, trees.count))
        let k = outputs
        let cols = x.cols
        x.values.withUnsafeBufferPointer { xv in
            out.withUnsafeMutableBufferPointer { ov in
                // Tree by tree, so each tree's arrays are pinned once per chunk of rows.
                for tree in trees {
                    tree.withNodes { feature, threshold, right, leaves in
                        for (o, i) in rows.enumerated() {
                            let base = i * cols
                            var node = 0
                            while true {
                                let f = Int(feature[node])
                                if f < 0 { break }
                                node = xv[base + f] <= threshold[node] ? node + 1 : Int(right[node])
                            }
                            let off = Int(right[node]) * k
                            for c in 0..<k { ov[o * k + c] += leaves[off + c] }
                        }
                    }
                }
                for j in 0..<ov.count { ov[j] *= scale }
            }
        }
        return out
    }
}

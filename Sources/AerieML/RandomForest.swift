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
    public var trees: [DecisionTree] {
        didSet { packed = PackedForest(trees, outputs: outputs) }
    }
    public var outputs: Int {
        didSet { packed = PackedForest(trees, outputs: outputs) }
    }
    /// The trees laid out for fast prediction, kept in step with `trees`.
    private(set) var packed: PackedForest

    init(trees: [DecisionTree], outputs: Int) {
        self.trees = trees
        self.outputs = outputs
        packed = PackedForest(trees, outputs: outputs)
    }

    public static func == (a: RandomForest, b: RandomForest) -> Bool {
        a.outputs == b.outputs && a.trees == b.trees
    }

    /// Grows the trees on `threads` threads (`nil`: all cores); the trees do not depend on the
    /// thread count. `progress` is called with the number of trees done.
    public static func fit(
        _ data: TreeData, parameters: ForestParameters, threads: Int? = nil,
        progress: (@Sendable (Int) -> Void)? = nil
    ) -> RandomForest {
        let count = max(1, parameters.treeCount)
        let results = Mutex<[DecisionTree?]>([DecisionTree?](repeating: nil, count: count))
        let done = Atomic<Int>(0)
        ThreadCount.perform(iterations: count, threads: ThreadCount.resolve(threads)) { t in
            var rng = SeededGenerator(seed: parameters.seed &+ UInt64(t) &* 0x9E37_79B9_7F4A_7C15)
            var weights: [Double]
            if parameters.bootstrap {
                // A row drawn k times weighs k; rows never drawn are left out.
                weights = [Double](repeating: 0, count: data.rows)
                for _ in 0..<data.rows { weights[rng.index(below: data.rows)] += 1 }
            } else {
                weights = [Double](repeating: 1, count: data.rows)
            }
            let tree = DecisionTree.fit(data, weights: weights, parameters: parameters.tree, seed: rng.next())
            results.withLock { $0[t] = tree }
            let finished = done.add(1, ordering: .relaxed).newValue
            progress?(finished)
        }
        let trees = results.withLock { $0.compactMap { $0 } }
        return RandomForest(trees: trees, outputs: max(1, data.classCount))
    }

    /// Mean of the trees' leaf values per row, row-major (`outputs` per row). Large batches are
    /// split into chunks of rows predicted on `threads` threads (`nil`: all cores).
    public func predictValues(_ x: Matrix, threads: Int? = nil) -> [Double] {
        packed.predict(x, threads: ThreadCount.resolve(threads))
    }
}

import Testing
@testable import AerieML

/// The fast paths of tree growing and prediction agree with the plain ones.
@Suite struct TreeEngineTests {
    /// Rows of small integer features (few distinct values) with a noisy label.
    static func smallIntegerData(rows: Int, cols: Int, classes: Int, seed: UInt64) -> (Matrix, [Double]) {
        var rng = SeededGenerator(seed: seed)
        var values: [Double] = []
        var y: [Double] = []
        for _ in 0..<rows {
            var row: [Double] = []
            for _ in 0..<cols { row.append(Double(rng.index(below: 7))) }
            values += row
            let signal = (row[0] + 2 * row[1] > 8 ? 1 : 0) + (classes > 2 && row[2] > 4 ? 1 : 0)
            y.append(Double(rng.index(below: 10) == 0 ? rng.index(below: classes) : signal))
        }
        return (Matrix(rows: rows, cols: cols, values: values), y)
    }

    /// Continuous rows: uniform features, label from a linear rule with noise.
    static func continuousData(rows: Int, cols: Int, seed: UInt64) -> (Matrix, [Double]) {
        var rng = SeededGenerator(seed: seed)
        var values: [Double] = []
        var y: [Double] = []
        for _ in 0..<rows {
            var row: [Double] = []
            for _ in 0..<cols { row.append(rng.unit() * 10 - 5) }
            values += row
            y.append(row[0] - row[1] + rng.unit() - 0.5 > 0 ? 1 : 0)
        }
        return (Matrix(rows: rows, cols: cols, values: values), y)
    }

    /// With one bin per distinct value, histogram splits pick the same features and partitions
    /// as exact sorted splits: the trees have the same shape, leaves and training predictions.
    @Test(arguments: [SplitCriterion.gini, .entropy])
    func histogramSplitsMatchExactSplitsOnFewDistinctValues(criterion: SplitCriterion) {
        let (x, y) = TreeEngineTests.smallIntegerData(rows: 400, cols: 5, classes: 3, seed: 7)
        let data = TreeData(x, targets: y, classCount: 3)
        #expect(data.binCount.allSatisfy { $0 == 7 })
        let weights = [Double](repeating: 1, count: x.rows)
        let parameters = TreeParameters(criterion: criterion, maxFeatures: 3)
        let histogram = DecisionTree.fit(data, weights: weights, parameters: parameters, seed: 1, exactBelow: 0)
        let exact = DecisionTree.fit(data, weights: weights, parameters: parameters, seed: 1, exactBelow: .max)
        #expect(histogram.nodeCount > 20)
        #expect(histogram.feature == exact.feature)
        #expect(histogram.right == exact.right)
        #expect(histogram.leafValues == exact.leafValues)
        #expect(histogram.predictValues(x) == exact.predictValues(x))
    }

    /// A feature with more distinct values than bins gets at most that many bins, in value
    /// order, and every edge separates its two bins.
    @Test func quantizationKeepsValueOrderAndEdgesSeparateBins() {
        let (x, y) = TreeEngineTests.continuousData(rows: 500, cols: 3, seed: 2)
        let data = TreeData(x, targets: y, classCount: 2, maxBins: 16)
        for j in 0..<3 {
            #expect(data.binCount[j] == 16)
            for i in 0..<x.rows {
                let b = Int(data.bins[j * x.rows + i])
                let v = x[i, j]
                if b > 0 { #expect(v > data.binEdges[j * 16 + b - 1]) }
                if b < data.binCount[j] - 1 { #expect(v <= data.binEdges[j * 16 + b]) }
            }
        }
        let constant = TreeData(Matrix(rows: 3, cols: 1, values: [4, 4, 4]), targets: [0, 1, 0], classCount: 2)
        #expect(constant.binCount == [1])
    }

    /// Histogram splits on coarse bins still separate classes that a threshold separates, and
    /// a tree grown only from histograms routes its training rows to pure leaves when it can.
    @Test func histogramTreeLearnsContinuousData() {
        let (x, y) = TreeEngineTests.continuousData(rows: 2000, cols: 4, seed: 3)
        let data = TreeData(x, targets: y, classCount: 2, maxBins: 32)
        let weights = [Double](repeating: 1, count: x.rows)
        let tree = DecisionTree.fit(data, weights: weights, parameters: TreeParameters(criterion: .gini, maxDepth: 8), seed: 0, exactBelow: 0)
        let p = tree.predictValues(x)
        var correct = 0
        for i in 0..<x.rows where (p[2 * i + 1] > 0.5 ? 1.0 : 0.0) == y[i] { correct += 1 }
        #expect(Double(correct) / Double(x.rows) > 0.85)
    }

    /// A bootstrap sample weighs a row drawn twice twice.
    /// A seeded forest grown and batch-predicted (several parallel chunks) on 1 or 2 threads
    /// is the same forest with the same predictions.
    @Test func forestDoesNotDependOnThreadCount() {
        let (x, y) = TreeEngineTests.smallIntegerData(rows: 1500, cols: 6, classes: 3, seed: 21)
        func grown(threads: Int) -> RandomForest {
            RandomForest.fit(
                TreeData(x, targets: y, classCount: 3, threads: threads),
                parameters: ForestParameters(treeCount: 9, tree: TreeParameters(criterion: .gini, maxFeatures: 2), seed: 4),
                threads: threads)
        }
        let one = grown(threads: 1)
        let two = grown(threads: 2)
        #expect(one == two)
        let sequential = one.predictValues(x, threads: 1)
        #expect(sequential == two.predictValues(x, threads: 2))
        #expect(sequential == two.predictValues(x))
        #expect(ThreadCount.resolve(nil) == ThreadCount.cores)
    }

    @Test func bootstrapRepeatsWeighRows() {
        let x = Matrix([[0], [0], [0]])
        let tree = DecisionTree.fit(
            TreeData(x, targets: [0, 1, 1], classCount: 2), sample: [0, 0, 1], parameters: TreeParameters(criterion: .gini), seed: 0)
        #expect(tree.nodeCount == 1)
        #expect(tree.leafValues == [2.0 / 3, 1.0 / 3])
    }

    /// The packed, lock-step prediction equals walking each tree and averaging, for batches
    /// (rows in lock step), small batches (trees in lock step) and regression.
    @Test(arguments: [0, 3])
    func packedPredictionEqualsTreeWalks(classes: Int) {
        let (x, y0) = TreeEngineTests.smallIntegerData(rows: 300, cols: 6, classes: max(2, classes), seed: 11)
        let y = classes == 0 ? y0.enumerated().map { Double($0.offset % 13) + $0.element } : y0
        let forest = RandomForest.fit(
            TreeData(x, targets: y, classCount: classes),
            parameters: ForestParameters(
                treeCount: 37, tree: TreeParameters(criterion: classes == 0 ? .mse : .gini, maxFeatures: 2), seed: 5))
        let k = max(1, classes)
        func walked(_ m: Matrix) -> [Double] {
            var out = [Double](repeating: 0, count: m.rows * k)
            m.values.withUnsafeBufferPointer { v in
                for i in 0..<m.rows {
                    let row = UnsafeBufferPointer(rebasing: v[(i * m.cols)..<((i + 1) * m.cols)])
                    for t in forest.trees {
                        let off = t.leafOffset(row)
                        for c in 0..<k { out[i * k + c] += t.leafValues[off + c] }
                    }
                    for c in 0..<k { out[i * k + c] /= Double(forest.trees.count) }
                }
            }
            return out
        }
        // Unseen rows too: values between and beyond the training values.
        var probe = x
        for i in stride(from: 0, to: probe.values.count, by: 3) { probe.values[i] += 0.5 }
        probe.values[0] = -100
        probe.values[1] = 100
        for m in [x, probe, x.selecting(rows: [4]), x.selecting(rows: [1, 2, 3])] {
            let packed = forest.predictValues(m)
            let reference = walked(m)
            #expect(packed.count == reference.count)
            #expect(zip(packed, reference).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        }
        let single = forest.trees[0]
        let oneByOne = (0..<probe.rows).flatMap { single.predictValues(probe.selecting(rows: [$0])) }
        #expect(single.predictValues(probe) == oneByOne)
    }

    /// The packed table follows edits of the forest's trees.
    @Test func packedTableFollowsTreeEdits() {
        let (x, y) = TreeEngineTests.smallIntegerData(rows: 100, cols: 3, classes: 2, seed: 1)
        var forest = RandomForest.fit(
            TreeData(x, targets: y, classCount: 2),
            parameters: ForestParameters(treeCount: 4, tree: TreeParameters(criterion: .gini), seed: 1))
        forest.trees = [forest.trees[0]]
        #expect(forest.predictValues(x) == forest.trees[0].predictValues(x))
    }

    @Test func pairSortSortsWithDuplicates() {
        var rng = SeededGenerator(seed: 9)
        for n in [0, 1, 2, 17, 100, 1000] {
            var pairs = (0..<n).map { (Double(rng.index(below: max(1, n / 3))), Int32($0)) }
            pairs.withUnsafeMutableBufferPointer { PairSort.sort($0) }
            #expect(zip(pairs, pairs.dropFirst()).allSatisfy { $0.0 <= $1.0 })
            #expect(Set(pairs.map(\.1)).count == n)
        }
    }
}

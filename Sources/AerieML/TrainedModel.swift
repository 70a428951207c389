/// The learning algorithms the engine offers.
public enum ModelKind: String, Sendable, Codable, CaseIterable {
    case randomForest = "random-forest"
    case decisionTree = "decision-tree"
    case logisticRegression = "logistic-regression"
    case svm
    case naiveBayes = "naive-bayes"
    case knn

    /// Whether the algorithm can learn a numeric target.
    public var supportsRegression: Bool {
        switch self {
        case .randomForest, .decisionTree, .knn: true
        case .logisticRegression, .svm, .naiveBayes: false
        }
    }

    /// The scaling applied when none is asked for: distance- and gradient-based models are
    /// standardised, trees and naive Bayes take raw values.
    public var defaultScaling: ScalingMethod {
        switch self {
        case .logisticRegression, .svm, .knn: .standard
        case .randomForest, .decisionTree, .naiveBayes: .none
        }
    }
}

/// A fitted model of any kind.
public enum TrainedModel: Sendable, Equatable {
    case decisionTree(DecisionTree)
    case randomForest(RandomForest)
    case logisticRegression(LogisticRegression)
    case svm(SupportVectorMachine)
    case naiveBayes(GaussianNaiveBayes)
    case knn(NearestNeighbors)

    public var kind: ModelKind {
        switch self {
        case .decisionTree: .decisionTree
        case .randomForest: .randomForest
        case .logisticRegression: .logisticRegression
        case .svm: .svm
        case .naiveBayes: .naiveBayes
        case .knn: .knn
        }
    }

    /// Values per row that `predictValues` returns: the class count, or 1 for regression.
    public var outputs: Int {
        switch self {
        case .decisionTree(let m): m.outputs
        case .randomForest(let m): m.outputs
        case .logisticRegression(let m): m.classes
        case .svm(let m): m.classes
        case .naiveBayes(let m): m.classes
        case .knn(let m): max(1, m.classes)
        }
    }

    /// Class probabilities (row-major, one column per class) or, for regression, one value per row.
    /// Parallel paths use at most `threads` threads (`nil`: all cores); SVM and k-NN kernels go
    /// through BLAS, whose threads follow `OPENBLAS_NUM_THREADS`.
    public func predictValues(_ x: Matrix, threads: Int? = nil) -> [Double] {
        switch self {
        case .decisionTree(let m): m.predictValues(x, threads: threads)
        case .randomForest(let m): m.predictValues(x, threads: threads)
        case .logisticRegression(let m): m.predictValues(x, threads: threads)
        case .svm(let m): m.predictValues(x)
        case .naiveBayes(let m): m.predictValues(x)
        case .knn(let m): m.predictValues(x)
        }
    }

    /// Writes the model's arrays and scalars.
    public func archive(into a: inout ArrayArchive) {
        switch self {
        case .decisionTree(let t):
            TrainedModel.archiveTrees([t], outputs: t.outputs, into: &a)
        case .randomForest(let f):
            TrainedModel.archiveTrees(f.trees, outputs: f.outputs, into: &a)
        case .logisticRegression(let m):
            a.scalars["classes"] = Double(m.classes)
            a.scalars["features"] = Double(m.features)
            a.put("weights", m.weights)
            a.put("bias", m.bias)
        case .svm(let m):
            a.scalars["classes"] = Double(m.classes)
            a.scalars["gamma"] = m.gamma
            a.scalars["kernel"] = m.kernel == .rbf ? 1 : 0
            a.scalars["sv_rows"] = Double(m.supportVectors.rows)
            a.scalars["sv_cols"] = Double(m.supportVectors.cols)
            a.put("support_vectors", m.supportVectors.values)
            a.put("pair_offsets", m.pairOffsets)
            a.put("pair_vectors", m.pairVectors)
            a.put("pair_coefficients", m.pairCoefficients)
            a.put("pair_rho", m.pairRho)
        case .naiveBayes(let m):
            a.scalars["classes"] = Double(m.classes)
            a.scalars["features"] = Double(m.features)
            a.put("means", m.means)
            a.put("variances", m.variances)
            a.put("log_priors", m.logPriors)
        case .knn(let m):
            a.scalars["classes"] = Double(m.classes)
            a.scalars["k"] = Double(m.k)
            a.scalars["rows"] = Double(m.points.rows)
            a.scalars["cols"] = Double(m.points.cols)
            a.put("points", m.points.values)
            a.put("targets", m.targets)
        }
    }

    /// Trees as flat arrays: node counts per tree, then every tree's nodes and leaves in turn.
    /// Class probabilities are stored as 32-bit floats; thresholds keep full precision so that
    /// a row is routed exactly as in training.
    static func archiveTrees(_ trees: [DecisionTree], outputs: Int, into a: inout ArrayArchive) {
        a.scalars["outputs"] = Double(outputs)
        a.put("tree_nodes", trees.map { Int32($0.nodeCount) })
        a.put("tree_leaf_values", trees.map { Int32($0.leafValues.count) })
        a.put("feature", trees.flatMap(\.feature))
        a.put("threshold", trees.flatMap(\.threshold))
        a.put("right", trees.flatMap(\.right))
        a.put("leaf_values", trees.flatMap(\.leafValues), as: outputs > 1 ? .f32 : .f64)
    }

    static func unarchiveTrees(_ a: ArrayArchive) throws -> [DecisionTree] {
        let outputsValue = try a.scalar("outputs")
        guard outputsValue >= 1, outputsValue < 1e6, outputsValue == outputsValue.rounded() else {
            throw MLError(.modelFile, "model file value 'outputs' is invalid; the file is corrupt, retrain the model")
        }
        let outputs = Int(outputsValue)
        let nodes = try a.ints("tree_nodes")
        let leafCounts = try a.ints("tree_leaf_values")
        let feature = try a.ints("feature")
        let threshold = try a.doubles("threshold")
        let right = try a.ints("right")
        let leafValues = try a.doubles("leaf_values")
        guard nodes.count == leafCounts.count, feature.count == threshold.count, feature.count == right.count,
            Int(nodes.reduce(0, +)) == feature.count, Int(leafCounts.reduce(0, +)) == leafValues.count, outputs > 0
        else {
            throw MLError(.modelFile, "model file's tree arrays do not agree in size; the file is corrupt, retrain the model")
        }
        var trees: [DecisionTree] = []
        var nodeStart = 0
        var leafStart = 0
        for (count, leaves) in zip(nodes, leafCounts) {
            let nodeEnd = nodeStart + Int(count)
            let leafEnd = leafStart + Int(leaves)
            let tree = DecisionTree(
                feature: Array(feature[nodeStart..<nodeEnd]), threshold: Array(threshold[nodeStart..<nodeEnd]),
                right: Array(right[nodeStart..<nodeEnd]), leafValues: Array(leafValues[leafStart..<leafEnd]),
                outputs: outputs)
            try validate(tree)
            trees.append(tree)
            nodeStart = nodeEnd
            leafStart = leafEnd
        }
        return trees
    }

    /// Checks child and leaf indices so that a corrupt file cannot crash prediction.
    static func validate(_ t: DecisionTree) throws {
        let leaves = t.leafValues.count / t.outputs
        for i in 0..<t.nodeCount {
            let r = Int(t.right[i])
            let ok = t.feature[i] < 0 ? (r >= 0 && r < leaves) : (r > i + 1 && r < t.nodeCount && i + 1 < t.nodeCount)
            if !ok || t.nodeCount == 0 {
                throw MLError(.modelFile, "model file holds an invalid tree node; the file is corrupt, retrain the model")
            }
        }
    }

    /// Reads a model of `kind` back. `features` is the input width the model must accept.
    public static func unarchive(kind: ModelKind, features: Int, from a: ArrayArchive) throws -> TrainedModel {
        func count(_ name: String) throws -> Int {
            let v = try a.scalar(name)
            guard v >= 0, v < 1e9, v == v.rounded() else {
                throw MLError(.modelFile, "model file value '\(name)' is invalid; the file is corrupt, retrain the model")
            }
            return Int(v)
        }
        func check(_ ok: Bool) throws {
            if !ok { throw MLError(.modelFile, "model file arrays do not match the schema; the file is corrupt, retrain the model") }
        }
        switch kind {
        case .decisionTree, .randomForest:
            let trees = try unarchiveTrees(a)
            try check(!trees.isEmpty)
            for t in trees { try check(t.feature.allSatisfy { Int($0) < features }) }
            let outputs = trees[0].outputs
            return kind == .decisionTree ? .decisionTree(trees[0]) : .randomForest(RandomForest(trees: trees, outputs: outputs))
        case .logisticRegression:
            let k = try count("classes")
            let d = try count("features")
            let w = try a.doubles("weights")
            let b = try a.doubles("bias")
            try check(d == features && w.count == k * d && b.count == k)
            return .logisticRegression(LogisticRegression(weights: w, bias: b, classes: k, features: d))
        case .svm:
            let rows = try count("sv_rows")
            let cols = try count("sv_cols")
            let sv = try a.doubles("support_vectors")
            let offsets = try a.ints("pair_offsets")
            let vectors = try a.ints("pair_vectors")
            let coefs = try a.doubles("pair_coefficients")
            let rho = try a.doubles("pair_rho")
            let k = try count("classes")
            try check(cols == features && sv.count == rows * cols && offsets.count == rho.count + 1
                && vectors.count == coefs.count && rho.count == k * (k - 1) / 2
                && offsets.first == 0 && Int(offsets.last ?? -1) == vectors.count
                && zip(offsets, offsets.dropFirst()).allSatisfy { $0 <= $1 }
                && vectors.allSatisfy { $0 >= 0 && Int($0) < rows })
            return .svm(SupportVectorMachine(
                kernel: try a.scalar("kernel") == 1 ? .rbf : .linear, gamma: try a.scalar("gamma"), classes: k,
                supportVectors: Matrix(rows: rows, cols: cols, values: sv), pairOffsets: offsets,
                pairVectors: vectors, pairCoefficients: coefs, pairRho: rho))
        case .naiveBayes:
            let k = try count("classes")
            let d = try count("features")
            let means = try a.doubles("means")
            let vars = try a.doubles("variances")
            let priors = try a.doubles("log_priors")
            try check(d == features && means.count == k * d && vars.count == k * d && priors.count == k)
            return .naiveBayes(GaussianNaiveBayes(means: means, variances: vars, logPriors: priors, classes: k, features: d))
        case .knn:
            let rows = try count("rows")
            let cols = try count("cols")
            let points = try a.doubles("points")
            let targets = try a.doubles("targets")
            let classes = try count("classes")
            try check(cols == features && points.count == rows * cols && targets.count == rows
                && (classes == 0 || targets.allSatisfy { $0 >= 0 && Int($0) < classes }))
            return .knn(NearestNeighbors(
                points: Matrix(rows: rows, cols: cols, values: points), targets: targets, classes: classes,
                k: try count("k")))
        }
    }
}

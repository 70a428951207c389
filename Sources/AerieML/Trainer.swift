/// What training reports: the resolved task, the metrics and how long each step took.
public struct TrainingReport: Sendable, Codable, Equatable {
    public struct Timings: Sendable, Codable, Equatable {
        public var preprocessSeconds: Double
        public var fitSeconds: Double
        public var evaluateSeconds: Double
    }
    public var task: MLTask
    public var model: ModelKind
    public var target: String
    public var classes: [String]?
    public var trainRows: Int
    public var testRows: Int
    public var features: Int
    public var parameters: [String: String]
    public var metrics: MetricsReport
    public var timings: Timings
}

/// Fits preprocessing and a model on a table and evaluates it.
public enum Trainer {
    /// Trains on `data`, evaluating on `test` when given, else on a held-out split.
    /// - Parameter progress: called now and then with a line describing progress of long fits.
    public static func train(
        data: DataTable, test: DataTable? = nil, options: TrainingOptions,
        progress: (@Sendable (String) -> Void)? = nil
    ) throws -> (TabularModel, TrainingReport) {
        let clock = ContinuousClock()
        let t0 = clock.now
        guard let targetColumn = data.column(named: options.target) else {
            throw MLError(.missingColumn, "no target column '\(options.target)'; the columns are: \(data.columnNames.joined(separator: ", "))")
        }
        let featureNames = data.columnNames.filter { $0 != options.target }
        guard !featureNames.isEmpty else {
            throw MLError(.schema, "the data has no feature columns besides the target '\(options.target)'; add at least one")
        }
        let task = options.task.resolved(for: targetColumn.values)
        if task == .regression {
            guard targetColumn.values.isNumeric else {
                throw MLError(.schema, "target '\(options.target)' is not numeric, so it cannot be a regression target; use --task classification")
            }
            guard options.model.supportsRegression else {
                throw MLError(.unsupported, "\(options.model.rawValue) does only classification but the task is regression; use random-forest, decision-tree or knn, or --task classification")
            }
        }
        try ThreadCount.validate(options.threads)
        guard options.testSize >= 0, options.testSize < 1 else {
            throw MLError(.invalidParameter, "test size \(options.testSize) must be at least 0 and below 1")
        }
        var params = try ParameterReader(options.parameters, kind: options.model)
        let missing = try params.choice("missing", default: MissingValueStrategy.drop)
        let encoding = try params.choice("encoding", default: CategoricalEncoding.oneHot)
        let scaling = try params.choice("scale", default: options.model.defaultScaling)

        // Usable rows: a target, and complete features unless imputing.
        func usableRows(_ table: DataTable, name: String) throws -> [Int] {
            guard let target = table.column(named: options.target) else {
                throw MLError(.missingColumn, "\(name) has no target column '\(options.target)'")
            }
            let features = try featureNames.map { f -> ColumnValues in
                guard let c = table.column(named: f) else {
                    throw MLError(.missingColumn, "\(name) has no column '\(f)', which the training data has; add it")
                }
                return c.values
            }
            return (0..<table.rowCount).filter { i in
                !target.values.isMissing(i) && (missing == .impute || !features.contains { $0.isMissing(i) })
            }
        }
        let rows = try usableRows(data, name: "the training data")
        guard rows.count >= 2 else {
            throw MLError(.emptyData, "only \(rows.count) usable rows (rows need a target value\(missing == .drop ? " and no missing features; try --param missing=impute" : "")); add data")
        }

        // Labels and split.
        var classes: [String] = []
        var classIndex: [String: Int] = [:]
        func labels(_ table: DataTable, _ rows: [Int], fitting: Bool) throws -> [Double] {
            guard let values = table.column(named: options.target)?.values else { return [] }
            if task == .regression {
                guard case .numeric(let v) = values else {
                    throw MLError(.schema, "target '\(options.target)' of the test data is not numeric")
                }
                return rows.map { v[$0] }
            }
            if fitting {
                let texts = Set(rows.compactMap { values.text($0) })
                if values.isNumeric {
                    classes = texts.sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
                } else {
                    classes = texts.sorted()
                }
                for (i, c) in classes.enumerated() { classIndex[c] = i }
            }
            return try rows.map { r in
                let text = values.text(r) ?? ""
                guard let k = classIndex[text] else {
                    throw MLError(.unseenCategory, "target class '\(text)' in the test data never occurs in the training data; add training rows of that class or remove these test rows")
                }
                return Double(k)
            }
        }
        let allLabels = try labels(data, rows, fitting: true)
        if task == .classification && classes.count < 2 {
            throw MLError(.emptyData, "target '\(options.target)' has only one class (\(classes.first ?? "")); classification needs at least two")
        }
        let trainRows: [Int]
        var testRows: [Int] = []
        var yTrain: [Double]
        var yTest: [Double] = []
        let testTable: DataTable?
        if let test {
            trainRows = rows
            yTrain = allLabels
            let usable = try usableRows(test, name: "the test data")
            testTable = test.selecting(rows: usable)
            testRows = usable
            yTest = try labels(test, usable, fitting: false)
        } else if options.testSize > 0, Int((Double(rows.count) * options.testSize).rounded()) >= 1 {
            let split = task == .classification
                ? DataSplit.stratified(labels: allLabels.map { Int($0) }, testFraction: options.testSize, seed: options.seed)
                : DataSplit.random(count: rows.count, testFraction: options.testSize, seed: options.seed)
            trainRows = split.train.map { rows[$0] }
            testRows = split.test.map { rows[$0] }
            yTrain = split.train.map { allLabels[$0] }
            yTest = split.test.map { allLabels[$0] }
            testTable = data.selecting(rows: testRows)
            if testRows.isEmpty {  // too few rows per class to hold any out: evaluate on the training rows
                return try train(data: data, test: nil, options: TrainingOptions(
                    target: options.target, model: options.model, task: options.task, parameters: options.parameters,
                    testSize: 0, seed: options.seed), progress: progress)
            }
        } else {
            trainRows = rows
            yTrain = allLabels
            testTable = nil
        }
        let trainTable = data.selecting(rows: trainRows)
        let preprocessor = try Preprocessor.fit(
            table: trainTable, features: featureNames, encoding: encoding, scaling: scaling)
        let xTrain = try preprocessor.transform(trainTable)
        let t1 = clock.now

        let model = try fit(
            kind: options.model, task: task, x: xTrain, y: yTrain, classCount: classes.count,
            params: &params, seed: options.seed, threads: options.threads, progress: progress)
        let t2 = clock.now

        var metadata = ModelMetadata(
            kind: options.model, task: task, target: options.target, classes: classes, preprocessor: preprocessor,
            missingValues: missing, parameters: params.resolved, seed: options.seed, trainingRows: trainRows.count,
            testRows: testRows.count, metrics: nil)
        var tabular = TabularModel(metadata: metadata, model: model)
        let evalX = try testTable.map { try preprocessor.transform($0) } ?? xTrain
        let evalY = testTable == nil ? yTrain : yTest
        let prediction = tabular.predict(matrix: evalX, threads: options.threads)
        var report = MetricsReport(classification: nil, regression: nil, evaluatedOn: testTable == nil ? "train" : "test")
        if task == .regression {
            report.regression = RegressionMetrics(truth: evalY, predicted: prediction.values ?? [])
        } else {
            let predicted = prediction.labels.map { classIndex[$0] ?? 0 }
            report.classification = ClassificationMetrics(truth: evalY.map { Int($0) }, predicted: predicted, labels: classes)
        }
        metadata.metrics = report
        tabular.metadata = metadata
        let t3 = clock.now
        let trainingReport = TrainingReport(
            task: task, model: options.model, target: options.target,
            classes: task == .classification ? classes : nil, trainRows: trainRows.count, testRows: testRows.count,
            features: preprocessor.outputWidth, parameters: params.resolved, metrics: report,
            timings: .init(preprocessSeconds: seconds(t1 - t0), fitSeconds: seconds(t2 - t1), evaluateSeconds: seconds(t3 - t2)))
        return (tabular, trainingReport)
    }

    /// A duration in seconds.
    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Fits one algorithm on transformed data.
    static func fit(
        kind: ModelKind, task: MLTask, x: Matrix, y: [Double], classCount: Int, params: inout ParameterReader,
        seed: UInt64, threads: Int?, progress: (@Sendable (String) -> Void)?
    ) throws -> TrainedModel {
        let classification = task == .classification
        let labels = classification ? y.map { Int($0) } : []
        switch kind {
        case .decisionTree, .randomForest:
            let criterion: SplitCriterion = try params.choice("criterion", default: classification ? .gini : .mse)
            if classification == (criterion == .mse) {
                throw MLError(.invalidParameter, "criterion \(criterion.rawValue) does not fit a \(task.rawValue) task; use \(classification ? "gini or entropy" : "mse")")
            }
            let maxDepth = try params.int("max_depth", default: nil, minimum: 1)
            let minSplit = try params.int("min_samples_split", default: 2, minimum: 2) ?? 2
            let minLeaf = try params.int("min_samples_leaf", default: 1, minimum: 1) ?? 1
            let data = TreeData(x, targets: y, classCount: classification ? classCount : 0, threads: threads)
            if kind == .decisionTree {
                let maxFeatures = try params.maxFeatures(default: "all", features: x.cols)
                let tp = TreeParameters(
                    criterion: criterion, maxDepth: maxDepth, minSamplesSplit: minSplit, minSamplesLeaf: minLeaf,
                    maxFeatures: maxFeatures)
                return .decisionTree(DecisionTree.fit(data, parameters: tp, seed: seed))
            }
            let maxFeatures = try params.maxFeatures(default: classification ? "sqrt" : "all", features: x.cols)
            let trees = try params.int("n_estimators", default: 100, minimum: 1) ?? 100
            let bootstrap = try params.bool("bootstrap", default: true)
            let tp = TreeParameters(
                criterion: criterion, maxDepth: maxDepth, minSamplesSplit: minSplit, minSamplesLeaf: minLeaf,
                maxFeatures: maxFeatures)
            let step = max(1, trees / 10)
            var report: (@Sendable (Int) -> Void)?
            if let progress {
                report = { done in
                    if done % step == 0 || done == trees { progress("random-forest: \(done)/\(trees) trees") }
                }
            }
            return .randomForest(RandomForest.fit(
                data, parameters: ForestParameters(treeCount: trees, tree: tp, bootstrap: bootstrap, seed: seed),
                threads: threads, progress: report))
        case .logisticRegression:
            let c = try params.double("C", default: 1)
            let maxIter = try params.int("max_iter", default: 100, minimum: 1) ?? 100
            let tol = try params.double("tol", default: 1e-4)
            return .logisticRegression(LogisticRegression.fit(x, labels: labels, classes: classCount, c: c, maxIterations: maxIter, tolerance: tol))
        case .svm:
            let kernel = try params.choice("kernel", default: SVMKernel.rbf)
            let c = try params.double("C", default: 1)
            let tol = try params.double("tol", default: 1e-3)
            let maxIter = try params.int("max_iter", default: 10_000_000, minimum: 1) ?? 10_000_000
            let gammaText = params.string("gamma", default: "scale")
            let gamma: Double
            switch gammaText {
            case "scale":
                let n = Double(max(1, x.values.count))
                let mean = x.values.reduce(0, +) / n
                let variance = x.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
                gamma = variance > 0 ? 1 / (Double(x.cols) * variance) : 1
            case "auto":
                gamma = 1 / Double(max(1, x.cols))
            default:
                guard let g = Double(gammaText), g > 0, g.isFinite else {
                    throw MLError(.invalidParameter, "parameter gamma=\(gammaText) must be scale, auto or a positive number")
                }
                gamma = g
            }
            progress?("svm: solving \(classCount * (classCount - 1) / 2) class pair(s) on \(x.rows) rows")
            return .svm(SupportVectorMachine.fit(
                x, labels: labels, classes: classCount, kernel: kernel, c: c, gamma: gamma, tolerance: tol,
                maxIterations: maxIter, threads: threads))
        case .naiveBayes:
            let smoothing = try params.double("var_smoothing", default: 1e-9)
            return .naiveBayes(GaussianNaiveBayes.fit(x, labels: labels, classes: classCount, varSmoothing: smoothing))
        case .knn:
            let k = try params.int("n_neighbors", default: 5, minimum: 1) ?? 5
            return .knn(NearestNeighbors(points: x, targets: y, classes: classification ? classCount : 0, k: k))
        }
    }
}

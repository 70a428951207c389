import Testing
@testable import AerieML

@Suite struct ModelTests {
    @Test func treeOnTinyDataLearnsTheObviousSplit() {
        // y = 1 exactly when x0 > 2.5; x1 is noise.
        let x = Matrix([[1, 9], [2, 3], [3, 7], [4, 1], [2, 5], [5, 5]])
        let y: [Double] = [0, 0, 1, 1, 0, 1]
        let tree = DecisionTree.fit(TreeData(x, targets: y, classCount: 2), parameters: TreeParameters(criterion: .gini), seed: 0)
        #expect(tree.nodeCount == 3)
        #expect(tree.feature[0] == 0)
        #expect(tree.threshold[0] == 2.5)
        #expect(tree.predictValues(Matrix([[0, 0], [10, 0]])) == [1, 0, 0, 1])
    }

    @Test func entropyTreeAndDepthLimit() {
        let x = Matrix([[0], [1], [2], [3]])
        let y: [Double] = [0, 1, 0, 1]
        let stump = DecisionTree.fit(
            TreeData(x, targets: y, classCount: 2), parameters: TreeParameters(criterion: .entropy, maxDepth: 1), seed: 0)
        #expect(stump.nodeCount <= 3)
        let full = DecisionTree.fit(TreeData(x, targets: y, classCount: 2), parameters: TreeParameters(criterion: .entropy), seed: 0)
        #expect(full.predictValues(x).enumerated().allSatisfy { i, v in v == (i % 2 == Int(y[i / 2]) ? 1 : 0) })
    }

    @Test func regressionTreeFitsStepFunction() {
        let x = Matrix([[1], [2], [3], [10], [11], [12]])
        let y: [Double] = [5, 5, 5, 20, 20, 20]
        let tree = DecisionTree.fit(TreeData(x, targets: y, classCount: 0), parameters: TreeParameters(criterion: .mse), seed: 0)
        #expect(tree.predictValues(Matrix([[0], [100], [6.4]])) == [5, 20, 5])
    }

    /// Every classifier's probabilities are non-negative and sum to 1 per row.
    @Test(arguments: ModelKind.allCases)
    func probabilitiesSumToOne(kind: ModelKind) throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(
            data: table, options: TrainingOptions(target: "species", model: kind, parameters: kind == .randomForest ? ["n_estimators": "10"] : [:]))
        let p = try #require(try model.predict(table).probabilities)
        #expect(p.rows == 150 && p.cols == 3)
        for i in 0..<p.rows {
            let row = p.row(i)
            #expect(row.allSatisfy { $0 >= 0 })
            #expect(abs(row.reduce(0, +) - 1) < 1e-6)
        }
    }

    @Test func forestIsReproducibleWithASeed() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let options = TrainingOptions(target: "species", model: .randomForest, parameters: ["n_estimators": "8"], seed: 3)
        let (a, _) = try Trainer.train(data: table, options: options)
        let (b, _) = try Trainer.train(data: table, options: options)
        #expect(a.model == b.model)
    }

    /// The thread count changes neither the trees nor the predictions and probabilities.
    @Test func forestIsTheSameAtOneAndTwoThreads() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        func trained(threads: Int) throws -> TabularModel {
            let options = TrainingOptions(
                target: "species", model: .randomForest, parameters: ["n_estimators": "12"], seed: 7, threads: threads)
            return try Trainer.train(data: table, options: options).0
        }
        let one = try trained(threads: 1)
        let two = try trained(threads: 2)
        #expect(one.model == two.model)
        #expect(one.metadata == two.metadata)
        for threads in [1, 2] {
            let a = try one.predict(table, threads: 1)
            let b = try two.predict(table, threads: threads)
            #expect(a.labels == b.labels)
            #expect(a.probabilities == b.probabilities)
        }
    }

    @Test func zeroThreadsIsRejected() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let options = TrainingOptions(target: "species", model: .randomForest, threads: 0)
        let error = #expect(throws: MLError.self) { try Trainer.train(data: table, options: options) }
        #expect(error?.message.contains("threads=0") == true)
    }

    @Test func metricsKnownAnswer() {
        let m = ClassificationMetrics(truth: [0, 0, 1, 1, 2], predicted: [0, 1, 1, 1, 0], labels: ["a", "b", "c"])
        #expect(m.accuracy == 0.6)
        #expect(m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
        #expect(m.perClass[0].precision == 0.5 && m.perClass[0].recall == 0.5)
        #expect(abs(m.perClass[1].precision - 2.0 / 3) < 1e-12 && m.perClass[1].recall == 1)
        #expect(m.perClass[2].f1 == 0)
        #expect(abs(m.f1Macro - (0.5 + 0.8 + 0) / 3) < 1e-12)
        let r = RegressionMetrics(truth: [1, 2, 3], predicted: [1, 2, 5])
        #expect(r.mae == 2.0 / 3)
        #expect(abs(r.rmse - (4.0 / 3).squareRoot()) < 1e-12)
        #expect(r.r2 == -1)
    }

    @Test func taskInference() throws {
        let t = try DataTable.parse(csv: "a,b,c,d\n1,1.5,x,1\n2,2,y,2\n1,3,x,3\n")
        #expect(MLTask.auto.resolved(for: try #require(t.column(named: "a")).values) == .classification)
        #expect(MLTask.auto.resolved(for: try #require(t.column(named: "b")).values) == .regression)
        #expect(MLTask.auto.resolved(for: try #require(t.column(named: "c")).values) == .classification)
        let many = DataTable(columns: [Column(name: "n", values: .numeric((0..<101).map(Double.init)))])
        #expect(MLTask.auto.resolved(for: many.columns[0].values) == .regression)
    }

    @Test func emptyTrainingSetGivesALeafNotACrash() {
        let tree = DecisionTree.fit(
            TreeData(Matrix(rows: 0, cols: 2), targets: [], classCount: 2), parameters: TreeParameters(criterion: .gini), seed: 0)
        #expect(tree.predictValues(Matrix([[1, 2]])) == [0, 0])
    }
}

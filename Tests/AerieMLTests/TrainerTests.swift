import Testing
@testable import AerieML

@Suite struct TrainerTests {
    /// Accuracy floors on Iris's held-out 20% (scikit-learn reaches ≥ 0.93 with each).
    @Test(arguments: [
        (ModelKind.decisionTree, 0.88), (.randomForest, 0.9), (.logisticRegression, 0.9), (.svm, 0.9),
        (.naiveBayes, 0.9), (.knn, 0.9),
    ])
    func irisAccuracyFloor(kind: ModelKind, floor: Double) throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (_, report) = try Trainer.train(
            data: table, options: TrainingOptions(target: "species", model: kind, parameters: kind == .randomForest ? ["n_estimators": "30"] : [:], seed: 0))
        #expect(report.task == .classification)
        #expect(report.testRows == 30)
        let accuracy = try #require(report.metrics.classification?.accuracy)
        #expect(accuracy >= floor, "\(kind.rawValue) accuracy \(accuracy)")
    }

    @Test func regressionIsChosenForARealValuedTarget() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        for kind in [ModelKind.decisionTree, .randomForest, .knn] {
            let (_, report) = try Trainer.train(
                data: table, options: TrainingOptions(target: "petal_length", model: kind, parameters: kind == .randomForest ? ["n_estimators": "20"] : [:]))
            #expect(report.task == .regression)
            let r2 = try #require(report.metrics.regression?.r2)
            #expect(r2 > 0.8, "\(kind.rawValue) r2 \(r2)")
        }
    }

    @Test func classificationOnlyModelRejectsRegression() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        #expect(throws: MLError.self) {
            try Trainer.train(data: table, options: TrainingOptions(target: "petal_length", model: .naiveBayes))
        }
    }

    @Test func missingValuesDropOrImpute() throws {
        var csv = "x,c,y\n"
        for i in 0..<40 { csv += "\(i % 10 == 0 ? "NA" : "\(i)"),\(i % 2 == 0 ? "even" : "odd"),\(i < 20 ? "lo" : "hi")\n" }
        let table = try DataTable.parse(csv: csv)
        let (_, dropped) = try Trainer.train(data: table, options: TrainingOptions(target: "y", model: .decisionTree, testSize: 0))
        #expect(dropped.trainRows == 36)
        let (_, imputed) = try Trainer.train(
            data: table, options: TrainingOptions(target: "y", model: .decisionTree, parameters: ["missing": "impute"], testSize: 0))
        #expect(imputed.trainRows == 40)
        #expect(imputed.features == 3)  // x, c=even, c=odd
    }

    @Test func unknownParameterIsAClearError() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        do {
            _ = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .knn, parameters: ["depth": "3"]))
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .invalidParameter)
            #expect(error.message.contains("n_neighbors"))
        }
    }

    @Test func unseenCategoryAtPredictionIsAClearError() throws {
        var csv = "color,size,label\n"
        for i in 0..<30 { csv += "\(["red", "green"][i % 2]),\(i),\(i % 2 == 0 ? "yes" : "no")\n" }
        let (model, _) = try Trainer.train(
            data: try DataTable.parse(csv: csv), options: TrainingOptions(target: "label", model: .decisionTree))
        #expect(try model.predict(try DataTable.parse(csv: "color,size\nred,3\n")).labels == ["yes"])
        do {
            _ = try model.predict(try DataTable.parse(csv: "color,size\npurple,3\n"))
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .unseenCategory)
            #expect(error.message.contains("purple"))
        }
    }

    @Test func allMissingCategoricalFeatureWithImputeDoesNotCrash() throws {
        var csv = "x,c,y\n"
        for i in 0..<20 { csv += "\(i),NA,\(i < 10 ? "a" : "b")\n" }
        let table = try DataTable.parse(csv: csv, categorical: ["c"])
        for encoding in ["one-hot", "label"] {
            let (model, report) = try Trainer.train(
                data: table, options: TrainingOptions(target: "y", model: .knn, parameters: ["missing": "impute", "encoding": encoding]))
            #expect(report.trainRows == 16)
            #expect(try model.predict(DataTable.parse(csv: "x,c\n3,\n", categorical: ["c"])).labels == ["a"])
        }
    }

    @Test func headerOnlyDataGivesNoPredictions() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .logisticRegression))
        let empty = try DataTable.parse(csv: "sepal_length,sepal_width,petal_length,petal_width\n")
        #expect(try model.predict(empty).labels.isEmpty)
    }

    @Test func tinyDataFallsBackToTrainingMetrics() throws {
        let table = try DataTable.parse(csv: "x,y\n1,a\n2,b\n3,a\n")
        let (_, report) = try Trainer.train(data: table, options: TrainingOptions(target: "y", model: .decisionTree, testSize: 0.1))
        #expect(report.metrics.evaluatedOn == "train")
        #expect(report.trainRows == 3)
    }
}

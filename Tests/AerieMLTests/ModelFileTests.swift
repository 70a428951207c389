import Foundation
import Testing
@testable import AerieML

@Suite struct ModelFileTests {
    @Test(arguments: ModelKind.allCases)
    func roundTripKeepsPredictions(kind: ModelKind) throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(
            data: table, options: TrainingOptions(target: "species", model: kind, parameters: kind == .randomForest ? ["n_estimators": "5"] : [:]))
        let path = Fixture.temporaryPath(".aerieml")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let loaded = try TabularModel.load(from: path)
        #expect(loaded.metadata == model.metadata)
        let a = try model.predict(table)
        let b = try loaded.predict(loaded.readTable(path: Fixture.path("iris.csv")))
        #expect(a.labels == b.labels)
        if kind != .decisionTree && kind != .randomForest {
            #expect(loaded.model == model.model)
        }
    }

    @Test func regressionRoundTripIsExact() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(
            data: table, options: TrainingOptions(target: "petal_width", model: .randomForest, parameters: ["n_estimators": "4"]))
        let loaded = try TabularModel.decode(try model.encoded())
        #expect(loaded.model == model.model)
    }

    @Test func newerVersionIsRejected() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .naiveBayes))
        var bytes = try model.encoded()
        bytes[8] = UInt8(TabularModel.formatVersion + 1)
        do {
            _ = try TabularModel.decode(bytes)
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .modelFile)
            #expect(error.message.contains("newer"))
            #expect(error.message.contains("upgrade"))
        }
        bytes[8] = 0
        #expect(throws: MLError.self) { try TabularModel.decode(bytes) }
    }

    @Test func foreignOrTruncatedFilesAreRejected() throws {
        #expect(throws: MLError.self) { try TabularModel.decode(Array("species,x\n1,2\n".utf8)) }
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .decisionTree))
        let bytes = try model.encoded()
        #expect(throws: MLError.self) { try TabularModel.decode(Array(bytes.dropLast(5))) }
    }
}

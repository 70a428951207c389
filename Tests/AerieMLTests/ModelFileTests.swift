import CZlib
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

@Suite struct CompactModelFileTests {
    /// Version 1 files (uncompressed) are refused with a message saying to retrain.
    @Test func olderVersionIsRejectedWithAClearError() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .naiveBayes))
        var bytes = try model.encoded()
        bytes[8] = 1
        do {
            _ = try TabularModel.decode(bytes)
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .modelFile)
            #expect(error.message.contains("retrain"))
        }
    }

    /// Fill values, scaling and metrics survive the compact encoding exactly, for scaled and
    /// unscaled models, with categorical features and imputation.
    @Test(arguments: [ModelKind.logisticRegression, .naiveBayes, .decisionTree])
    func compactEncodingRoundTripsTheMetadataExactly(kind: ModelKind) throws {
        let csv = "a,b,c,y\n1.5,x,3,p\n2.25,y,,q\n,x,5,p\n4,z,6,q\n5,y,7.125,p\n6,x,8,q\n7,z,9,p\n8,y,1,q\n"
        let table = try DataTable.parse(csv: csv)
        let (model, _) = try Trainer.train(
            data: table, options: TrainingOptions(target: "y", model: kind, parameters: ["missing": "impute"], testSize: 0))
        let loaded = try TabularModel.decode(try model.encoded())
        #expect(loaded.metadata == model.metadata)
        #expect(loaded.model == model.model || kind == .decisionTree)
        #expect(loaded.metadata.preprocessor.features.map(\.fillValue) == model.metadata.preprocessor.features.map(\.fillValue))
        #expect(try loaded.predict(table).labels == model.predict(table).labels)
    }

    /// A corrupted compressed body is an error, not a crash.
    @Test func corruptBodyIsRejected() throws {
        let table = try DataTable.read(path: Fixture.path("iris.csv"))
        let (model, _) = try Trainer.train(data: table, options: TrainingOptions(target: "species", model: .logisticRegression))
        var bytes = try model.encoded()
        for i in stride(from: 30, to: bytes.count, by: 7) { bytes[i] ^= 0x5A }
        #expect(throws: MLError.self) { try TabularModel.decode(bytes) }
        var huge = try model.encoded()
        huge[23] = 0x7F  // claims an impossible body length
        #expect(throws: MLError.self) { try TabularModel.decode(huge) }
    }

    /// The preset dictionary is part of format version 2: editing it must come with a new
    /// format version (then update the expected checksum here).
    @Test func compressionDictionaryIsUnchanged() {
        let crc = ModelFileDictionary.bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        #expect(ModelFileDictionary.bytes.count == 1343)
        #expect(crc == 0xAC42_FE75 || TabularModel.formatVersion != 2, "dictionary crc \(String(crc, radix: 16))")
    }

    @Test func confusionMatrixRecomputesTheMetrics() {
        let m = ClassificationMetrics(truth: [0, 0, 1, 1, 2, 2, 2], predicted: [0, 1, 1, 1, 0, 2, 2], labels: ["a", "b", "c"])
        #expect(ClassificationMetrics(confusion: m.confusion, labels: m.labels) == m)
    }
}

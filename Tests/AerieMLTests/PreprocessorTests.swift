import Testing
@testable import AerieML

@Suite struct PreprocessorTests {
    let table = try! DataTable.parse(csv: "x,c\n0,a\n5,b\n10,a\nNA,\n")

    @Test func minMaxScalingHitsZeroAndOne() throws {
        let p = try Preprocessor.fit(table: table, features: ["x"], encoding: .oneHot, scaling: .minMax)
        let m = try p.transform(table)
        #expect(m.values[0] == 0 && m.values[1] == 0.5 && m.values[2] == 1)
        // The missing value is filled with the training mean (5) before scaling.
        #expect(m.values[3] == 0.5)
    }

    @Test func standardScalingGivesZeroMeanUnitVariance() throws {
        let t = try DataTable.parse(csv: "x\n1\n2\n3\n4\n")
        let p = try Preprocessor.fit(table: t, features: ["x"], encoding: .oneHot, scaling: .standard)
        let v = try p.transform(t).values
        let mean = v.reduce(0, +) / 4
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4
        #expect(abs(mean) < 1e-12)
        #expect(abs(variance - 1) < 1e-12)
    }

    @Test func constantColumnScalesToZeroWithoutDividingByZero() throws {
        let t = try DataTable.parse(csv: "x\n7\n7\n7\n")
        for method in [ScalingMethod.minMax, .standard] {
            let p = try Preprocessor.fit(table: t, features: ["x"], encoding: .oneHot, scaling: method)
            #expect(try p.transform(t).values == [0, 0, 0])
        }
    }

    @Test func oneHotAndLabelEncoding() throws {
        let oneHot = try Preprocessor.fit(table: table, features: ["c"], encoding: .oneHot, scaling: .none)
        #expect(oneHot.outputNames == ["c=a", "c=b"])
        // Missing category → most frequent (a).
        #expect(try oneHot.transform(table).values == [1, 0, 0, 1, 1, 0, 1, 0])
        let label = try Preprocessor.fit(table: table, features: ["c"], encoding: .label, scaling: .none)
        #expect(try label.transform(table).values == [0, 1, 0, 0])
    }

    @Test func unseenCategoryIsAClearError() throws {
        let p = try Preprocessor.fit(table: table, features: ["c"], encoding: .oneHot, scaling: .none)
        let other = try DataTable.parse(csv: "c\na\nz\n")
        do {
            _ = try p.transform(other)
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .unseenCategory)
            #expect(error.message.contains("'z'"))
        }
    }

    @Test func missingColumnIsAClearError() throws {
        let p = try Preprocessor.fit(table: table, features: ["x", "c"], encoding: .oneHot, scaling: .none)
        let other = try DataTable.parse(csv: "x\n1\n")
        do {
            _ = try p.transform(other)
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .missingColumn)
            #expect(error.message.contains("'c'"))
        }
    }

    @Test func stratifiedSplitKeepsProportionsAndIsSeeded() {
        let labels = Array(repeating: 0, count: 80) + Array(repeating: 1, count: 20)
        let a = DataSplit.stratified(labels: labels, testFraction: 0.25, seed: 7)
        let b = DataSplit.stratified(labels: labels, testFraction: 0.25, seed: 7)
        #expect(a.train == b.train && a.test == b.test)
        #expect(a.test.count == 25)
        #expect(a.test.filter { labels[$0] == 1 }.count == 5)
        #expect(Set(a.train).isDisjoint(with: a.test))
        #expect(a.train.count + a.test.count == 100)
    }
}

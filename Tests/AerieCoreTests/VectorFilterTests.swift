import AerieCore
import Testing

@Suite struct VectorFilterTests {
    let prompt: [String: KeyValue] = ["size": "512x512", "scheduler": "euler", "steps": 30, "guidance": 7.5, "seed": 42]

    @Test func aDictionaryLiteralIsEqualityOnEveryKey() {
        #expect((["size": "512x512", "steps": 30, "guidance": 7.5, "seed": 42] as VectorFilter).matches(prompt))
        #expect(!(["size": "512x512", "steps": 31] as VectorFilter).matches(prompt))
        #expect(VectorFilter.matching(["scheduler": "euler", "seed": 42]).matches(prompt))
        #expect(!VectorFilter.matching(["scheduler": "euler", "seed": 43]).matches(prompt))
    }

    @Test func numbersAndStringsNeverEqualEachOther() {
        #expect((["steps": 30.0] as VectorFilter).matches(prompt))
        #expect(!(["steps": "30"] as VectorFilter).matches(prompt))
        #expect(!(["size": 512] as VectorFilter).matches(prompt))
    }

    @Test func aMissingKeyMatchesNothingButNot() {
        #expect(!(["negative": "blurry"] as VectorFilter).matches(prompt))
        #expect(!VectorFilter.oneOf("negative", ["blurry"]).matches(prompt))
        #expect(!VectorFilter.between("negative", lower: nil, upper: nil).matches(prompt))
        #expect(VectorFilter.not(.exists("negative")).matches(prompt))
        #expect(VectorFilter.exists("seed").matches(prompt))
    }

    @Test func oneOfBetweenAnyAllNot() {
        #expect(VectorFilter.oneOf("scheduler", ["ddim", "euler"]).matches(prompt))
        #expect(!VectorFilter.oneOf("scheduler", ["ddim"]).matches(prompt))
        #expect(VectorFilter.between("guidance", lower: 7, upper: 7.5).matches(prompt))
        #expect(!VectorFilter.between("guidance", lower: 7.6, upper: nil).matches(prompt))
        #expect(!VectorFilter.between("size", lower: 0, upper: nil).matches(prompt))  // a string is not within numbers
        #expect(VectorFilter.between("size", lower: "5", upper: "6").matches(prompt))
        #expect(VectorFilter.any([["seed": 1], ["seed": 42]]).matches(prompt))
        #expect(!VectorFilter.any([]).matches(prompt))
        #expect(VectorFilter.all([]).matches(prompt))
        #expect(!VectorFilter.not(["scheduler": "euler"]).matches(prompt))
    }
}

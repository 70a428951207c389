import AerieDiffusion
import Testing

@Suite("numpy RandomState")
struct NumpyRandomStateTests {
    struct Fixture: Decodable {
        struct Randn: Decodable {
            var seed: UInt32
            var first: [Double]
            var at_1995: [Double]
        }
        var randn: [Randn]
        var random_sample_seed5: [Double]
    }

    @Test func randnIsBitExact() throws {
        let fixture = try DiffusionFixtures.decode(Fixture.self, "random.json")
        #expect(fixture.randn.count == 5)
        for expected in fixture.randn {
            var random = NumpyRandomState(seed: expected.seed)
            let values = random.randn(2001)
            #expect(Array(values.prefix(10)) == expected.first, "seed \(expected.seed)")
            #expect(Array(values[1995...]) == expected.at_1995, "seed \(expected.seed)")
        }
    }

    @Test func randomSampleIsBitExact() throws {
        let fixture = try DiffusionFixtures.decode(Fixture.self, "random.json")
        var random = NumpyRandomState(seed: 5)
        #expect((0..<4).map { _ in random.nextDouble() } == fixture.random_sample_seed5)
    }

    @Test func differentSeedsDiffer() {
        var a = NumpyRandomState(seed: 1)
        var b = NumpyRandomState(seed: 2)
        #expect(a.randn(4) != b.randn(4))
    }
}

import AerieCore
import AerieDiffusion
import Foundation
import Testing

@Suite("Schedulers")
struct DiffusionSchedulerTests {
    struct Case: Decodable {
        var kind: String
        var steps: Int
        var seed: UInt32
        var size: Int
        var timesteps: [Double]
        var sigmas: [Double]
        var init_noise_sigma: Double
        var scaled_inputs: [[Float]]
        var samples: [[Float]]
        var config_name: String
        var config: SchedulerConfig
    }

    static func close(_ a: Double, _ b: Double, relative: Double) -> Bool {
        abs(a - b) <= relative * max(1, abs(b))
    }

    /// Timesteps exactly, sigmas to 1e-12, every intermediate sample to 1e-5 (relative, float32 math in both).
    @Test(arguments: SchedulerKind.allCases)
    func matchesTheReference(kind: SchedulerKind) throws {
        let cases = try DiffusionFixtures.decode([Case].self, "schedulers.json").filter { $0.kind == kind.rawValue }
        #expect(cases.count == 9)
        for item in cases {
            let label = "\(item.kind) \(item.config_name) \(item.steps) steps"
            var scheduler = try DiffusionScheduler(kind: kind, config: item.config, steps: item.steps)
            #expect(scheduler.timesteps == item.timesteps, "\(label)")
            #expect(scheduler.sigmas.count == item.sigmas.count, "\(label)")
            for (a, b) in zip(scheduler.sigmas, item.sigmas) { #expect(Self.close(a, b, relative: 1e-12), "\(label) sigma") }
            #expect(Self.close(scheduler.initNoiseSigma, item.init_noise_sigma, relative: 1e-12), "\(label)")
            var random = NumpyRandomState(seed: item.seed)
            let sigma = Float(scheduler.initNoiseSigma)
            var sample = random.randn(item.size).map { Float($0) * sigma }
            var worst: Float = 0
            for index in scheduler.timesteps.indices {
                let scaled = scheduler.scaleModelInput(sample, index: index)
                for (a, b) in zip(scaled.prefix(4), item.scaled_inputs[index]) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
                var outputs = NumpyRandomState(seed: UInt32(100 + index))
                let output = outputs.randn(item.size).map { Float($0) }
                sample = scheduler.step(output, index: index, sample: sample, random: &random)
                for (a, b) in zip(sample, item.samples[index]) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            }
            #expect(worst <= 1e-5, "\(label): worst relative difference \(worst)")
        }
    }

    @Test func pndmRunsOneExtraStepAndRejectsPRK() throws {
        let config = SchedulerConfig()
        #expect(try DiffusionScheduler(kind: .pndm, config: config, steps: 10).timesteps.count == 11)
        var prk = config
        prk.skipPrkSteps = false
        #expect(throws: AerieError.self) { try DiffusionScheduler(kind: .pndm, config: prk, steps: 10) }
        #expect(throws: AerieError.self) { try DiffusionScheduler(kind: .ddim, config: config, steps: 0) }
    }

    @Test func configDefaultsAndValidation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("scheduler_config.json")
        try Data(#"{"_class_name": "EulerDiscreteScheduler"}"#.utf8).write(to: file)
        let config = try SchedulerConfig.load(file)
        #expect(config.className == "EulerDiscreteScheduler" && config.stepsOffset == 1 && config.predictionType == "epsilon")
        try Data(#"{"prediction_type": "sample"}"#.utf8).write(to: file)
        let error = #expect(throws: AerieError.self) { try SchedulerConfig.load(file) }
        #expect(error?.field == "prediction_type")
        #expect(SchedulerKind(diffusersClassName: "EulerAncestralDiscreteScheduler") == .eulerAncestral)
        #expect(SchedulerKind(diffusersClassName: "LMSDiscreteScheduler") == nil)
    }
}

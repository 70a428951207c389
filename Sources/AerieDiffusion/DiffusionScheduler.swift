import AerieCore
import Foundation

/// One run of a noise scheduler (DDIM, PNDM with `skip_prk_steps`, Euler, Euler ancestral) as diffusers
/// defines it, for the config of a pipeline and a number of inference steps.
///
/// Schedule coefficients (betas, cumulative alphas, sigmas) are computed in `Double`, then applied to the
/// `Float` latents one numpy-style operation at a time (the reference, `scripts/imagine_reference.py`, does
/// the same in numpy float32). DDIM runs with `eta = 0`, Euler with `s_churn = 0`. Euler ancestral draws its
/// noise from the request's ``NumpyRandomState`` after the initial latents: `randn(latent count)` at every step.
public struct DiffusionScheduler: Sendable {
    public let kind: SchedulerKind
    public let config: SchedulerConfig
    public let inferenceSteps: Int
    /// The model timesteps, one per denoising step (PNDM has `inferenceSteps + 1` of them).
    public let timesteps: [Double]
    /// Euler's sigmas, one per timestep plus a final 0 (empty for DDIM and PNDM).
    public let sigmas: [Double]
    /// What the initial unit-variance noise is multiplied by.
    public let initNoiseSigma: Double
    let alphasCumprod: [Double]
    let finalAlphaCumprod: Double
    private var ets: [[Float]] = []
    private var counter = 0
    private var currentSample: [Float]?

    public init(kind: SchedulerKind, config: SchedulerConfig, steps: Int) throws {
        let trainSteps = config.numTrainTimesteps
        guard steps >= 1, steps <= trainSteps else {
            throw AerieError.invalid("steps must be between 1 and \(trainSteps) (the scheduler's num_train_timesteps).", field: "steps")
        }
        if kind == .pndm, !config.skipPrkSteps {
            throw AerieError.invalid(
                "PNDM without skip_prk_steps is not supported; set skip_prk_steps to true in scheduler_config.json or use another scheduler.",
                field: "scheduler")
        }
        self.kind = kind
        self.config = config
        self.inferenceSteps = steps
        let betas: [Double]
        switch config.betaSchedule {
        case "linear":
            betas = Self.linspace(config.betaStart, config.betaEnd, trainSteps)
        default:
            betas = Self.linspace(config.betaStart.squareRoot(), config.betaEnd.squareRoot(), trainSteps).map { $0 * $0 }
        }
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= 1.0 - beta
            return product
        }
        finalAlphaCumprod = config.setAlphaToOne ? 1.0 : alphasCumprod[0]
        let spacing = config.timestepSpacing
        let offset = Double(config.stepsOffset)

        switch kind {
        case .ddim:
            let ints: [Double]
            switch spacing {
            case "linspace": ints = Self.linspace(0, Double(trainSteps - 1), steps).map { $0.rounded(.toNearestOrEven) }.reversed()
            case "trailing": ints = Self.arangeDown(Double(trainSteps), by: Double(trainSteps) / Double(steps)).map { $0.rounded(.toNearestOrEven) - 1 }
            default: ints = (0..<steps).map { Double($0 * (trainSteps / steps)) + offset }.reversed()
            }
            timesteps = ints
            sigmas = []
            initNoiseSigma = 1
        case .pndm:
            let base: [Double]
            switch spacing {
            case "linspace": base = Self.linspace(0, Double(trainSteps - 1), steps).map { $0.rounded(.toNearestOrEven) }
            case "trailing":
                base = Self.arangeDown(Double(trainSteps), by: Double(trainSteps) / Double(steps)).map { $0.rounded(.toNearestOrEven) - 1 }.reversed()
            default: base = (0..<steps).map { Double($0 * (trainSteps / steps)) + offset }
            }
            var plms = Array(base.dropLast())
            if base.count >= 2 { plms.append(base[base.count - 2]) }
            if let last = base.last { plms.append(last) }
            timesteps = plms.reversed()
            sigmas = []
            initNoiseSigma = 1
        case .euler, .eulerAncestral:
            let ts: [Double]
            switch spacing {
            case "linspace": ts = Self.linspace(0, Double(trainSteps - 1), steps).reversed()
            case "trailing": ts = Self.arangeDown(Double(trainSteps), by: Double(trainSteps) / Double(steps)).map { $0.rounded(.toNearestOrEven) - 1 }
            default: ts = (0..<steps).map { Double($0 * (trainSteps / steps)) }.reversed().map { $0 + offset }
            }
            timesteps = ts
            let all = alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
            sigmas = ts.map { Self.interpolate($0, all) } + [0]
            let maxSigma = sigmas.max() ?? 0
            initNoiseSigma = (spacing == "linspace" || spacing == "trailing") ? maxSigma : (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    /// numpy's `linspace(start, stop, count)` (endpoint included, last value exactly `stop`).
    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }

    /// numpy's `arange(start, 0, -step)` for positive `start` and `step`.
    static func arangeDown(_ start: Double, by step: Double) -> [Double] {
        let count = Int((start / step).rounded(.up))
        return (0..<count).map { start + Double($0) * -step }
    }

    /// numpy's `interp(x, arange(n), values)`.
    static func interpolate(_ x: Double, _ values: [Double]) -> Double {
        if x <= 0 { return values[0] }
        if x >= Double(values.count - 1) { return values[values.count - 1] }
        let low = Int(x.rounded(.down))
        let fraction = x - Double(low)
        if fraction == 0 { return values[low] }
        let slope = (values[low + 1] - values[low]) / 1.0
        return slope * fraction + values[low]
    }

    /// The model input for step `index` (Euler divides by `sqrt(sigma² + 1)`; the others pass it through).
    public func scaleModelInput(_ sample: [Float], index: Int) -> [Float] {
        switch kind {
        case .ddim, .pndm: return sample
        case .euler, .eulerAncestral:
            let sigma = sigmas[index]
            let divisor = Float((sigma * sigma + 1).squareRoot())
            return sample.map { $0 / divisor }
        }
    }

    /// Advances `sample` by step `index` given the model's prediction; `random` supplies Euler ancestral's noise.
    public mutating func step(_ modelOutput: [Float], index: Int, sample: [Float], random: inout NumpyRandomState) -> [Float] {
        switch kind {
        case .ddim: return ddimStep(modelOutput, index: index, sample: sample)
        case .pndm: return plmsStep(modelOutput, index: index, sample: sample)
        case .euler: return eulerStep(modelOutput, index: index, sample: sample)
        case .eulerAncestral: return ancestralStep(modelOutput, index: index, sample: sample, random: &random)
        }
    }

    private func alpha(_ timestep: Int) -> Double {
        timestep >= 0 ? alphasCumprod[timestep] : finalAlphaCumprod
    }

    private func ddimStep(_ output: [Float], index: Int, sample: [Float]) -> [Float] {
        let timestep = Int(timesteps[index])
        let previous = timestep - config.numTrainTimesteps / inferenceSteps
        let alphaT = alpha(timestep)
        let alphaPrev = alpha(previous)
        let betaT = 1 - alphaT
        let sqrtAlpha = Float(alphaT.squareRoot())
        let sqrtBeta = Float(betaT.squareRoot())
        let sqrtAlphaPrev = Float(alphaPrev.squareRoot())
        let direction = Float((1 - alphaPrev).squareRoot())
        var result = [Float](repeating: 0, count: sample.count)
        let v = config.predictionType == "v_prediction"
        for i in 0..<sample.count {
            let x = sample[i]
            let e = output[i]
            let original: Float
            let epsilon: Float
            if v {
                original = sqrtAlpha * x - sqrtBeta * e
                epsilon = sqrtAlpha * e + sqrtBeta * x
            } else {
                original = (x - sqrtBeta * e) / sqrtAlpha
                epsilon = e
            }
            result[i] = sqrtAlphaPrev * original + direction * epsilon
        }
        return result
    }

    private mutating func plmsStep(_ output: [Float], index: Int, sample: [Float]) -> [Float] {
        let ratio = config.numTrainTimesteps / inferenceSteps
        var timestep = Int(timesteps[index])
        var previous = timestep - ratio
        if counter != 1 {
            if ets.count > 3 { ets.removeFirst(ets.count - 3) }
            ets.append(output)
        } else {
            previous = timestep
            timestep += ratio
        }
        var combined: [Float]
        var input = sample
        let n = sample.count
        if ets.count == 1 && counter == 0 {
            combined = output
            currentSample = sample
        } else if ets.count == 1 && counter == 1 {
            let last = ets[0]
            combined = (0..<n).map { (output[$0] + last[$0]) / 2 }
            input = currentSample ?? sample
            currentSample = nil
        } else if ets.count == 2 {
            let (e1, e2) = (ets[1], ets[0])
            combined = (0..<n).map { (3 * e1[$0] - e2[$0]) / 2 }
        } else if ets.count == 3 {
            let (e1, e2, e3) = (ets[2], ets[1], ets[0])
            combined = (0..<n).map { (23 * e1[$0] - 16 * e2[$0] + 5 * e3[$0]) / 12 }
        } else {
            let (e1, e2, e3, e4) = (ets[3], ets[2], ets[1], ets[0])
            let scale = Float(1.0 / 24.0)
            combined = (0..<n).map { scale * (55 * e1[$0] - 59 * e2[$0] + 37 * e3[$0] - 9 * e4[$0]) }
        }
        counter += 1

        let alphaT = alpha(timestep)
        let alphaPrev = alpha(previous)
        let betaT = 1 - alphaT
        let betaPrev = 1 - alphaPrev
        if config.predictionType == "v_prediction" {
            let a = Float(alphaT.squareRoot())
            let b = Float(betaT.squareRoot())
            combined = (0..<n).map { a * combined[$0] + b * input[$0] }
        }
        let sampleCoefficient = Float((alphaPrev / alphaT).squareRoot())
        let difference = Float(alphaPrev - alphaT)
        let denominator = Float(alphaT * betaPrev.squareRoot() + (alphaT * betaT * alphaPrev).squareRoot())
        return (0..<n).map { sampleCoefficient * input[$0] - difference * combined[$0] / denominator }
    }

    /// The denoised estimate at `sigma` (`pred_original_sample`).
    private func original(_ output: [Float], sample: [Float], sigma: Double) -> [Float] {
        if config.predictionType == "v_prediction" {
            let a = Float(-sigma / (sigma * sigma + 1).squareRoot())
            let b = Float(sigma * sigma + 1)
            return (0..<sample.count).map { output[$0] * a + sample[$0] / b }
        }
        let s = Float(sigma)
        return (0..<sample.count).map { sample[$0] - s * output[$0] }
    }

    private func eulerStep(_ output: [Float], index: Int, sample: [Float]) -> [Float] {
        let sigma = sigmas[index]
        let denoised = original(output, sample: sample, sigma: sigma)
        let s = Float(sigma)
        let dt = Float(sigmas[index + 1] - sigma)
        return (0..<sample.count).map { i in
            let derivative = (sample[i] - denoised[i]) / s
            return sample[i] + derivative * dt
        }
    }

    private func ancestralStep(_ output: [Float], index: Int, sample: [Float], random: inout NumpyRandomState) -> [Float] {
        let sigma = sigmas[index]
        let next = sigmas[index + 1]
        let denoised = original(output, sample: sample, sigma: sigma)
        let up = (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot()
        let down = (next * next - up * up).squareRoot()
        let s = Float(sigma)
        let dt = Float(down - sigma)
        let noiseScale = Float(up)
        let noise = random.randn(sample.count)
        return (0..<sample.count).map { i in
            let derivative = (sample[i] - denoised[i]) / s
            let moved = sample[i] + derivative * dt
            return moved + Float(noise[i]) * noiseScale
        }
    }
}

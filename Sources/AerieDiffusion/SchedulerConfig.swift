import AerieCore
import Foundation

/// `scheduler/scheduler_config.json` of a diffusers pipeline: the training noise schedule and how
/// inference timesteps are spaced. Missing keys take the values of Stable Diffusion 1.x's config.
public struct SchedulerConfig: Sendable, Hashable, Codable {
    /// `_class_name`, e.g. `PNDMScheduler`.
    public var className: String
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    /// `scaled_linear` (SD) or `linear`.
    public var betaSchedule: String
    public var stepsOffset: Int
    public var setAlphaToOne: Bool
    public var skipPrkSteps: Bool
    /// `epsilon` or `v_prediction`.
    public var predictionType: String
    /// `leading`, `trailing` or `linspace`.
    public var timestepSpacing: String

    public init(
        className: String = "PNDMScheduler", numTrainTimesteps: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012,
        betaSchedule: String = "scaled_linear", stepsOffset: Int = 1, setAlphaToOne: Bool = false, skipPrkSteps: Bool = true,
        predictionType: String = "epsilon", timestepSpacing: String = "leading"
    ) {
        self.className = className
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.stepsOffset = stepsOffset
        self.setAlphaToOne = setAlphaToOne
        self.skipPrkSteps = skipPrkSteps
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
    }

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case stepsOffset = "steps_offset"
        case setAlphaToOne = "set_alpha_to_one"
        case skipPrkSteps = "skip_prk_steps"
        case predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SchedulerConfig()
        className = try c.decodeIfPresent(String.self, forKey: .className) ?? d.className
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? d.numTrainTimesteps
        betaStart = try c.decodeIfPresent(Double.self, forKey: .betaStart) ?? d.betaStart
        betaEnd = try c.decodeIfPresent(Double.self, forKey: .betaEnd) ?? d.betaEnd
        betaSchedule = try c.decodeIfPresent(String.self, forKey: .betaSchedule) ?? d.betaSchedule
        stepsOffset = try c.decodeIfPresent(Int.self, forKey: .stepsOffset) ?? d.stepsOffset
        setAlphaToOne = try c.decodeIfPresent(Bool.self, forKey: .setAlphaToOne) ?? d.setAlphaToOne
        skipPrkSteps = try c.decodeIfPresent(Bool.self, forKey: .skipPrkSteps) ?? d.skipPrkSteps
        predictionType = try c.decodeIfPresent(String.self, forKey: .predictionType) ?? d.predictionType
        timestepSpacing = try c.decodeIfPresent(String.self, forKey: .timestepSpacing) ?? d.timestepSpacing
    }

    /// Reads and checks a `scheduler_config.json`.
    public static func load(_ file: URL) throws -> SchedulerConfig {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw AerieError.notFound("There is no scheduler config at \(file.path); a diffusers pipeline has scheduler/scheduler_config.json.")
        }
        let config: SchedulerConfig
        do { config = try JSONDecoder().decode(SchedulerConfig.self, from: data) } catch {
            throw AerieError.invalid("\(file.path) is not a valid scheduler config: \(error).")
        }
        try config.validate(file: file.path)
        return config
    }

    func validate(file: String) throws {
        guard ["scaled_linear", "linear"].contains(betaSchedule) else {
            throw AerieError.invalid("\(file): beta_schedule \(betaSchedule) is not supported; use scaled_linear or linear.", field: "beta_schedule")
        }
        guard ["epsilon", "v_prediction"].contains(predictionType) else {
            throw AerieError.invalid("\(file): prediction_type \(predictionType) is not supported; use epsilon or v_prediction.", field: "prediction_type")
        }
        guard ["leading", "trailing", "linspace"].contains(timestepSpacing) else {
            throw AerieError.invalid("\(file): timestep_spacing \(timestepSpacing) is not supported; use leading, trailing or linspace.", field: "timestep_spacing")
        }
        guard numTrainTimesteps >= 2 else {
            throw AerieError.invalid("\(file): num_train_timesteps must be at least 2.", field: "num_train_timesteps")
        }
    }
}

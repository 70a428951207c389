/// The noise schedulers the pipeline runs; raw values are the names used in APIs and fixtures.
public enum SchedulerKind: String, CaseIterable, Sendable, Codable {
    case ddim
    case pndm
    case euler
    case eulerAncestral = "euler_ancestral"

    /// The scheduler a diffusers `_class_name` (`PNDMScheduler`, `DDIMScheduler`, …) stands for, if supported.
    public init?(diffusersClassName name: String) {
        switch name {
        case "DDIMScheduler": self = .ddim
        case "PNDMScheduler": self = .pndm
        case "EulerDiscreteScheduler": self = .euler
        case "EulerAncestralDiscreteScheduler": self = .eulerAncestral
        default: return nil
        }
    }
}

import AerieCore
import AerieDiffusion
import Foundation

/// A generation request with every parameter resolved (defaults filled in, the seed drawn when absent).
public struct ImageParameters: Sendable, Hashable, Codable {
    public var prompt: String
    public var negativePrompt: String
    public var width: Int
    public var height: Int
    public var steps: Int
    public var guidance: Double
    public var seed: UInt32
    public var scheduler: String
    /// Whether the caller chose the seed (then only images of that seed can serve the request).
    public var seedGiven: Bool

    enum CodingKeys: String, CodingKey {
        case prompt, width, height, steps, guidance, seed, scheduler
        case negativePrompt = "negative_prompt"
        case seedGiven = "seed_given"
    }

    /// The fields that must be equal for a stored image to serve this request (the seed is filtered separately).
    public var compatibilityKey: String {
        let guidanceText = String(format: "%.4f", guidance)
        let negative = negativePrompt.isEmpty ? "" : "|neg=\(negativePrompt)"
        return "\(width)x\(height)|\(scheduler)|\(steps)|\(guidanceText)\(negative)"
    }

    public init(prompt: String, negativePrompt: String, width: Int, height: Int, steps: Int, guidance: Double, seed: UInt32,
                scheduler: String, seedGiven: Bool) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.width = width
        self.height = height
        self.steps = steps
        self.guidance = guidance
        self.seed = seed
        self.scheduler = scheduler
        self.seedGiven = seedGiven
    }

    /// The parameters as the API shows them (`parameters` of an image).
    public var resolvedJSON: JSONValue {
        var object: [String: JSONValue] = [:]
        object["negative_prompt"] = .string(negativePrompt)
        object["width"] = .number(Double(width))
        object["height"] = .number(Double(height))
        object["steps"] = .number(Double(steps))
        object["guidance"] = .number(guidance)
        object["seed"] = .number(Double(seed))
        object["scheduler"] = .string(scheduler)
        return .object(object)
    }

    /// Parameters read back from their ``resolvedJSON`` form.
    init?(resolved: [String: JSONValue], prompt: String, seedGiven: Bool) {
        guard let width = resolved["width"]?.numberValue, let height = resolved["height"]?.numberValue,
            let steps = resolved["steps"]?.numberValue, let guidance = resolved["guidance"]?.numberValue,
            let seed = resolved["seed"]?.numberValue, let scheduler = resolved["scheduler"]?.stringValue
        else { return nil }
        self.init(prompt: prompt, negativePrompt: resolved["negative_prompt"]?.stringValue ?? "", width: Int(width), height: Int(height),
                  steps: Int(steps), guidance: guidance, seed: UInt32(clamping: Int64(seed)), scheduler: scheduler, seedGiven: seedGiven)
    }

    /// The diffusion request for these parameters.
    public var diffusionRequest: DiffusionRequest {
        DiffusionRequest(prompt: prompt, negativePrompt: negativePrompt, width: width, height: height, steps: steps,
                         guidance: Float(guidance), seed: seed, scheduler: SchedulerKind(rawValue: scheduler))
    }

    static let fields: Set<String> = ["prompt", "negative_prompt", "width", "height", "steps", "guidance", "seed", "scheduler"]

    /// Parses and validates a `POST /v1/apps/imagine/images` body; throws `invalid-argument` whose field is the
    /// JSON pointer of the first bad field (`/prompt`, `/width`…).
    public static func parse(_ body: JSONValue, sampleSize: Int, defaultScheduler: SchedulerKind,
                             randomSeed: () -> UInt32 = { UInt32.random(in: .min ... .max) }) throws -> ImageParameters {
        guard case .object(let object) = body else {
            throw AerieError.invalid("The body must be a JSON object such as {\"prompt\": \"a cat on a sofa\"}.", field: "/")
        }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw AerieError.invalid("\(unknown) is not a field of an image request; the fields are \(fields.sorted().joined(separator: ", ")).",
                                     field: "/\(unknown)")
        }
        func string(_ name: String) throws -> String? {
            switch object[name] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw AerieError.invalid("\(name) must be a string.", field: "/\(name)")
            }
        }
        func number(_ name: String) throws -> Double? {
            switch object[name] {
            case nil, .null?: return nil
            case .number(let value)?: return value
            default: throw AerieError.invalid("\(name) must be a number.", field: "/\(name)")
            }
        }
        func integer(_ name: String, _ range: ClosedRange<Double>, _ rule: String) throws -> Int? {
            guard let value = try number(name) else { return nil }
            guard value.rounded() == value, range.contains(value) else {
                throw AerieError.invalid("\(name) must be \(rule), not \(JSONValue.number(value).compactText).", field: "/\(name)")
            }
            return Int(value)
        }
        guard let prompt = try string("prompt") else {
            throw AerieError.invalid("prompt is required: a description of the image, 1–500 characters.", field: "/prompt")
        }
        let trimmed = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, prompt.count <= 500 else {
            throw AerieError.invalid("prompt must be 1–500 characters (it has \(prompt.count)\(trimmed.isEmpty ? ", all blank" : "")).", field: "/prompt")
        }
        let negative = try string("negative_prompt") ?? ""
        guard negative.count <= 500 else {
            throw AerieError.invalid("negative_prompt must be at most 500 characters (it has \(negative.count)).", field: "/negative_prompt")
        }
        let defaultSize = sampleSize * 8
        var size: [String: Int] = [:]
        for name in ["width", "height"] {
            let value = try integer(name, 64...1024, "a multiple of 8 from 64 to 1024") ?? defaultSize
            guard value % 8 == 0, (64...1024).contains(value) || object[name] == nil else {
                throw AerieError.invalid("\(name) must be a multiple of 8 from 64 to 1024, not \(value).", field: "/\(name)")
            }
            size[name] = value
        }
        let steps = try integer("steps", 1...100, "an integer from 1 to 100") ?? 20
        let guidance = try number("guidance") ?? 7.5
        guard guidance.isFinite, (0...20).contains(guidance) else {
            throw AerieError.invalid("guidance must be a number from 0 to 20, not \(JSONValue.number(guidance).compactText).", field: "/guidance")
        }
        let seed = try integer("seed", 0...Double(UInt32.max), "an integer from 0 to 4294967295")
        var scheduler = defaultScheduler
        if let name = try string("scheduler") {
            guard let kind = SchedulerKind(rawValue: name) else {
                throw AerieError.invalid("scheduler must be one of \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(name)\".",
                                         field: "/scheduler")
            }
            scheduler = kind
        }
        return ImageParameters(prompt: prompt, negativePrompt: negative, width: size["width"] ?? defaultSize,
                               height: size["height"] ?? defaultSize, steps: steps, guidance: guidance,
                               seed: seed.map { UInt32($0) } ?? randomSeed(), scheduler: scheduler.rawValue, seedGiven: seed != nil)
    }
}

extension JSONValue {
    /// The value as compact JSON text, for messages.
    var compactText: String { String(decoding: encoded(), as: UTF8.self) }
}

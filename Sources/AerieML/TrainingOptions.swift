/// What to train: the target, the algorithm, its parameters and how to evaluate it.
public struct TrainingOptions: Sendable {
    public var target: String
    public var model: ModelKind
    public var task: MLTask
    /// Algorithm and preprocessing parameters by name (`max_depth`, `scale`, …), as text.
    public var parameters: [String: String]
    /// Fraction of rows held out for evaluation when no test table is given (0 evaluates on training rows).
    public var testSize: Double
    public var seed: UInt64
    /// Threads for fitting and evaluating (`nil`: all cores). Results do not depend on it.
    public var threads: Int?

    public init(
        target: String, model: ModelKind, task: MLTask = .auto, parameters: [String: String] = [:],
        testSize: Double = 0.2, seed: UInt64 = 0, threads: Int? = nil
    ) {
        self.threads = threads
        self.target = target
        self.model = model
        self.task = task
        self.parameters = parameters
        self.testSize = testSize
        self.seed = seed
    }

    /// Parameter names each algorithm accepts, beyond the preprocessing ones.
    public static func parameterNames(for kind: ModelKind) -> [String] {
        let tree = ["criterion", "max_depth", "min_samples_split", "min_samples_leaf", "max_features"]
        switch kind {
        case .decisionTree: return tree
        case .randomForest: return tree + ["n_estimators", "bootstrap"]
        case .logisticRegression: return ["C", "max_iter", "tol"]
        case .svm: return ["kernel", "C", "gamma", "tol", "max_iter"]
        case .naiveBayes: return ["var_smoothing"]
        case .knn: return ["n_neighbors"]
        }
    }

    /// Preprocessing parameter names every algorithm accepts.
    public static let preprocessingNames = ["missing", "encoding", "scale"]
}

/// Typed access to text parameters with errors that name the parameter and the accepted values.
struct ParameterReader {
    let values: [String: String]
    var resolved: [String: String] = [:]

    init(_ values: [String: String], kind: ModelKind) throws {
        self.values = values
        let known = Set(TrainingOptions.parameterNames(for: kind) + TrainingOptions.preprocessingNames)
        for name in values.keys.sorted() where !known.contains(name) {
            throw MLError(.invalidParameter, "unknown parameter '\(name)' for \(kind.rawValue); accepted: \(known.sorted().joined(separator: ", "))")
        }
    }

    mutating func string(_ name: String, default value: String) -> String {
        let v = values[name] ?? value
        resolved[name] = v
        return v
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default value: T) throws -> T where T.RawValue == String {
        guard let raw = values[name] else {
            resolved[name] = value.rawValue
            return value
        }
        guard let v = T(rawValue: raw) else {
            throw MLError(.invalidParameter, "parameter \(name)=\(raw) is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        resolved[name] = raw
        return v
    }

    mutating func int(_ name: String, default value: Int?, minimum: Int) throws -> Int? {
        guard let raw = values[name], raw.lowercased() != "none" else {
            resolved[name] = value.map(String.init) ?? "none"
            return value
        }
        guard let v = Int(raw), v >= minimum else {
            throw MLError(.invalidParameter, "parameter \(name)=\(raw) must be a whole number ≥ \(minimum)")
        }
        resolved[name] = raw
        return v
    }

    mutating func double(_ name: String, default value: Double, positive: Bool = true) throws -> Double {
        guard let raw = values[name] else {
            resolved[name] = "\(value)"
            return value
        }
        guard let v = Double(raw), v.isFinite, !positive || v > 0 else {
            throw MLError(.invalidParameter, "parameter \(name)=\(raw) must be a \(positive ? "positive " : "")number")
        }
        resolved[name] = raw
        return v
    }

    mutating func bool(_ name: String, default value: Bool) throws -> Bool {
        guard let raw = values[name] else {
            resolved[name] = "\(value)"
            return value
        }
        switch raw.lowercased() {
        case "true", "1", "yes": resolved[name] = "true"; return true
        case "false", "0", "no": resolved[name] = "false"; return false
        default: throw MLError(.invalidParameter, "parameter \(name)=\(raw) must be true or false")
        }
    }

    /// `max_features`: sqrt, log2, all (or none), a count, or a fraction in (0, 1].
    mutating func maxFeatures(default value: String, features: Int) throws -> Int {
        let raw = values["max_features"] ?? value
        resolved["max_features"] = raw
        let d = Double(max(1, features))
        switch raw.lowercased() {
        case "sqrt": return max(1, Int(d.squareRoot()))
        case "log2": return max(1, Int(log2(d)))
        case "all", "none": return features
        default:
            if let n = Int(raw), n >= 1 { return min(n, features) }
            if let f = Double(raw), f > 0, f <= 1 { return max(1, Int(f * d)) }
            throw MLError(.invalidParameter, "parameter max_features=\(raw) must be sqrt, log2, all, a count ≥ 1 or a fraction in (0, 1]")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

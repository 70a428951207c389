import AerieCore
import AerieML

/// Where the app keeps things in bucket `pipeline`: `raw/<owner>/<name>.csv` (uploads),
/// `preprocessed/<owner>/<name>.csv` and `.report.json`, and `models/<owner>/<name>/v<version>.model` and `.json`.
/// Uploads straight to `raw/<name>.csv` (no owner folder) belong to no user; admins see them.
public enum PipelineKeys {
    public static let bucket = "pipeline"
    public static let rawPrefix = "raw/"
    public static let preprocessedPrefix = "preprocessed/"
    public static let modelsPrefix = "models/"

    static func path(owner: String, name: String) -> String {
        owner.isEmpty ? name : "\(owner)/\(name)"
    }

    public static func raw(owner: String, name: String) -> String { "\(rawPrefix)\(path(owner: owner, name: name)).csv" }
    public static func preprocessed(owner: String, name: String) -> String { "\(preprocessedPrefix)\(path(owner: owner, name: name)).csv" }
    public static func report(owner: String, name: String) -> String { "\(preprocessedPrefix)\(path(owner: owner, name: name)).report.json" }
    public static func modelFolder(owner: String, name: String) -> String { "\(modelsPrefix)\(path(owner: owner, name: name))/" }
    public static func model(owner: String, name: String, version: Int) -> String { "\(modelFolder(owner: owner, name: name))v\(version).model" }
    public static func modelDocument(owner: String, name: String, version: Int) -> String { "\(modelFolder(owner: owner, name: name))v\(version).json" }

    /// The owner and name of `<prefix><owner>/<name>.csv` or `<prefix><name>.csv`; nil for other keys.
    static func parse(_ key: String, prefix: String) -> (owner: String, name: String)? {
        guard key.hasPrefix(prefix), key.hasSuffix(".csv") else { return nil }
        let path = key.dropFirst(prefix.count).dropLast(".csv".count)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1 where isValidName(parts[0]): return ("", parts[0])
        case 2 where !parts[0].isEmpty && isValidName(parts[1]): return (parts[0], parts[1])
        default: return nil
        }
    }

    /// Dataset names: 1–64 letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 64 else { return false }
        let ascii = { (s: Unicode.Scalar) in s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s)) }
        return ascii(first) && name.unicodeScalars.allSatisfy { ascii($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    static func validateName(_ name: String, field: String) throws {
        guard isValidName(name) else {
            throw AerieError.invalid("The dataset name \"\(name)\" is not valid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.", field: field)
        }
    }
}

extension TrainingRequest {
    /// Reads a training request from an upload's fields (`target`, `model`, `task`, `test_size`, `seed`; any other
    /// field is a model parameter), checking each; errors name the field.
    static func parse(fields: [String: String], fieldName: (String) -> String = { $0 }) throws -> TrainingRequest {
        var request = TrainingRequest()
        var parameters: [String: String] = [:]
        for (rawName, value) in fields.sorted(by: { $0.key < $1.key }) {
            let name = rawName.lowercased().replacingOccurrences(of: "-", with: "_")
            switch name {
            case "target": request.target = value.isEmpty ? nil : value
            case "model": if !value.isEmpty { request.model = value }
            case "task": if !value.isEmpty { request.task = value }
            case "test_size":
                guard let size = Double(value), size >= 0, size < 1 else {
                    throw AerieError.invalid("test_size must be a number from 0 up to (not including) 1, such as 0.2; got \"\(value)\".", field: fieldName(rawName))
                }
                request.testSize = size
            case "seed":
                guard let seed = UInt64(value) else {
                    throw AerieError.invalid("seed must be a whole number ≥ 0; got \"\(value)\".", field: fieldName(rawName))
                }
                request.seed = seed
            default:
                let parameter = name.hasPrefix("param_") ? String(rawName.dropFirst("param-".count)) : rawName
                parameters[parameter] = value
            }
        }
        guard let kind = ModelKind(rawValue: request.model) else {
            throw AerieError.invalid("Unknown model \"\(request.model)\"; use one of: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).", field: fieldName("model"))
        }
        guard MLTask(rawValue: request.task) != nil else {
            throw AerieError.invalid("Unknown task \"\(request.task)\"; use auto, classification or regression.", field: fieldName("task"))
        }
        let known = TrainingOptions.parameterNames(for: kind) + TrainingOptions.preprocessingNames
        for (given, value) in parameters {
            guard let canonical = known.first(where: { $0.lowercased() == given.lowercased().replacingOccurrences(of: "-", with: "_") }) else {
                throw AerieError.invalid("\(kind.rawValue) has no parameter \"\(given)\"; it accepts: \(known.joined(separator: ", ")) (and target, model, task, test_size, seed).", field: fieldName(given))
            }
            request.parameters[canonical] = value
        }
        return request
    }

    /// The training request an object's metadata describes (`target`, `model`, `task`, `test-size`, `seed`, `param-<name>`).
    static func parse(metadata: [String: String]) throws -> TrainingRequest {
        let reserved: Set<String> = ["owner", "version", "name", "source-etag"]
        return try parse(fields: metadata.filter { !reserved.contains($0.key) }, fieldName: { "X-Aerie-Meta-\($0)" })
    }

    /// The request as object metadata (what ``parse(metadata:)`` reads back).
    var metadata: [String: String] {
        var metadata = ["model": model, "task": task, "test-size": String(testSize), "seed": String(seed)]
        if let target { metadata["target"] = target }
        for (name, value) in parameters { metadata["param-\(name)"] = value }
        return metadata
    }
}

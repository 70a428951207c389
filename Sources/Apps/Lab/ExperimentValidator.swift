import AerieCore
import Foundation

/// One broken catalog rule of a training request: the `field` (`hyperparameters.C`), the `rule` (one of the seven:
/// `dataset`, `test_split`, `model`, `task_match`, `hyperparameters`, `learning`, `learning_hyperparameters`), what is
/// wrong and what is allowed, and the JSON pointer of the field in the body.
public struct LabFieldError: Codable, Sendable, Hashable {
    public var field: String
    public var rule: String
    public var detail: String
    public var pointer: String
}

/// A training request as sent: every field optional (`PATCH` sends any subset). Wrong JSON types are refused while
/// parsing (400); catalog rules are checked by ``ExperimentValidator/resolve(_:catalog:)`` (422).
public struct ExperimentRequest: Sendable, Equatable {
    public var dataset: String?
    public var task: String?
    public var model: String?
    public var testSplit: Double?
    public var hyperparameters: [String: JSONValue]?
    public var loss: String?
    public var algorithm: String?
    public var learningHyperparameters: [String: JSONValue]?

    public init(dataset: String? = nil, task: String? = nil, model: String? = nil, testSplit: Double? = nil,
                hyperparameters: [String: JSONValue]? = nil, loss: String? = nil, algorithm: String? = nil,
                learningHyperparameters: [String: JSONValue]? = nil) {
        self.dataset = dataset
        self.task = task
        self.model = model
        self.testSplit = testSplit
        self.hyperparameters = hyperparameters
        self.loss = loss
        self.algorithm = algorithm
        self.learningHyperparameters = learningHyperparameters
    }

    static let fields = ["dataset", "task", "model", "test_split", "hyperparameters", "loss", "algorithm", "learning_hyperparameters"]

    /// Reads a request body; a body that is not an object, an unknown field or a field of the wrong JSON type is an
    /// ``AerieError`` with `.invalidArgument` (400) naming the field.
    public static func parse(_ body: JSONValue) throws -> ExperimentRequest {
        guard case .object(let fields) = body else {
            throw AerieError.invalid("The body must be a JSON object such as {\"dataset\": \"iris\", \"model\": \"svm\"}.", field: "/")
        }
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw AerieError.invalid("Unknown field \"\(unknown)\"; a training request has \(Self.fields.joined(separator: ", ")).", field: "/\(unknown)")
        }
        func string(_ name: String) throws -> String? {
            switch fields[name] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw AerieError.invalid("\(name) must be a string.", field: "/\(name)")
            }
        }
        func object(_ name: String) throws -> [String: JSONValue]? {
            switch fields[name] {
            case nil, .null?: return nil
            case .object(let values)?: return values
            default: throw AerieError.invalid("\(name) must be an object of name: value pairs, such as {\"C\": 1.0}.", field: "/\(name)")
            }
        }
        var request = ExperimentRequest()
        request.dataset = try string("dataset")
        request.task = try string("task")
        request.model = try string("model")
        switch fields["test_split"] {
        case nil, .null?: break
        case .number(let value)?: request.testSplit = value
        default: throw AerieError.invalid("test_split must be a number between 0 and 1, such as 0.2.", field: "/test_split")
        }
        request.hyperparameters = try object("hyperparameters")
        request.loss = try string("loss")
        request.algorithm = try string("algorithm")
        request.learningHyperparameters = try object("learning_hyperparameters")
        return request
    }

    /// This request with `patch`'s fields laid over it. A new dataset resets the task, and a new model resets the
    /// hyperparameters and the learning pair, unless the patch sets them too.
    func merged(with patch: ExperimentRequest) -> ExperimentRequest {
        var result = self
        if let dataset = patch.dataset, dataset != self.dataset { result.dataset = dataset; result.task = nil }
        if let model = patch.model, model != self.model {
            result.model = model
            result.hyperparameters = nil
            result.loss = nil
            result.algorithm = nil
            result.learningHyperparameters = nil
        }
        if let task = patch.task { result.task = task }
        if let split = patch.testSplit { result.testSplit = split }
        if let values = patch.hyperparameters { result.hyperparameters = values }
        if let loss = patch.loss { result.loss = loss; if patch.algorithm == nil { result.algorithm = nil }; result.learningHyperparameters = nil }
        if let algorithm = patch.algorithm { result.algorithm = algorithm; if patch.loss == nil { result.loss = nil }; result.learningHyperparameters = nil }
        if let values = patch.learningHyperparameters { result.learningHyperparameters = values }
        return result
    }
}

/// A request with every default filled in, as the draft record keeps it.
public struct ExperimentSettings: Codable, Sendable, Equatable {
    public var dataset: String
    public var task: String
    public var model: String
    public var testSplit: Double
    public var hyperparameters: [String: JSONValue]
    public var loss: String
    public var algorithm: String
    public var learningHyperparameters: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case dataset, task, model, hyperparameters, loss, algorithm
        case testSplit = "test_split"
        case learningHyperparameters = "learning_hyperparameters"
    }

    var request: ExperimentRequest {
        ExperimentRequest(dataset: dataset, task: task, model: model, testSplit: testSplit, hyperparameters: hyperparameters,
                          loss: loss, algorithm: algorithm, learningHyperparameters: learningHyperparameters)
    }
}

/// The seven catalog rules of the seed, checked all together so that every violation is reported, not only the first.
public enum ExperimentValidator {
    public static let defaultTestSplit = 0.2

    /// The request's settings with defaults filled in, or every rule it breaks.
    public static func resolve(_ request: ExperimentRequest, catalog: LabCatalog) -> Result<ExperimentSettings, ValidationFailure> {
        var errors: [LabFieldError] = []
        func fail(_ field: String, _ rule: String, _ detail: String) {
            errors.append(LabFieldError(field: field, rule: rule, detail: detail,
                                        pointer: "/" + field.split(separator: ".", maxSplits: 1).joined(separator: "/")))
        }
        // 1. dataset + task exist together.
        var dataset: LabCatalog.Dataset?
        if let name = request.dataset {
            dataset = catalog.dataset(name)
            if dataset == nil {
                fail("dataset", "dataset", "The catalog has no dataset \"\(name)\"; it has \(catalog.datasets.map(\.name).joined(separator: ", ")).")
            } else if let task = request.task, let found = dataset, found.task != task {
                fail("task", "dataset", "Dataset \(found.name) is for task \(found.task), not \(task).")
                dataset = nil
            }
        } else {
            fail("dataset", "dataset", "dataset is required; the catalog has \(catalog.datasets.map(\.name).joined(separator: ", ")).")
        }
        // 2. test_split in (0, 1).
        let testSplit = request.testSplit ?? defaultTestSplit
        if !(testSplit > 0 && testSplit < 1) {
            fail("test_split", "test_split", "test_split must lie strictly between 0 and 1 (the held-out fraction), not \(testSplit).")
        }
        // 3. model + task exist together.
        var model: LabCatalog.Model?
        if let name = request.model {
            model = catalog.model(name)
            if model == nil {
                fail("model", "model", "The catalog has no model \"\(name)\"; it has \(catalog.models.map(\.name).joined(separator: ", ")).")
            } else if let task = request.task, let found = model, found.task != task {
                fail("model", "model", "Model \(found.name) is for task \(found.task), not \(task).")
                model = nil
            }
        } else {
            fail("model", "model", "model is required; the catalog has \(catalog.models.map(\.name).joined(separator: ", ")).")
        }
        // 4. the model's task is the dataset's.
        if let dataset, let model, dataset.task != model.task {
            fail("task", "task_match", "Model \(model.name) does \(model.task) but dataset \(dataset.name) is for \(dataset.task); pick a \(dataset.task) model.")
        }
        // 5. hyperparameters exist for the model, are well typed and in range.
        var hyperparameters: [String: JSONValue] = [:]
        if let model {
            hyperparameters = checkParameters(request.hyperparameters ?? [:], specs: model.hyperparameters, field: "hyperparameters",
                                              owner: "model \(model.name)", fail: fail)
        }
        // 6. the loss + algorithm pair exists for the model.
        var learning: LabCatalog.Learning?
        if let model {
            let pairs = catalog.learning.filter { $0.model == model.name }
            let listed = pairs.map { "\($0.loss)/\($0.algorithm)" }.joined(separator: ", ")
            switch (request.loss, request.algorithm) {
            case (nil, nil):
                learning = pairs.first
            case (let loss?, nil):
                learning = pairs.first { $0.loss == loss }
                if learning == nil { fail("loss", "learning", "Model \(model.name) has no loss \(loss); its loss/algorithm pairs are \(listed).") }
            case (nil, let algorithm?):
                learning = pairs.first { $0.algorithm == algorithm }
                if learning == nil { fail("algorithm", "learning", "Model \(model.name) has no algorithm \(algorithm); its loss/algorithm pairs are \(listed).") }
            case (let loss?, let algorithm?):
                learning = catalog.learning(model: model.name, loss: loss, algorithm: algorithm)
                if learning == nil {
                    fail("algorithm", "learning", "Model \(model.name) has no pair \(loss)/\(algorithm); its loss/algorithm pairs are \(listed).")
                }
            }
        }
        // 7. learning hyperparameters exist for that pair, well typed and in range.
        var learningValues: [String: JSONValue] = [:]
        if let learning {
            learningValues = checkParameters(request.learningHyperparameters ?? [:], specs: learning.hyperparameters,
                                             field: "learning_hyperparameters", owner: "\(learning.loss)/\(learning.algorithm)", fail: fail)
        } else if model != nil, let values = request.learningHyperparameters, !values.isEmpty, request.loss == nil, request.algorithm == nil {
            fail("learning_hyperparameters", "learning_hyperparameters", "Model \(request.model ?? "") has no loss/algorithm pair to take these.")
        }
        guard errors.isEmpty, let dataset, let model, let learning else { return .failure(ValidationFailure(errors: errors)) }
        return .success(ExperimentSettings(
            dataset: dataset.name, task: dataset.task, model: model.name, testSplit: testSplit, hyperparameters: hyperparameters,
            loss: learning.loss, algorithm: learning.algorithm, learningHyperparameters: learningValues))
    }

    /// Checks given values against specs (rule = `field`) and returns them with the defaults of the omitted ones.
    static func checkParameters(_ values: [String: JSONValue], specs: [LabCatalog.ParameterSpec], field: String, owner: String,
                                fail: (String, String, String) -> Void) -> [String: JSONValue] {
        var resolved: [String: JSONValue] = [:]
        for name in values.keys.sorted() where !specs.contains(where: { $0.name == name }) {
            let known = specs.isEmpty ? "none" : specs.map(\.name).joined(separator: ", ")
            fail("\(field).\(name)", field, "\(owner) has no hyperparameter \(name); it takes \(known).")
        }
        for spec in specs {
            guard let value = values[spec.name] else {
                resolved[spec.name] = spec.default
                continue
            }
            if let problem = check(value, against: spec) {
                fail("\(field).\(spec.name)", field, "\(spec.name) of \(owner): \(problem)")
            } else {
                resolved[spec.name] = value
            }
        }
        return resolved
    }

    /// Why `value` does not fit `spec` (type, range, options), or nil when it does.
    static func check(_ value: JSONValue, against spec: LabCatalog.ParameterSpec) -> String? {
        func range(_ number: Double) -> String? {
            if let min = spec.min, number < min { return "\(format(number)) is below the minimum \(format(min))." }
            if let max = spec.max, number > max { return "\(format(number)) is above the maximum \(format(max))." }
            return nil
        }
        switch (spec.type, value) {
        case ("int", .number(let number)):
            guard number.rounded() == number, abs(number) < 1e15 else { return "must be a whole number, not \(format(number))." }
            return range(number)
        case ("float", .number(let number)):
            guard number.isFinite else { return "must be a finite number." }
            return range(number)
        case ("string", .string(let text)):
            if let options = spec.options, !options.contains(text) {
                return "\"\(text)\" is not one of \(options.joined(separator: ", "))."
            }
            return nil
        case ("bool", .bool):
            return nil
        default:
            let expected = ["int": "a whole number", "float": "a number", "string": "a string", "bool": "true or false"][spec.type] ?? spec.type
            return "must be \(expected) (type \(spec.type))."
        }
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

/// A request that breaks the catalog: every broken rule (HTTP 422).
public struct ValidationFailure: Error, Sendable, Equatable {
    public var errors: [LabFieldError]
}

import AerieCore
import AerieML
import Foundation

/// The Lab catalog, the seed's schema with snake_case names: the datasets, models, learning pairs (loss and
/// algorithm) and metrics a training request may name. Every request is validated against it
/// (``ExperimentValidator``), and the page and the CLI are generated from it, so a dataset or model added here
/// needs no change to either.
public struct LabCatalog: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        public var step: Int
        public var computation: String
    }

    public struct Dataset: Codable, Sendable, Equatable {
        public var name: String
        public var task: String
        public var description: String
        public var features: [String]
        /// The column to predict.
        public var label: String
        public var records: Int
        public var preprocessing: [Step]
    }

    /// A hyperparameter's type, range and default; an omitted hyperparameter takes the default.
    public struct ParameterSpec: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var `default`: JSONValue
        public var min: Double?
        public var max: Double?
        public var options: [String]?

        public init(name: String, type: String, default value: JSONValue, min: Double? = nil, max: Double? = nil, options: [String]? = nil) {
            self.name = name
            self.type = type
            self.default = value
            self.min = min
            self.max = max
            self.options = options
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(type, forKey: .type)
            try container.encode(self.default, forKey: .default)
            if let min { try container.encode(min, forKey: .min) } else { try container.encodeNil(forKey: .min) }
            if let max { try container.encode(max, forKey: .max) } else { try container.encodeNil(forKey: .max) }
            if let options { try container.encode(options, forKey: .options) } else { try container.encodeNil(forKey: .options) }
        }

        enum CodingKeys: String, CodingKey { case name, type, `default`, min, max, options }
    }

    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        public var task: String
        public var hyperparameters: [ParameterSpec]
        /// The tabular engine's algorithm (`random-forest`…); by default the name with `-` for `_`.
        public var engine: String?

        var engineKind: ModelKind? { ModelKind(rawValue: engine ?? name.replacingOccurrences(of: "_", with: "-")) }
    }

    public struct Learning: Codable, Sendable, Equatable {
        public var model: String
        public var loss: String
        public var algorithm: String
        public var hyperparameters: [ParameterSpec]
    }

    public struct Metric: Codable, Sendable, Equatable {
        public var task: String
        public var name: String
    }

    public var datasets: [Dataset]
    public var models: [Model]
    public var learning: [Learning]
    public var metrics: [Metric]
    public var version: Int

    public func dataset(_ name: String) -> Dataset? { datasets.first { $0.name == name } }
    public func model(_ name: String) -> Model? { models.first { $0.name == name } }
    public func learning(model: String, loss: String, algorithm: String) -> Learning? {
        learning.first { $0.model == model && $0.loss == loss && $0.algorithm == algorithm }
    }

    /// The catalog shipped with Aerie (`Resources/lab/catalog.json`).
    static func bundled() throws -> LabCatalog {
        guard let url = resource("catalog.json") else {
            throw AerieError(.internal, "The Lab app's resource bundle is missing; reinstall Aerie so the `aerie_Lab.resources` folder sits next to the binary.")
        }
        return try JSONDecoder().decode(LabCatalog.self, from: Data(contentsOf: url))
    }

    /// A file of the app's resources (`Resources/lab/<path>`), if it is there.
    static func resource(_ path: String) -> URL? {
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil)?.appendingPathComponent("lab/\(path)"),
              FileManager.default.fileExists(atPath: url.path) else { return nil }
        return url
    }

    /// The loss and algorithm pairs the tabular engine really runs, by engine algorithm.
    static let enginePairs: [ModelKind: [(loss: String, algorithm: String)]] = [
        .svm: [("hinge", "smo")],
        .logisticRegression: [("log_loss", "lbfgs")],
        .decisionTree: [("gini", "cart"), ("entropy", "cart")],
        .randomForest: [("gini", "bagging"), ("entropy", "bagging")],
        .naiveBayes: [("gaussian_likelihood", "maximum_likelihood")],
        .knn: [("none", "brute_force")],
    ]

    static let types: Set<String> = ["int", "float", "string", "bool"]

    /// Every reason this catalog cannot be served (empty when it can): unknown engines or pairs, hyperparameters the
    /// engine does not take, defaults outside their own spec, learning pairs of unknown models, duplicate names.
    func problems() -> [LabFieldError] {
        var errors: [LabFieldError] = []
        func add(_ pointer: String, _ detail: String) {
            errors.append(LabFieldError(field: pointer.split(separator: "/").joined(separator: "."), rule: "catalog", detail: detail, pointer: pointer))
        }
        func checkSpecs(_ specs: [ParameterSpec], at base: String, accepted: Set<String>) {
            var seen = Set<String>()
            for (index, spec) in specs.enumerated() {
                let at = "\(base)/\(index)"
                if !seen.insert(spec.name).inserted { add("\(at)/name", "Hyperparameter \(spec.name) is listed twice.") }
                if !accepted.contains(spec.name) {
                    add("\(at)/name", "The engine takes no hyperparameter \(spec.name) here; it takes \(accepted.sorted().joined(separator: ", ")).")
                }
                guard Self.types.contains(spec.type) else {
                    add("\(at)/type", "type must be int, float, string or bool, not \(spec.type).")
                    continue
                }
                if let problem = ExperimentValidator.check(spec.default, against: spec) {
                    add("\(at)/default", "The default of \(spec.name) does not fit its own spec: \(problem)")
                }
            }
        }
        var names = Set<String>()
        for (index, dataset) in datasets.enumerated() {
            if !names.insert(dataset.name).inserted { add("/datasets/\(index)/name", "Dataset \(dataset.name) is listed twice.") }
            if dataset.features.isEmpty { add("/datasets/\(index)/features", "Dataset \(dataset.name) needs at least one feature.") }
            if dataset.features.contains(dataset.label) { add("/datasets/\(index)/label", "The label \(dataset.label) cannot also be a feature.") }
        }
        names = []
        for (index, model) in models.enumerated() {
            if !names.insert(model.name).inserted { add("/models/\(index)/name", "Model \(model.name) is listed twice.") }
            guard let kind = model.engineKind else {
                add("/models/\(index)/engine", "Model \(model.name) names no engine algorithm; set engine to one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).")
                continue
            }
            let accepted = Set(TrainingOptions.parameterNames(for: kind)).subtracting(["criterion"])
            checkSpecs(model.hyperparameters, at: "/models/\(index)/hyperparameters", accepted: accepted)
        }
        for (index, pair) in learning.enumerated() {
            guard let model = model(pair.model), let kind = model.engineKind else {
                add("/learning/\(index)/model", "Learning pair \(pair.loss)/\(pair.algorithm) names model \(pair.model), which the catalog does not list.")
                continue
            }
            let runnable = Self.enginePairs[kind] ?? []
            if !runnable.contains(where: { $0.loss == pair.loss && $0.algorithm == pair.algorithm }) {
                add("/learning/\(index)", "The engine does not run \(pair.loss) with \(pair.algorithm) for \(model.name); it runs \(runnable.map { "\($0.loss)/\($0.algorithm)" }.joined(separator: ", ")).")
            }
            let modelNames = Set(model.hyperparameters.map(\.name))
            let accepted = Set(TrainingOptions.parameterNames(for: kind)).subtracting(["criterion"]).subtracting(modelNames)
            checkSpecs(pair.hyperparameters, at: "/learning/\(index)/hyperparameters", accepted: accepted)
        }
        for model in models where !learning.contains(where: { $0.model == model.name }) {
            add("/learning", "Model \(model.name) has no loss and algorithm pair; add one so it can be trained.")
        }
        return errors
    }
}

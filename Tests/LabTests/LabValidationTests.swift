import AerieCore
import Foundation
import Testing

@testable import Lab

/// The seven catalog rules, each alone and several at once, on the bundled catalog (no HTTP).
@Suite("Lab validation")
struct LabValidationTests {
    let catalog: LabCatalog

    init() throws {
        catalog = try LabCatalog.bundled()
    }

    func errors(_ request: ExperimentRequest) -> [LabFieldError] {
        switch ExperimentValidator.resolve(request, catalog: catalog) {
        case .success: []
        case .failure(let failure): failure.errors
        }
    }

    @Test("the bundled catalog is valid, lists the seed's five models and both datasets, and every spec has a default")
    func bundledCatalog() throws {
        #expect(catalog.problems().isEmpty, "\(catalog.problems())")
        #expect(Set(catalog.models.map(\.name)) == ["svm", "logistic_regression", "decision_tree", "random_forest", "naive_bayes"])
        #expect(catalog.dataset("iris")?.records == 150)
        #expect(catalog.dataset("height_weight")?.records == 4232)
        #expect(catalog.dataset("height_weight")?.features == ["height", "weight", "bmi"])
        for spec in catalog.models.flatMap(\.hyperparameters) + catalog.learning.flatMap(\.hyperparameters) {
            #expect(ExperimentValidator.check(spec.default, against: spec) == nil, "\(spec.name)")
        }
    }

    @Test("omitted fields take the catalog's defaults")
    func defaults() throws {
        let settings = try ExperimentValidator.resolve(ExperimentRequest(dataset: "iris", model: "svm"), catalog: catalog).get()
        #expect(settings.task == "classification" && settings.testSplit == 0.2)
        #expect(settings.loss == "hinge" && settings.algorithm == "smo")
        #expect(settings.hyperparameters == ["C": 1.0, "kernel": "rbf", "gamma": "scale"])
        #expect(settings.learningHyperparameters == ["tol": 0.001, "max_iter": 1_000_000])
    }

    @Test("each rule alone", arguments: [
        ("dataset", ExperimentRequest(dataset: "mnist", model: "svm"), "dataset"),
        ("test_split", ExperimentRequest(dataset: "iris", model: "svm", testSplit: 1.0), "test_split"),
        ("test_split", ExperimentRequest(dataset: "iris", model: "svm", testSplit: 0), "test_split"),
        ("model", ExperimentRequest(dataset: "iris", model: "transformer"), "model"),
        ("hyperparameters", ExperimentRequest(dataset: "iris", model: "svm", hyperparameters: ["C": -1]), "hyperparameters.C"),
        ("hyperparameters", ExperimentRequest(dataset: "iris", model: "svm", hyperparameters: ["kernel": "poly"]), "hyperparameters.kernel"),
        ("hyperparameters", ExperimentRequest(dataset: "iris", model: "svm", hyperparameters: ["C": "big"]), "hyperparameters.C"),
        ("hyperparameters", ExperimentRequest(dataset: "iris", model: "random_forest", hyperparameters: ["n_estimators": 2.5]), "hyperparameters.n_estimators"),
        ("hyperparameters", ExperimentRequest(dataset: "iris", model: "svm", hyperparameters: ["depth": 3]), "hyperparameters.depth"),
        ("learning", ExperimentRequest(dataset: "iris", model: "svm", loss: "log_loss", algorithm: "lbfgs"), "algorithm"),
        ("learning_hyperparameters", ExperimentRequest(dataset: "iris", model: "svm", learningHyperparameters: ["tol": 5]), "learning_hyperparameters.tol"),
        ("learning_hyperparameters", ExperimentRequest(dataset: "iris", model: "decision_tree", learningHyperparameters: ["eta": 0.1]), "learning_hyperparameters.eta"),
    ])
    func singleRule(rule: String, request: ExperimentRequest, field: String) {
        let found = errors(request)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.rule == rule)
        #expect(found.first?.field == field)
        #expect(found.first?.pointer == "/" + field.replacingOccurrences(of: ".", with: "/"))
        #expect(found.first?.detail.isEmpty == false)
    }

    @Test("task_match: a model of another task than the dataset's")
    func taskMatch() {
        var custom = catalog
        custom.models.append(LabCatalog.Model(name: "regressor", task: "regression", hyperparameters: [], engine: "random-forest"))
        let result = ExperimentValidator.resolve(ExperimentRequest(dataset: "iris", model: "regressor"), catalog: custom)
        guard case .failure(let failure) = result else { Issue.record("accepted"); return }
        #expect(failure.errors.map(\.rule) == ["task_match"])
    }

    @Test("several broken rules are all reported, not only the first")
    func severalRules() {
        // A task the dataset and the model both lack breaks rules 1 and 3.
        let wrongTask = errors(ExperimentRequest(dataset: "iris", task: "regression", model: "svm"))
        #expect(wrongTask.map(\.rule) == ["dataset", "model"])
        #expect(wrongTask.map(\.field) == ["task", "model"])
        let found = errors(ExperimentRequest(dataset: "mnist", model: "svm", testSplit: 1.5, hyperparameters: ["C": 0, "kernel": "poly", "depth": 1],
                                             loss: "hinge", algorithm: "smo", learningHyperparameters: ["max_iter": -3]))
        #expect(found.map(\.rule) == ["dataset", "test_split", "hyperparameters", "hyperparameters", "hyperparameters", "learning_hyperparameters"], "\(found)")
        #expect(Set(found.map(\.field)) == ["dataset", "test_split", "hyperparameters.depth", "hyperparameters.C", "hyperparameters.kernel", "learning_hyperparameters.max_iter"])
    }

    @Test("wrong JSON types are refused while parsing (400), before any rule")
    func wrongTypes() throws {
        for body: JSONValue in [["dataset": 3], ["test_split": "0.2"], ["hyperparameters": [1, 2]], ["model": ["svm"]], "text", ["colour": "red"]] {
            #expect(throws: AerieError.self) { try ExperimentRequest.parse(body) }
        }
        let parsed = try ExperimentRequest.parse(["dataset": "iris", "model": "svm", "test_split": 0.3, "hyperparameters": ["C": 2]])
        #expect(parsed == ExperimentRequest(dataset: "iris", model: "svm", testSplit: 0.3, hyperparameters: ["C": 2]))
    }

    @Test("a patch over settings: a new model resets its hyperparameters and learning pair")
    func merge() throws {
        let settings = try ExperimentValidator.resolve(ExperimentRequest(dataset: "iris", model: "svm", hyperparameters: ["C": 3]), catalog: catalog).get()
        let sameModel = settings.request.merged(with: ExperimentRequest(testSplit: 0.3))
        #expect(sameModel.hyperparameters?["C"] == .number(3))
        #expect(sameModel.testSplit == 0.3)
        let newModel = try ExperimentValidator.resolve(settings.request.merged(with: ExperimentRequest(model: "random_forest")), catalog: catalog).get()
        #expect(newModel.model == "random_forest" && newModel.loss == "gini")
        #expect(newModel.hyperparameters["n_estimators"] == .number(100))
    }

    @Test("a catalog with problems lists each one")
    func catalogProblems() {
        var broken = catalog
        broken.models.append(LabCatalog.Model(name: "quantum", task: "classification", hyperparameters: [], engine: nil))
        broken.learning.append(LabCatalog.Learning(model: "svm", loss: "hinge", algorithm: "sgd", hyperparameters: []))
        broken.models[0].hyperparameters.append(LabCatalog.ParameterSpec(name: "C2", type: "float", default: 5, min: 0, max: 1))
        let problems = broken.problems()
        #expect(problems.count >= 4, "\(problems)")
        #expect(problems.contains { $0.pointer == "/models/5/engine" })
        #expect(problems.contains { $0.pointer == "/learning/7" })
        #expect(problems.contains { $0.pointer == "/models/0/hyperparameters/3/default" })
        #expect(problems.contains { $0.pointer == "/models/0/hyperparameters/3/name" })
    }

    @Test("opaque ids: stable, bound to the owner, and a forged or altered one does not open")
    func opaqueIDs() throws {
        let ids = ExperimentIDs(secret: Data(repeating: 7, count: 32))
        let id = ids.seal(id: "0001", owner: "ann")
        #expect(id == ids.seal(id: "0001", owner: "ann"))
        #expect(id != ids.seal(id: "0001", owner: "bob"))
        #expect(ids.open(id)?.id == "0001" && ids.open(id)?.owner == "ann")
        var bytes = try #require(Base64URL.decode(id))
        bytes[bytes.count / 2] ^= 1
        #expect(ids.open(Base64URL.encode(bytes)) == nil)
        #expect(ids.open("not-an-id") == nil)
        #expect(ExperimentIDs(secret: Data(repeating: 8, count: 32)).open(id) == nil)
    }
}

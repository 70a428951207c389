import AerieCore
import AerieHTTPTesting
import AerieTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Lab

@Suite("Lab API")
struct LabAPITests {
    static let prefix = "/v1/apps/lab"

    @Test("the catalog: any signed-in user, in the seed's schema; 401 without credentials; PUT is for admins and checked")
    func catalog() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            try await client.send(.get, "\(Self.prefix)/catalog").expectProblem("unauthenticated", status: 401)
            let response = try await client.send(.get, "\(Self.prefix)/catalog", token: harness.token("ann"))
            #expect(response.status == .ok)
            let catalog = try response.json()
            let datasets = try #require(catalog["datasets"]?.arrayValue)
            #expect(datasets.compactMap { $0["name"]?.stringValue } == ["iris", "height_weight"])
            for key in ["name", "task", "description", "features", "label", "records", "preprocessing"] {
                #expect(datasets[0][key] != nil, "\(key)")
            }
            let svm = try #require(catalog["models"]?.arrayValue?.first { $0["name"] == "svm" })
            let c = try #require(svm["hyperparameters"]?.arrayValue?.first { $0["name"] == "C" })
            #expect(c["type"] == .string("float"))
            #expect(c["default"] == .number(1))
            #expect(c["min"] != nil && c["max"] != nil)
            #expect(c["options"] == .null)
            let pairs = catalog["learning"]?.arrayValue ?? []
            #expect(pairs.contains { $0["model"]?.stringValue == "svm" && $0["loss"]?.stringValue == "hinge" && $0["algorithm"]?.stringValue == "smo" })
            #expect(catalog["metrics"]?.arrayValue?.isEmpty == false)
            #expect(catalog["version"] == .number(1))

            // PUT: users are refused; an admin's broken catalog lists its problems; a good one bumps the version.
            try await client.send(.put, "\(Self.prefix)/catalog", token: harness.token("ann"), jsonValue: catalog).expectProblem("forbidden", status: 403)
            var broken = try #require(catalog.objectValue)
            var models = try #require(broken["models"]?.arrayValue)
            models.append(["name": "quantum", "task": "classification", "hyperparameters": []])
            broken["models"] = .array(models)
            let refused = try await client.send(.put, "\(Self.prefix)/catalog", token: harness.adminToken, jsonValue: .object(broken))
            try refused.expectProblem("unprocessable", status: 422)
            #expect(try refused.json().errorsList.contains { $0["pointer"] == "/models/5/engine" })
            var smaller = try #require(catalog.objectValue)
            smaller["models"] = .array(try #require(catalog["models"]?.arrayValue?.filter { $0["name"] != "naive_bayes" }))
            smaller["learning"] = .array(try #require(catalog["learning"]?.arrayValue?.filter { $0["model"] != "naive_bayes" }))
            let replaced = try await client.send(.put, "\(Self.prefix)/catalog", token: harness.adminToken, jsonValue: .object(smaller))
            #expect(replaced.status == .ok, "\(replaced.text)")
            #expect(try replaced.json()["version"] == 2)
            // The new catalog rules requests at once.
            let gone = try await client.send(.post, "\(Self.prefix)/experiments", token: harness.token("ann"), jsonValue: ["dataset": "iris", "model": "naive_bayes"])
            #expect(gone.status == .unprocessableContent)
            #expect(try gone.json().rules == ["model"])
            try await client.send(.put, "\(Self.prefix)/catalog", token: harness.adminToken, json: "{\"datasets\": 1}").expectProblem("invalid-argument", status: 400)
        }
    }

    @Test("422 lists every broken rule with field, rule, detail and pointer; 400 for malformed JSON and wrong types")
    func validation() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            let token = harness.token("ann")
            let response = try await client.send(.post, "\(Self.prefix)/experiments", token: token, jsonValue: [
                "dataset": "iris", "task": "classification", "model": "svm", "test_split": 1.2,
                "hyperparameters": ["C": -1, "kernel": "cubic"], "loss": "log_loss", "algorithm": "lbfgs",
            ])
            try response.expectProblem("unprocessable", status: 422)
            let body = try response.json()
            #expect(body.rules == ["test_split", "hyperparameters", "hyperparameters", "learning"], "\(body)")
            for error in body.errorsList {
                #expect(error["field"]?.stringValue != nil)
                #expect(error["detail"]?.stringValue != nil)
                #expect(error["pointer"]?.stringValue?.hasPrefix("/") == true)
            }
            #expect(body.errorsList.contains { $0["pointer"]?.stringValue == "/hyperparameters/C" && $0["field"]?.stringValue == "hyperparameters.C" })

            try await client.send(.post, "\(Self.prefix)/experiments", token: token, json: "{\"dataset\": \"iris\",").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.prefix)/experiments", token: token, json: "{\"dataset\": \"iris\", \"model\": \"svm\", \"test_split\": \"0.2\"}")
                .expectProblem("invalid-argument", status: 400)
            let wrongType = try await client.send(.post, "\(Self.prefix)/experiments", token: token, json: "{\"dataset\": \"iris\", \"model\": \"svm\", \"hyperparameters\": [1]}")
            try wrongType.expectProblem("invalid-argument", status: 400)
            #expect(try wrongType.problemField() == "/hyperparameters")
            try await client.send(.post, "\(Self.prefix)/experiments", token: token, json: "[]").expectProblem("invalid-argument", status: 400)
            try await client.send(.post, "\(Self.prefix)/experiments", jsonValue: ["dataset": "iris", "model": "svm"]).expectProblem("unauthenticated", status: 401)
        }
    }

    @Test("SVM on Iris with the catalog's defaults: trained without metrics, evaluated ≥ 0.85, committed with the same id, then immutable")
    func trainEvaluateCommit() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            let token = harness.token("ann")
            let (id, evaluated) = try await client.trainAndEvaluate(["dataset": "iris", "model": "svm"], token: token)
            #expect(evaluated["status"] == .string("evaluated"))
            #expect(evaluated["state"] == .string("draft"))
            #expect(evaluated["owner"] == .string("ann"))
            let metrics = try #require(evaluated["metrics"])
            let accuracy = try #require(metrics["accuracy"]?.numberValue)
            print("lab: svm on iris, held-out accuracy \(accuracy), precision \(metrics["precision"]?.numberValue ?? 0), recall \(metrics["recall"]?.numberValue ?? 0)")
            #expect(accuracy >= 0.85)
            #expect(metrics["labels"] == ["setosa", "versicolor", "virginica"])
            let matrix = try #require(metrics["confusion_matrix"]?.arrayValue)
            #expect(matrix.count == 3)
            // 20 % of 150 held out: the matrix counts exactly the held-out rows.
            let counts: [Double] = matrix.flatMap { $0.arrayValue ?? [] }.compactMap(\.numberValue)
            #expect(counts.reduce(0, +) == 30)
            let settings = try #require(evaluated["settings"])
            #expect(settings["hyperparameters"]?["C"] == .number(1))
            #expect(settings["loss"] == .string("hinge"))
            #expect(settings["test_split"] == .number(0.2))

            let drafts = try await client.send(.get, "\(Self.prefix)/experiments?state=draft", token: token).json()
            #expect(drafts["items"]?.arrayValue?.map { $0["id"] } == [.string(id)])

            let committed = try await client.send(.post, "\(Self.prefix)/experiments/\(id)/commit", token: token)
            #expect(committed.status == .ok, "\(committed.text)")
            let body = try committed.json()
            #expect(body["id"] == .string(id))
            #expect(body["state"] == .string("committed"))
            #expect(body["metrics"] == evaluated["metrics"])
            #expect(try await client.send(.get, "\(Self.prefix)/experiments?state=draft", token: token).json()["items"] == [])
            #expect(try await client.send(.get, "\(Self.prefix)/experiments?state=committed", token: token).json()["items"]?.arrayValue?.count == 1)

            try await client.send(.patch, "\(Self.prefix)/experiments/\(id)", token: token, jsonValue: ["test_split": 0.3]).expectProblem("conflict", status: 409)
            try await client.send(.delete, "\(Self.prefix)/experiments/\(id)", token: token).expectProblem("conflict", status: 409)
            try await client.send(.post, "\(Self.prefix)/experiments/\(id)/evaluate", token: token).expectProblem("conflict", status: 409)
            try await client.send(.post, "\(Self.prefix)/experiments/\(id)/commit", token: token).expectProblem("conflict", status: 409)
            #expect(try await client.send(.get, "\(Self.prefix)/experiments/\(id)", token: token).json() == body)
        }
    }

    @Test("random forest on Height-Weight with the defaults: held-out accuracy ≥ 0.75")
    func randomForestHeightWeight() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            let (_, evaluated) = try await client.trainAndEvaluate(["dataset": "height_weight", "model": "random_forest"], token: harness.token("ann"))
            let accuracy = try #require(evaluated["metrics"]?["accuracy"]?.numberValue)
            print("lab: random forest on height_weight, held-out accuracy \(accuracy)")
            #expect(accuracy >= 0.75)
            #expect(evaluated["metrics"]?["labels"] == ["Female", "Male"])
        }
    }

    @Test("PATCH retrains a draft with merged settings (422 when they break the catalog); DELETE removes it")
    func patchAndDelete() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            let token = harness.token("ann")
            let (id, first) = try await client.trainAndEvaluate(["dataset": "iris", "model": "logistic_regression"], token: token)
            #expect(first["metrics"] != .null)
            let bad = try await client.send(.patch, "\(Self.prefix)/experiments/\(id)", token: token, jsonValue: ["hyperparameters": ["C": "x"], "test_split": 2])
            try bad.expectProblem("unprocessable", status: 422)
            #expect(try bad.json().rules == ["test_split", "hyperparameters"])
            let patched = try await client.send(.patch, "\(Self.prefix)/experiments/\(id)", token: token, jsonValue: ["model": "decision_tree", "loss": "entropy"])
            #expect(patched.status == .accepted, "\(patched.text)")
            let body = try patched.json()
            #expect(body["status"] == .string("queued"))
            #expect(body["metrics"] == .null)
            #expect(body["id"] == .string(id))
            let retrained = try await client.experiment(id, token: token, reaching: ["trained", "failed"])
            #expect(retrained["status"] == .string("trained"))
            #expect(retrained["settings"]?["model"] == .string("decision_tree"))
            #expect(retrained["settings"]?["loss"] == .string("entropy"))
            #expect(retrained["settings"]?["hyperparameters"]?["max_depth"] == 10)
            let deleted = try await client.send(.delete, "\(Self.prefix)/experiments/\(id)", token: token)
            #expect(deleted.status == .noContent)
            try await client.send(.get, "\(Self.prefix)/experiments/\(id)", token: token).expectProblem("not-found", status: 404)
        }
    }

    @Test("forged, altered and other users' ids answer 404; admins see everyone's")
    func opaqueIDs() async throws {
        let harness = try await LabHarness.make()
        try await harness.test { client in
            let id = try await client.train(["dataset": "iris", "model": "naive_bayes"], token: harness.token("ann"))
            _ = try await client.experiment(id, token: harness.token("ann"), reaching: ["trained"])
            var altered = Array(id)
            altered[altered.count / 2] = altered[altered.count / 2] == "A" ? "B" : "A"
            for forged in ["0001", String(altered), id + "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
                try await client.send(.get, "\(Self.prefix)/experiments/\(forged)", token: harness.token("ann")).expectProblem("not-found", status: 404)
            }
            for (method, path) in [(HTTPRequest.Method.get, ""), (.post, "/evaluate"), (.post, "/commit"), (.delete, "")] {
                try await client.send(method, "\(Self.prefix)/experiments/\(id)\(path)", token: harness.token("bob")).expectProblem("not-found", status: 404)
            }
            try await client.send(.patch, "\(Self.prefix)/experiments/\(id)", token: harness.token("bob"), jsonValue: ["test_split": 0.5]).expectProblem("not-found", status: 404)
            #expect(try await client.send(.get, "\(Self.prefix)/experiments", token: harness.token("bob")).json()["items"] == [])
            #expect(try await client.send(.get, "\(Self.prefix)/experiments/\(id)", token: harness.adminToken).json()["owner"] == "ann")
            #expect(try await client.send(.get, "\(Self.prefix)/experiments", token: harness.adminToken).json()["items"]?.arrayValue?.count == 1)
            try await client.send(.get, "\(Self.prefix)/experiments/\(id)").expectProblem("unauthenticated", status: 401)
        }
    }
}

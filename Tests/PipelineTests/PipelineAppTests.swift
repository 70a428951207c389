import AerieCore
import AerieHTTPTesting
import AerieFunctions
import AerieML
import AerieTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Pipeline

/// A small CSV with a categorical feature, a numeric one and the target first (so it must be named).
private let fruitCSV = """
    label,color,weight,diameter
    apple,red,150,7.5
    apple,green,170,7.9
    apple,red,160,7.4
    apple,green,155,7.6
    apple,red,165,7.7
    apple,green,158,7.3
    orange,orange,200,8.9
    orange,orange,210,9.2
    orange,orange,190,8.8
    orange,orange,205,9.1
    orange,orange,198,9.0
    orange,orange,215,9.4
    lemon,yellow,90,5.9
    lemon,yellow,95,6.1
    lemon,yellow,85,5.7
    lemon,yellow,100,6.2
    lemon,yellow,92,6.0
    lemon,yellow,88,5.8

    """

@Suite("Pipeline app", .serialized)
struct PipelineAppTests {
    @Test("a CSV goes raw → preprocessed → models through the triggers, and the latest model predicts with probabilities")
    func chainOnIris() async throws {
        let harness = try await PipelineHarness.make()
        let iris = try Fixture.text("iris.csv")
        try await harness.test { client in
            let accepted = try await client.upload(iris, query: "name=iris&n_estimators=20&seed=1", token: harness.annToken)
            #expect(accepted.status == .accepted, "\(accepted.text)")
            #expect(accepted.headers[.location] == "/v1/apps/pipeline/datasets/iris")
            let queued = try accepted.json()
            #expect(queued["version"] == .number(1))
            #expect(["queued", "preprocessing", "training"].contains(queued["stage"]?.stringValue ?? ""))

            let dataset = try await client.finished("iris", token: harness.annToken)
            #expect(dataset["stage"] == .string("ready"), "\(dataset)")
            #expect(dataset["owner"] == .string("ann"))
            #expect(dataset["report"]?["rows_in"] == .number(150))
            #expect(dataset["report"]?["rows_out"] == .number(150))
            #expect(dataset["report"]?["target"] == .string("species"))
            #expect(dataset["report"]?["task"] == .string("classification"))
            #expect(dataset["timings"]?["preprocess_seconds"]?.numberValue != nil)
            #expect(dataset["timings"]?["train_seconds"]?.numberValue != nil)
            #expect(dataset["serving_version"] == .number(1))

            // The objects of each stage.
            let objects = harness.primitives.objects
            #expect(try await objects.head(bucket: "pipeline", key: "raw/ann/iris.csv") != nil)
            #expect(try await objects.head(bucket: "pipeline", key: "preprocessed/ann/iris.csv") != nil)
            #expect(try await objects.head(bucket: "pipeline", key: "preprocessed/ann/iris.report.json") != nil)
            let modelFile = try await objects.get(bucket: "pipeline", key: "models/ann/iris/v1.model", range: nil)
            let model = try TabularModel.decode([UInt8](modelFile.body))
            #expect(model.metadata.kind == .randomForest)
            #expect(model.metadata.parameters["n_estimators"] == "20")
            let document = try JSONValue.parse(try await objects.get(bucket: "pipeline", key: "models/ann/iris/v1.json", range: nil).body)
            #expect(document["version"] == .number(1))
            #expect(document["metrics"]?["accuracy"]?.numberValue ?? 0 >= 0.85)

            let models = try await client.send(.get, "/v1/apps/pipeline/models", token: harness.annToken).json()
            let listed = try #require(models["items"]?.arrayValue?.first)
            #expect(listed["name"] == .string("iris"))
            #expect(listed["classes"] == .array(["setosa", "versicolor", "virginica"]))
            #expect(listed["metrics"]?["confusion"]?.arrayValue?.count == 3)
            #expect(listed["features"]?.arrayValue?.count == 4)

            let predicted = try await client.send(.post, "/v1/apps/pipeline/models/iris/predict", token: harness.annToken, json: """
                {"rows": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
                          {"sepal_length": "6.7", "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3, "species": "ignored"}]}
                """)
            #expect(predicted.status == .ok, "\(predicted.text)")
            let result = try predicted.json()
            #expect(result["predictions"] == .array(["setosa", "virginica"]))
            #expect(result["version"] == .number(1))
            let probabilities = try #require(result["probabilities"]?.arrayValue?.first?.objectValue)
            #expect(Set(probabilities.keys) == ["setosa", "versicolor", "virginica"])
            #expect(abs(probabilities.values.compactMap(\.numberValue).reduce(0, +) - 1) < 1e-9)
        }

        // Training reported progress through the invocation.
        let trained = try await harness.runtime.invocations(function: "pipeline-train", status: .succeeded, owner: nil, limit: 10, cursor: nil)
        let invocation = try #require(trained.items.first)
        #expect((invocation.progress ?? 0) > 0)
        var progressEvents = 0
        for try await event in harness.runtime.events(invocation.id, after: nil) {
            if event.kind == .progress { progressEvents += 1 }
            if event.kind == .result || event.kind == .error { break }
        }
        #expect(progressEvents >= 2)
    }

    @Test("a multipart upload names target and model; categorical features validate at prediction with problem+json naming the field")
    func multipartAndPredictValidation() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            let boundary = "XyZ-boundary"
            var body = ""
            for (name, value) in [("target", "label"), ("model", "logistic-regression"), ("C", "10")] {
                body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
            }
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fruit.csv\"\r\nContent-Type: text/csv\r\n\r\n\(fruitCSV)\r\n--\(boundary)--\r\n"
            let accepted = try await client.send(.post, "/v1/apps/pipeline/datasets", token: harness.annToken, body: Data(body.utf8),
                                                 contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(accepted.status == .accepted, "\(accepted.text)")
            let dataset = try await client.finished("fruit", token: harness.annToken)
            #expect(dataset["stage"] == .string("ready"), "\(dataset)")
            #expect(dataset["options"]?["model"] == .string("logistic-regression"))
            #expect(dataset["model"]?["parameters"]?["C"] == .string("10"))
            #expect(dataset["report"]?["features"]?.arrayValue?.first?["categories"] == .array(["green", "orange", "red", "yellow"]))

            let good = try await client.send(.post, "/v1/apps/pipeline/models/fruit/predict", token: harness.annToken,
                                             json: #"{"rows": [{"color": "yellow", "weight": 91, "diameter": 6.0}]}"#)
            #expect(try good.json()["predictions"] == .array(["lemon"]), "\(good.text)")

            let cases: [(String, String)] = [
                (#"{"rows": [{"color": "red", "weight": 150}]}"#, "/rows/0/diameter"),
                (#"{"rows": [{"color": "red", "weight": 150, "diameter": 7, "sugar": 3}]}"#, "/rows/0/sugar"),
                (#"{"rows": [{"color": "red", "weight": "heavy", "diameter": 7}]}"#, "/rows/0/weight"),
                (#"{"rows": [{"color": "purple", "weight": 150, "diameter": 7}]}"#, "/rows/0/color"),
                (#"{"rows": [{"color": "red", "weight": 150, "diameter": 7}, {"color": null, "weight": 1, "diameter": 7}]}"#, "/rows/1/color"),
                (#"{"rows": {"color": "red"}}"#, "/rows"),
                (#"{"rows": []}"#, "/rows"),
                (#"{"rows": [], "extra": 1}"#, "/extra"),
            ]
            for (json, field) in cases {
                let response = try await client.send(.post, "/v1/apps/pipeline/models/fruit/predict", token: harness.annToken, json: json)
                #expect(response.status == .badRequest, "\(json): \(response.text)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(try response.problemField() == field, "\(json): \(response.text)")
            }
        }
    }

    @Test("a real-valued target trains a regression: R² and errors as metrics, numbers as predictions, no probabilities")
    func regression() async throws {
        let harness = try await PipelineHarness.make()
        var csv = "x,noise,y\n"
        for i in 0..<60 { csv += "\(Double(i) / 4),\(i % 7),\(Double(i) / 2 + 0.25)\n" }
        let body = csv
        try await harness.test { client in
            #expect(try await client.upload(body, query: "name=line&model=decision-tree", token: harness.annToken).status == .accepted)
            let dataset = try await client.finished("line", token: harness.annToken)
            #expect(dataset["stage"] == .string("ready"), "\(dataset)")
            #expect(dataset["report"]?["task"] == .string("regression"))
            let model = try await client.send(.get, "/v1/apps/pipeline/models/line", token: harness.annToken).json()
            #expect(model["task"] == .string("regression"))
            #expect(model["metrics"]?["r2"]?.numberValue ?? 0 > 0.9)
            #expect(model["classes"] == nil || model["classes"] == .null)
            let predicted = try await client.send(.post, "/v1/apps/pipeline/models/line/predict", token: harness.annToken,
                                                  json: #"{"rows": [{"x": 5, "noise": 3}]}"#).json()
            let value = try #require(predicted["predictions"]?.arrayValue?.first?.numberValue)
            #expect(abs(value - 10.25) < 1.5)
            #expect(predicted["probabilities"] == nil)
        }
    }

    @Test("uploading a name again trains a new version; the latest ready one serves; versions are deleted one by one or all")
    func versions() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            #expect(try await client.upload(fruitCSV, query: "name=fruit&target=label&model=decision-tree", token: harness.annToken).status == .accepted)
            _ = try await client.finished("fruit", token: harness.annToken, version: 1)
            #expect(try await client.upload(fruitCSV, query: "name=fruit&target=label&model=naive-bayes", token: harness.annToken).status == .accepted)
            let second = try await client.finished("fruit", token: harness.annToken, version: 2)
            #expect(second["stage"] == .string("ready"), "\(second)")
            #expect(second["versions"]?.arrayValue?.map { $0["version"] } == [.number(2), .number(1)])
            #expect(second["serving_version"] == .number(2))
            let listed = try await client.send(.get, "/v1/apps/pipeline/datasets", token: harness.annToken).json()["items"]?.arrayValue ?? []
            #expect(listed.count == 1)
            #expect(listed.first?["versions"]?.arrayValue?.count == 2)
            let model = try await client.send(.get, "/v1/apps/pipeline/models/fruit", token: harness.annToken).json()
            #expect(model["kind"] == .string("naive-bayes"))
            #expect(model["versions"] == .array([.number(2), .number(1)]))

            #expect(try await client.send(.delete, "/v1/apps/pipeline/datasets/fruit?version=2", token: harness.annToken).status == .noContent)
            let predicted = try await client.send(.post, "/v1/apps/pipeline/models/fruit/predict", token: harness.annToken,
                                                  json: #"{"rows": [{"color": "orange", "weight": 200, "diameter": 9}]}"#).json()
            #expect(predicted["version"] == .number(1))
            #expect(predicted["predictions"] == .array(["orange"]))

            #expect(try await client.send(.delete, "/v1/apps/pipeline/datasets/fruit", token: harness.annToken).status == .noContent)
            #expect(try await client.send(.get, "/v1/apps/pipeline/datasets/fruit", token: harness.annToken).status == .notFound)
            #expect(try await harness.primitives.objects.head(bucket: "pipeline", key: "models/ann/fruit/v1.model") == nil)
            #expect(try await harness.primitives.objects.head(bucket: "pipeline", key: "raw/ann/fruit.csv") == nil)
        }
    }

    @Test("bad data never crashes a stage: each ends failed with a reason", arguments: [
        ("ragged", Data("a,b,c\n1,2,x\n3,4\n".utf8), "fields where the header has"),
        ("empty", Data(), "empty"),
        ("blank", Data("\n\n  \n".utf8), "empty"),
        ("binary", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48]), "not UTF-8"),
        ("latin1", Data([0x6E, 0x61, 0x6D, 0x65, 0x2C, 0x79, 0x0A, 0x63, 0x61, 0x66, 0xE9, 0x2C, 0x31, 0x0A]), "not UTF-8"),
        ("header-only", Data("a,b,y\n".utf8), "no data rows"),
        ("no-feature", Data("id,y\n7,a\n7,b\n7,a\n".utf8), "No usable feature"),
        ("only-target", Data("y\na\nb\n".utf8), "No usable feature"),
        ("one-class", Data("x,y\n1,a\n2,a\n3,a\n".utf8), "only one class"),
        ("all-missing", Data("x,z,y\n1,,a\n,2,b\n2,,a\n,3,b\n".utf8), "missing value"),
    ])
    func badInputs(name: String, data: Data, reason: String) async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            let accepted = try await client.send(.post, "/v1/apps/pipeline/datasets?name=\(name)", token: harness.annToken, body: data, contentType: "text/csv")
            #expect(accepted.status == .accepted, "\(accepted.text)")
            let dataset = try await client.finished(name, token: harness.annToken)
            #expect(dataset["stage"] == .string("failed"))
            let error = dataset["error"]?.stringValue ?? ""
            #expect(error.contains(reason), "\(name): \(error)")
        }
    }

    @Test("a file over the size limit is refused with 413 and its version ends failed, saying the limit")
    func overTheLimit() async throws {
        let harness = try await PipelineHarness.make(limits: PipelineLimits(maxDatasetBytes: 256))
        try await harness.test { client in
            let big = "x,y\n" + String(repeating: "1,a\n2,b\n", count: 60)
            let refused = try await client.upload(big, query: "name=big", token: harness.annToken)
            #expect(refused.status == .contentTooLarge, "\(refused.text)")
            let dataset = try await client.send(.get, "/v1/apps/pipeline/datasets/big", token: harness.annToken).json()
            #expect(dataset["stage"] == .string("failed"))
            #expect(dataset["error"]?.stringValue?.contains("limit of 256 bytes") == true, "\(dataset)")

            // Straight to the bucket (past the API): the preprocess stage refuses it the same way.
            try await harness.primitives.objects.put(bucket: "pipeline", key: "raw/ann/direct.csv", data: Data(big.utf8))
            harness.runtime.wake()
            let direct = try await client.finished("direct", token: harness.annToken)
            #expect(direct["stage"] == .string("failed"))
            #expect(direct["error"]?.stringValue?.contains("limit of 256 bytes") == true, "\(direct)")
        }
    }

    @Test("an object put straight into raw/ trains with the target and model of its metadata")
    func objectMetadata() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            try await harness.primitives.objects.put(bucket: "pipeline", key: "raw/ann/meta.csv", data: Data(fruitCSV.utf8),
                                                     attributes: ObjectAttributes(contentType: "text/csv", metadata: [
                                                        "Target": "label", "Model": "knn", "Param-N_neighbors": "3"]))
            harness.runtime.wake()
            let dataset = try await client.finished("meta", token: harness.annToken)
            #expect(dataset["stage"] == .string("ready"), "\(dataset)")
            #expect(dataset["model"]?["kind"] == .string("knn"))
            #expect(dataset["model"]?["target"] == .string("label"))
            #expect(dataset["model"]?["parameters"]?["n_neighbors"] == .string("3"))
        }
    }

    @Test("upload fields are checked up front with problem+json naming the field")
    func uploadValidation() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            let cases: [(String, String)] = [
                ("name=iris&model=deep-net", "model"),
                ("name=iris&task=clustering", "task"),
                ("name=iris&max_depth=3&model=svm", "max_depth"),
                ("name=iris&test_size=1.5", "test_size"),
                ("name=../etc", "name"),
                ("target=species", "name"),
            ]
            for (query, field) in cases {
                let response = try await client.upload("a,b\n1,x\n", query: query, token: harness.annToken)
                #expect(response.status == .badRequest, "\(query): \(response.text)")
                #expect(try response.problemField() == field, "\(query): \(response.text)")
            }
            #expect(try await client.upload("a,b\n1,x\n", query: "name=x", token: nil).status == .unauthorized)
            #expect(try await client.send(.post, "/v1/apps/pipeline/models/nothing/predict", token: harness.annToken,
                                          json: #"{"rows": [{}]}"#).status == .notFound)
        }
    }

    @Test("datasets and models belong to their uploader: another user gets 404 and an empty list")
    func ownership() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            #expect(try await client.upload(fruitCSV, query: "name=fruit&target=label&model=naive-bayes", token: harness.annToken).status == .accepted)
            #expect(try await client.finished("fruit", token: harness.annToken)["stage"] == .string("ready"))

            let bob = harness.bobToken
            #expect(try await client.send(.get, "/v1/apps/pipeline/datasets/fruit", token: bob).status == .notFound)
            #expect(try await client.send(.get, "/v1/apps/pipeline/models/fruit", token: bob).status == .notFound)
            #expect(try await client.send(.post, "/v1/apps/pipeline/models/fruit/predict", token: bob,
                                          json: #"{"rows": [{"color": "red", "weight": 150, "diameter": 7}]}"#).status == .notFound)
            #expect(try await client.send(.delete, "/v1/apps/pipeline/datasets/fruit", token: bob).status == .notFound)
            #expect(try await client.send(.get, "/v1/apps/pipeline/datasets", token: bob).json()["items"] == .array([]))
            #expect(try await client.send(.get, "/v1/apps/pipeline/models", token: bob).json()["items"] == .array([]))

            // Bob's own dataset of the same name is a different one.
            #expect(try await client.upload(fruitCSV, query: "name=fruit&target=label&model=decision-tree", token: bob).status == .accepted)
            let bobs = try await client.finished("fruit", token: bob)
            #expect(bobs["owner"] == .string("bob"))
            #expect(bobs["version"] == .number(1))
            let anns = try await client.send(.get, "/v1/apps/pipeline/models/fruit", token: harness.annToken).json()
            #expect(anns["kind"] == .string("naive-bayes"))
        }
    }

    @Test("the page redirects to sign-in without a session and serves its script")
    func page() async throws {
        let harness = try await PipelineHarness.make()
        try await harness.test { client in
            let page = try await client.send(.get, "/pipeline/", token: nil)
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console/login?next=/pipeline/")
            let script = try await client.send(.get, "/pipeline/static/pipeline.js", token: nil)
            #expect(script.status == .ok)
            #expect(script.text.contains("predict-form"))
            let document = try await client.send(.get, "/openapi.json", token: nil)
            #expect(document.text.contains("/v1/apps/pipeline/models/{name}/predict"))
        }
    }
}

@Suite("Pipeline parts")
struct PipelinePartsTests {
    @Test("keys parse back to owner and name; only safe names pass")
    func keys() {
        #expect(PipelineKeys.parse("raw/ann/iris.csv", prefix: "raw/")! == ("ann", "iris"))
        #expect(PipelineKeys.parse("raw/iris.csv", prefix: "raw/")! == ("", "iris"))
        #expect(PipelineKeys.parse("raw/a/b/c.csv", prefix: "raw/") == nil)
        #expect(PipelineKeys.isValidName("iris-2.v1"))
        #expect(!PipelineKeys.isValidName(".hidden"))
        #expect(!PipelineKeys.isValidName("a b"))
    }

    @Test("cleaning drops rows with missing values and uninformative columns, quoting what needs it")
    func cleaning() throws {
        let csv = "name,constant,x,y\n\"Smith, J\",1,1.5,a\nLee,1,,b\nKim,1,2.5,b\nPark,1,3.5,a\n"
        let (cleaned, report) = try Preprocess.clean(Data(csv.utf8), request: TrainingRequest())
        #expect(report.rowsIn == 4)
        #expect(report.rowsOut == 3)
        #expect(report.droppedRows == 1)
        #expect(report.droppedColumns == ["constant": "it holds a single value"])
        #expect(cleaned.hasPrefix("name,x,y\n\"Smith, J\",1.5,a\n"))
    }

    @Test("progress lines become fractions")
    func fraction() {
        #expect(Train.fraction(of: "random-forest: 30/100 trees") == 0.3)
        #expect(Train.fraction(of: "svm: solving 3 class pair(s)") == nil)
    }
}

import AerieCore
import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `aerie lab …`: the Lab app's client (catalog, train, evaluate, drafts, commit, experiments).
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Train and evaluate models against the Lab catalog, and keep the good ones.",
        discussion: """
            Examples:
              aerie lab catalog
              aerie lab train --dataset iris --model svm --param C=1.0 --loss hinge --algorithm smo --test-split 0.2 --follow
              aerie lab evaluate ID --follow
              aerie lab drafts
              aerie lab commit ID
              aerie lab experiments
            A request that breaks the catalog prints each broken rule on its own line and exits with status 2.
            """,
        subcommands: [Catalog.self, Train.self, Evaluate.self, Drafts.self, Commit.self, Experiments.self]
    )

    static let prefix = "/v1/apps/lab"

    struct Catalog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the catalog: datasets, models and their hyperparameters, loss/algorithm pairs.")
        @OptionGroup var client: ClientOptions
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            let response = try await api.send(api.request(.GET, "\(LabCommand.prefix)/catalog"))
            if json { LabCommand.printJSON(response.body); return }
            let catalog = try JSONValue.parse(response.body)
            print("Datasets (catalog version \(LabCommand.text(catalog["version"])))")
            LabCommand.table(["NAME", "TASK", "RECORDS", "LABEL", "FEATURES"], (catalog["datasets"]?.arrayValue ?? []).map {
                [LabCommand.text($0["name"]), LabCommand.text($0["task"]), LabCommand.text($0["records"]), LabCommand.text($0["label"]),
                 ($0["features"]?.arrayValue ?? []).map { LabCommand.text($0) }.joined(separator: ", ")]
            })
            print("\nModels")
            LabCommand.table(["MODEL", "TASK", "HYPERPARAMETERS (default)"], (catalog["models"]?.arrayValue ?? []).map {
                [LabCommand.text($0["name"]), LabCommand.text($0["task"]), LabCommand.specs($0["hyperparameters"])]
            })
            print("\nLearning")
            LabCommand.table(["MODEL", "LOSS", "ALGORITHM", "HYPERPARAMETERS (default)"], (catalog["learning"]?.arrayValue ?? []).map {
                [LabCommand.text($0["model"]), LabCommand.text($0["loss"]), LabCommand.text($0["algorithm"]), LabCommand.specs($0["hyperparameters"])]
            })
        }
    }

    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a model on a catalog dataset (omitted settings take the catalog's defaults).")
        @OptionGroup var client: ClientOptions
        @Option(help: "A catalog dataset.") var dataset: String
        @Option(help: "A catalog model.") var model: String
        @Option(help: "The task (default: the dataset's).") var task: String?
        @Option(name: .customLong("param"), help: "A hyperparameter of the model or of the learning pair, NAME=VALUE (repeatable).") var params: [String] = []
        @Option(help: "The loss (default: the model's first pair).") var loss: String?
        @Option(help: "The learning algorithm.") var algorithm: String?
        @Option(help: "Held-out fraction, between 0 and 1 (default 0.2).") var testSplit: Double?
        @Flag(help: "Wait for training to finish, printing each change.") var follow = false
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            let catalog = try JSONValue.parse(try await api.send(api.request(.GET, "\(LabCommand.prefix)/catalog")).body)
            let modelSpecs = catalog["models"]?.arrayValue?.first { $0["name"]?.stringValue == model }?["hyperparameters"]?.arrayValue ?? []
            let pairs = catalog["learning"]?.arrayValue?.filter { $0["model"]?.stringValue == model } ?? []
            let pair = pairs.first { (loss == nil || $0["loss"]?.stringValue == loss) && (algorithm == nil || $0["algorithm"]?.stringValue == algorithm) }
            let learningSpecs = pair?["hyperparameters"]?.arrayValue ?? []
            var hyperparameters: [String: JSONValue] = [:]
            var learning: [String: JSONValue] = [:]
            for param in params {
                let parts = param.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--param takes NAME=VALUE, such as C=1.0, not \"\(param)\".") }
                if let spec = learningSpecs.first(where: { $0["name"]?.stringValue == parts[0] }), !modelSpecs.contains(where: { $0["name"]?.stringValue == parts[0] }) {
                    learning[parts[0]] = LabCommand.typed(parts[1], spec: spec)
                } else {
                    hyperparameters[parts[0]] = LabCommand.typed(parts[1], spec: modelSpecs.first { $0["name"]?.stringValue == parts[0] })
                }
            }
            var body: [String: JSONValue] = ["dataset": .string(dataset), "model": .string(model)]
            if let task { body["task"] = .string(task) }
            if let loss { body["loss"] = .string(loss) }
            if let algorithm { body["algorithm"] = .string(algorithm) }
            if let testSplit { body["test_split"] = .number(testSplit) }
            if !hyperparameters.isEmpty { body["hyperparameters"] = .object(hyperparameters) }
            if !learning.isEmpty { body["learning_hyperparameters"] = .object(learning) }
            let response = try await LabCommand.send(api, api.request(.POST, "\(LabCommand.prefix)/experiments", body: JSONValue.object(body).encoded()))
            let created = try JSONValue.parse(response.body)
            let id = LabCommand.text(created["id"])
            if !follow {
                if json { LabCommand.printJSON(response.body) } else { print("\(id)  \(LabCommand.text(created["status"]))  \(LabCommand.text(created["state"]))") }
                return
            }
            try await LabCommand.follow(api, id: id, json: json)
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a trained draft on its held-out split.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The experiment id.") var id: String
        @Flag(help: "Wait for the metrics.") var follow = false
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            let response = try await LabCommand.send(api, api.request(.POST, "\(LabCommand.prefix)/experiments/\(id.urlPathEscaped)/evaluate"))
            if follow { try await LabCommand.follow(api, id: id, json: json); return }
            if json { LabCommand.printJSON(response.body) } else { LabCommand.show(try JSONValue.parse(response.body)) }
        }
    }

    struct Drafts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your drafts (admins: everyone's).")
        @OptionGroup var client: ClientOptions
        @Flag(help: "Print the raw JSON.") var json = false
        func run() async throws { try await LabCommand.list(try client.client(), state: "draft", json: json) }
    }

    struct Experiments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your committed experiments (--state draft for drafts, all for both).")
        @OptionGroup var client: ClientOptions
        @Option(help: "committed, draft or all.") var state = "committed"
        @Flag(help: "Print the raw JSON.") var json = false
        func run() async throws {
            guard ["committed", "draft", "all"].contains(state) else { throw ValidationError("--state must be committed, draft or all.") }
            try await LabCommand.list(try client.client(), state: state == "all" ? nil : state, json: json)
        }
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Commit a finished draft: it keeps its id and can no longer change.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The experiment id.") var id: String
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            let response = try await LabCommand.send(api, api.request(.POST, "\(LabCommand.prefix)/experiments/\(id.urlPathEscaped)/commit"))
            if json { LabCommand.printJSON(response.body) } else { LabCommand.show(try JSONValue.parse(response.body)) }
        }
    }

    // MARK: - Helpers

    /// Sends; a 422 prints each broken rule on its own line (`field (rule): detail`) to standard error and exits 2.
    static func send(_ api: APIClient, _ request: HTTPClientRequest) async throws -> APIClient.Response {
        let response: HTTPClientResponse
        do {
            response = try await APIClient.http.execute(request, timeout: .seconds(300))
        } catch {
            throw CLIError("cannot reach the Aerie server at \(api.server.absoluteString): \(error). Is it running? Set --server or AERIE_URL.")
        }
        let buffer = try await response.body.collect(upTo: 64 << 20)
        let result = APIClient.Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer.readableBytesView))
        if result.status == 422, let problem = try? JSONValue.parse(result.body), let errors = problem["errors"]?.arrayValue {
            FileHandle.standardError.write(Data("error: \(text(problem["detail"]))\n".utf8))
            for error in errors {
                FileHandle.standardError.write(Data("\(text(error["field"] ?? error["pointer"])) (\(text(error["rule"]))): \(text(error["detail"]))\n".utf8))
            }
            throw ExitCode(2)
        }
        if result.status >= 400 { throw CLIError.problem(result) }
        return result
    }

    static func follow(_ api: APIClient, id: String, json: Bool) async throws {
        let response = try await api.stream(api.request(.GET, "\(prefix)/experiments/\(id.urlPathEscaped)/events", headers: [("Accept", "text/event-stream")]))
        var parser = ServerSentEventParser()
        var last = JSONValue.null
        for try await chunk in response.body {
            for event in parser.feed(Data(chunk.readableBytesView)) where event.event == "experiment" {
                guard let experiment = try? JSONValue.parse(Data(event.data.utf8)) else { continue }
                last = experiment
                if !json { print("\(text(experiment["id"]))  \(text(experiment["status"]))") }
            }
        }
        if json { print(String(decoding: last.encoded(), as: UTF8.self)) } else { show(last) }
        if last["status"]?.stringValue == "failed" { throw ExitCode(1) }
    }

    static func list(_ api: APIClient, state: String?, json: Bool) async throws {
        var items: [JSONValue] = []
        var cursor: String?
        repeat {
            let response = try await api.send(api.request(.GET, "\(prefix)/experiments", query: [("state", state), ("limit", "200"), ("cursor", cursor)]))
            let page = try JSONValue.parse(response.body)
            items += page["items"]?.arrayValue ?? []
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        if json { print(String(decoding: JSONValue.object(["items": .array(items)]).encoded(), as: UTF8.self)); return }
        table(["ID", "STATE", "STATUS", "DATASET", "MODEL", "ACCURACY", "PRECISION", "RECALL", "CREATED"], items.map { item in
            [text(item["id"]), text(item["state"]), text(item["status"]), text(item["settings"]?["dataset"]), text(item["settings"]?["model"]),
             number(item["metrics"]?["accuracy"]), number(item["metrics"]?["precision"]), number(item["metrics"]?["recall"]), text(item["created_at"])]
        })
    }

    static func show(_ experiment: JSONValue) {
        print("id:       \(text(experiment["id"]))")
        print("state:    \(text(experiment["state"]))   status: \(text(experiment["status"]))")
        if let settings = experiment["settings"] {
            print("settings: \(text(settings["dataset"])) / \(text(settings["model"])) / \(text(settings["loss"])) + \(text(settings["algorithm"])), test_split \(text(settings["test_split"]))")
        }
        if let error = experiment["error"]?.stringValue { print("error:    \(error)") }
        if let metrics = experiment["metrics"], metrics != .null {
            print("accuracy \(number(metrics["accuracy"]))  precision \(number(metrics["precision"]))  recall \(number(metrics["recall"]))  f1 \(number(metrics["f1"]))")
            let labels = (metrics["labels"]?.arrayValue ?? []).map { text($0) }
            print("confusion matrix (rows: true, columns: predicted):")
            table([""] + labels, zip(labels, metrics["confusion_matrix"]?.arrayValue ?? []).map { label, row in
                [label] + (row.arrayValue ?? []).map { text($0) }
            })
        }
    }

    static func typed(_ value: String, spec: JSONValue?) -> JSONValue {
        switch spec?["type"]?.stringValue {
        case "int": return Int(value).map { .number(Double($0)) } ?? .string(value)
        case "float": return Double(value).map(JSONValue.number) ?? .string(value)
        case "bool": return ["true": true, "false": false][value.lowercased()].map(JSONValue.bool) ?? .string(value)
        case "string": return .string(value)
        default:
            if let number = Double(value) { return .number(number) }
            if let flag = ["true": true, "false": false][value.lowercased()] { return .bool(flag) }
            return .string(value)
        }
    }

    static func specs(_ value: JSONValue?) -> String {
        (value?.arrayValue ?? []).map { "\(text($0["name"]))=\(text($0["default"]))" }.joined(separator: " ")
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .number(let number)?: number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag)?: String(flag)
        case nil, .null?: "-"
        case let other?: String(decoding: other.encoded(), as: UTF8.self)
        }
    }

    static func number(_ value: JSONValue?) -> String {
        value?.numberValue.map { String(format: "%.4f", $0) } ?? "-"
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        for row in all {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    static func printJSON(_ data: Data) {
        FileHandle.standardOutput.write(data)
        print()
    }
}

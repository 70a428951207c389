import AerieCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import AerieRuntimes

/// `aerie functions deploy|ls|rm|logs`: deployed functions (issue 18), through the server's API.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "Deploy, list, remove and read the logs of functions in any language (run out of process on the Lambda Runtime API).",
        subcommands: [Deploy.self, List.self, Remove.self, Logs.self]
    )

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Deploy a folder or zip as the function's next version (admins).",
            discussion: """
            A python3 package holds the handler's module (and an optional requirements.txt, installed at deploy);
            a provided package holds an executable `bootstrap` that speaks the AWS Lambda Runtime API.

            Examples:
              aerie functions deploy hello ./hello --runtime python3 --handler app.handler
              aerie functions deploy echo ./echo.zip --runtime provided --timeout 5 --env GREETING=hi
              aerie functions deploy wordcount-py examples/functions/wordcount-py --runtime python3 \\
                  --handler app.handler --trigger 'uploads/py/*.txt'
            """
        )

        @OptionGroup var client: ClientOptions
        @Argument(help: "The function's name.") var name: String
        @Argument(help: "The package: a folder (zipped for you) or a .zip file.") var package: String
        @Option(help: "python3 or provided.") var runtime: String
        @Option(help: "module.function (python3).") var handler: String?
        @Option(help: "Memory in MiB (the process's address-space limit).") var memory: Int?
        @Option(help: "Seconds an invocation may run.") var timeout: Double?
        @Option(help: "Processes (invocations) at once; more get 429.") var concurrency: Int?
        @Option(help: "An environment variable KEY=VALUE (repeatable).") var env: [String] = []
        @Option(help: "A secret environment variable KEY=VALUE, never shown again (repeatable).") var secretEnv: [String] = []
        @Option(help: "An object trigger: bucket/prefix*suffix.") var trigger: String?

        func run() async throws {
            let zip = try packageData()
            var query: [(String, String?)] = [("runtime", runtime), ("handler", handler), ("memory", memory.map(String.init)),
                                              ("timeout", timeout.map { String($0) }), ("concurrency", concurrency.map(String.init)),
                                              ("trigger", trigger)]
            query += env.map { ("env", $0) } + secretEnv.map { ("secret_env", $0) }
            let api = try client.client()
            let response = try await api.send(api.request(.PUT, "/v1/functions/\(name.urlPathEscaped)", query: query,
                                                          headers: [("Content-Type", "application/zip")], body: zip), timeout: .seconds(900))
            let body = try JSONValue.parse(response.body)
            print("deployed \(name) version \(body["version"]?.numberValue.map { String(Int($0)) } ?? "?")")
        }

        private func packageData() throws -> Data {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: package, isDirectory: &isDirectory) else { throw CLIError("\(package) does not exist.") }
            if !isDirectory.boolValue {
                guard let data = FileManager.default.contents(atPath: package) else { throw CLIError("cannot read \(package).") }
                return data
            }
            return ZipArchive.write(try ZipArchive.entries(ofDirectory: URL(fileURLWithPath: package, isDirectory: true)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the functions (built-in and deployed) with their statistics.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let api = try client.client()
            let body = try JSONValue.parse(try await api.send(api.request(.GET, "/v1/functions")).body)
            print("NAME\tINVOCATIONS\tERRORS\tCOLD\tWARM\tDESCRIPTION")
            for item in body["items"]?.arrayValue ?? [] {
                let stats = item["stats"]
                func count(_ value: JSONValue?) -> String { value?.numberValue.map { String(Int($0)) } ?? "" }
                print([item["name"]?.stringValue ?? "", count(stats?["invocations"]), count(stats?["errors"]), count(stats?["cold_starts"]),
                       item["warm"] == .bool(true) ? "yes" : "no", item["description"]?.stringValue ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a deployed function and its versions (admins).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The function's name.") var name: String

        func run() async throws {
            let api = try client.client()
            _ = try await api.send(api.request(.DELETE, "/v1/functions/\(name.urlPathEscaped)"))
            print("deleted \(name)")
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print the log lines of a function's latest invocations, oldest first.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The function's name.") var name: String
        @Option(help: "How many of the latest invocations.") var limit = 10

        func run() async throws {
            let api = try client.client()
            let list = try JSONValue.parse(try await api.send(api.request(.GET, "/v1/invocations", query: [("function", name), ("limit", String(limit))])).body)
            for item in (list["items"]?.arrayValue ?? []).reversed() {
                guard let id = item["id"]?.stringValue else { continue }
                print("== \(id) \(item["status"]?.stringValue ?? "") cold_start=\(item["cold_start"] == .bool(true))")
                let logs = try JSONValue.parse(try await api.send(api.request(.GET, "/v1/invocations/\(id)/logs")).body)
                for line in logs["items"]?.arrayValue ?? [] {
                    print(line["data"]?["message"]?.stringValue ?? "")
                }
            }
        }
    }
}

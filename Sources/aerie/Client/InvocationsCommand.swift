import AerieCore
import ArgumentParser
import Foundation

struct InvocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invocations",
        abstract: "List invocations and show their records and logs.",
        discussion: """
        Examples:
          aerie invocations ls --function wordcount --status failed
          aerie invocations show 01JD…
          aerie invocations logs 01JD…
        """,
        subcommands: [List.self, Show.self, Logs.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List recent invocations, newest first.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this function's.") var function: String?
        @Option(help: "Only with this status (queued, running, succeeded, failed, cancelled, timed_out).") var status: String?
        @Option(help: "How many.") var limit = 20
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            let response = try await api.send(api.request(.GET, "/v1/invocations",
                                                          query: [("function", function), ("status", status), ("limit", String(limit))]))
            if json { FileHandle.standardOutput.write(response.body); print(); return }
            guard case .array(let items)? = try JSONValue.parse(response.body)["items"] else { return }
            for item in items {
                let duration = item["duration_ms"]?.numberValue.map { String(format: "%8.1f ms", $0) } ?? "           "
                let cold = item["cold_start"] == .bool(true) ? " cold" : ""
                print("\(item["id"]?.stringValue ?? "")  \(item["function"]?.stringValue ?? "")  \(item["status"]?.stringValue ?? "")  \(duration)\(cold)  \(item["created_at"]?.stringValue ?? "")")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an invocation's record as JSON.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The invocation id.") var id: String

        func run() async throws {
            let api = try client.client()
            let response = try await api.send(api.request(.GET, "/v1/invocations/\(id.urlPathEscaped)"))
            FileHandle.standardOutput.write(response.body)
            print()
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an invocation's captured log lines.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The invocation id.") var id: String

        func run() async throws {
            let api = try client.client()
            let response = try await api.send(api.request(.GET, "/v1/invocations/\(id.urlPathEscaped)/logs"))
            guard case .array(let items)? = try JSONValue.parse(response.body)["items"] else { return }
            for item in items {
                let data = item["data"] ?? item
                let level = data["level"]?.stringValue ?? "info"
                print("\(item["time"]?.stringValue ?? "") \(level.uppercased()) \(data["message"]?.stringValue ?? "")")
            }
        }
    }
}

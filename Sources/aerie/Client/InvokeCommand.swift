import AerieCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Invoke a function, synchronously or asynchronously.",
        discussion: """
        Synchronous calls print the function's output. With --async the invocation is queued and its id printed;
        add --follow to watch its progress live and print the output when it ends.

        Examples:
          aerie invoke wordcount --data '{"text": "to be or not to be"}'
          aerie invoke wordcount --data '{"key": "incoming/hamlet.txt"}' --async --follow
        """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The function's name.") var name: String
    @Option(help: "The input as JSON, or @FILE to read it from a file.") var data = "{}"
    @Flag(help: "Queue the invocation and return its id at once.") var async = false
    @Flag(help: "With --async: show live progress and print the output when it ends.") var follow = false
    @Option(help: "With --async: a key that makes a retried request return the first invocation.") var idempotencyKey: String?

    func run() async throws {
        let api = try client.client()
        let body = try inputData()
        if !async {
            let response = try await api.send(api.request(.POST, "/v1/functions/\(name.urlPathEscaped)/invoke", body: body))
            FileHandle.standardOutput.write(response.body)
            if response.body.last != UInt8(ascii: "\n") { print() }
            return
        }
        var headers: [(String, String)] = []
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        let response = try await api.send(api.request(.POST, "/v1/functions/\(name.urlPathEscaped)/invocations", headers: headers, body: body))
        guard let id = try JSONValue.parse(response.body)["id"]?.stringValue else { throw CLIError("the server's answer has no invocation id.") }
        guard follow else {
            print(id)
            return
        }
        FileHandle.standardError.write(Data("invocation \(id)\n".utf8))
        try await EventFollower(api: api).follow(id)
    }

    private func inputData() throws -> Data {
        let bytes: Data
        if data.hasPrefix("@") {
            let path = String(data.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path).") }
            bytes = contents
        } else {
            bytes = Data(data.utf8)
        }
        do {
            _ = try JSONValue.parse(bytes)
        } catch {
            throw CLIError("--data is not valid JSON: \(data.prefix(200))")
        }
        return bytes
    }
}

/// Follows an invocation's server-sent events: a live progress line on stderr, the output on stdout.
struct EventFollower {
    var api: APIClient

    func follow(_ id: String) async throws {
        var lastEventId: String?
        var attempts = 0
        while true {
            var headers: [(String, String)] = [("Accept", "text/event-stream")]
            if let lastEventId { headers.append(("Last-Event-ID", lastEventId)) }
            let response = try await api.stream(api.request(.GET, "/v1/invocations/\(id)/events", headers: headers))
            var parser = ServerSentEventParser()
            do {
                for try await buffer in response.body {
                    for event in parser.feed(Data(buffer.readableBytesView)) {
                        if let eventId = event.id { lastEventId = eventId }
                        if try handle(event) { return }
                    }
                }
            } catch let error as CLIError {
                throw error
            } catch {
                // The connection dropped: resume from the last event seen.
            }
            attempts += 1
            if attempts > 5 { throw CLIError("lost the event stream of invocation \(id); see `aerie invocations show \(id)`.") }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Returns true when the invocation has ended.
    private func handle(_ event: ServerSentEvent) throws -> Bool {
        let data = (try? JSONValue.parse(Data(event.data.utf8))) ?? .string(event.data)
        switch event.event {
        case "progress":
            let fraction = data["fraction"]?.numberValue ?? data["progress"]?.numberValue ?? 0
            let message = data["message"]?.stringValue ?? ""
            ProgressLine.draw(fraction: fraction, message: message)
            return false
        case "log":
            ProgressLine.clear()
            FileHandle.standardError.write(Data("log: \(data["message"]?.stringValue ?? event.data)\n".utf8))
            return false
        case "result":
            ProgressLine.draw(fraction: 1, message: "done")
            ProgressLine.finish()
            let output = data["output"] ?? data
            FileHandle.standardOutput.write(output.encoded())
            print()
            return true
        case "error":
            ProgressLine.finish()
            let type = data["type"]?.stringValue ?? "error"
            let message = data["message"]?.stringValue ?? event.data
            throw CLIError("the invocation ended with \(type): \(message)")
        default:
            return false
        }
    }
}

extension String {
    /// The string escaped for use as one URL path segment.
    var urlPathEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? self
    }

    /// An object key escaped for a URL path, keeping its `/` separators.
    var urlKeyEscaped: String {
        split(separator: "/", omittingEmptySubsequences: false).map { String($0).urlPathEscaped }.joined(separator: "/")
    }
}

import AerieCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

struct ObjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objects",
        abstract: "Put, get, list and remove objects on a server.",
        discussion: """
        Objects are named BUCKET/KEY; the key may contain '/'.

        Examples:
          aerie objects put quickstart/incoming/hello.txt hello.txt
          aerie objects ls quickstart/results/
          aerie objects get quickstart/results/hello.json
          aerie objects rm quickstart/incoming/hello.txt
        """,
        subcommands: [Put.self, Get.self, List.self, Remove.self]
    )

    /// Splits `bucket/key` into its parts.
    static func split(_ path: String, keyRequired: Bool = true) throws -> (bucket: String, key: String) {
        let parts = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        let key = parts.count > 1 ? String(parts[1]) : ""
        if bucket.isEmpty || (keyRequired && key.isEmpty) {
            throw CLIError("expected BUCKET/KEY, e.g. quickstart/incoming/hello.txt, not \"\(path)\".")
        }
        return (bucket, key)
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upload a file (or stdin with '-') as an object.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "BUCKET/KEY to write.") var target: String
        @Argument(help: "The file to upload, or - for stdin.") var file: String
        @Option(help: "The content type (default: guessed from the file name).") var contentType: String?
        @Option(name: .customLong("meta"), help: "User metadata NAME=VALUE (repeatable).") var metadata: [String] = []

        func run() async throws {
            let api = try client.client()
            let (bucket, key) = try ObjectsCommand.split(target)
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file).") }
                data = contents
            }
            var headers = [("Content-Type", contentType ?? ContentTypes.guess(for: key))]
            for entry in metadata {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                    throw CLIError("--meta takes NAME=VALUE, not \"\(entry)\".")
                }
                headers.append(("X-Aerie-Meta-\(entry[..<equals])", String(entry[entry.index(after: equals)...])))
            }
            let response = try await api.send(api.request(.PUT, "/v1/buckets/\(bucket.urlPathEscaped)/objects/\(key.urlKeyEscaped)",
                                                          headers: headers, body: data))
            let etag = response.headers.first(name: "ETag") ?? ""
            print("uploaded \(bucket)/\(key) (\(data.count) bytes, ETag \(etag))")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download an object to a file or stdout.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "BUCKET/KEY to read.") var source: String
        @Argument(help: "Where to write it (default: stdout).") var file: String?

        func run() async throws {
            let api = try client.client()
            let (bucket, key) = try ObjectsCommand.split(source)
            let response = try await api.send(api.request(.GET, "/v1/buckets/\(bucket.urlPathEscaped)/objects/\(key.urlKeyEscaped)"))
            if let file, file != "-" {
                try response.body.write(to: URL(fileURLWithPath: file), options: .atomic)
                FileHandle.standardError.write(Data("wrote \(response.body.count) bytes to \(file)\n".utf8))
            } else {
                FileHandle.standardOutput.write(response.body)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List buckets, or the objects of BUCKET[/PREFIX].")
        @OptionGroup var client: ClientOptions
        @Argument(help: "BUCKET or BUCKET/PREFIX; omit to list buckets.") var path: String?
        @Option(help: "Roll keys up to this delimiter (e.g. '/').") var delimiter: String?
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            guard let path else {
                let response = try await api.send(api.request(.GET, "/v1/buckets"))
                if json { return FileHandle.standardOutput.write(response.body) }
                guard case .array(let items)? = try JSONValue.parse(response.body)["items"] else { return }
                for item in items { print(item["name"]?.stringValue ?? "") }
                return
            }
            let (bucket, prefix) = try ObjectsCommand.split(path, keyRequired: false)
            var cursor: String?
            repeat {
                let response = try await api.send(api.request(.GET, "/v1/buckets/\(bucket.urlPathEscaped)/objects",
                                                              query: [("prefix", prefix), ("delimiter", delimiter), ("cursor", cursor)]))
                if json { FileHandle.standardOutput.write(response.body); print() }
                let page = try JSONValue.parse(response.body)
                if !json {
                    if case .array(let prefixes)? = page["common_prefixes"] {
                        for prefix in prefixes { print("                     PRE  \(prefix.stringValue ?? "")") }
                    }
                    if case .array(let items)? = page["items"] {
                        for item in items {
                            let size = Int(item["size"]?.numberValue ?? 0)
                            let modified = item["last_modified"]?.stringValue ?? ""
                            print("\(modified.prefix(19)) \(String(format: "%10d", size))  \(item["key"]?.stringValue ?? "")")
                        }
                    }
                }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an object.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "BUCKET/KEY to remove.") var target: String

        func run() async throws {
            let api = try client.client()
            let (bucket, key) = try ObjectsCommand.split(target)
            _ = try await api.send(api.request(.DELETE, "/v1/buckets/\(bucket.urlPathEscaped)/objects/\(key.urlKeyEscaped)"))
            print("removed \(bucket)/\(key)")
        }
    }
}

/// Content types guessed from a file name's extension.
enum ContentTypes {
    static func guess(for name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "txt", "md": "text/plain; charset=utf-8"
        case "json": "application/json"
        case "csv": "text/csv"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "html": "text/html; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}

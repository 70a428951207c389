import AerieCore
import ArgumentParser
import Foundation

struct S3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "The S3-compatible API: credentials for boto3, the AWS CLI and other S3 clients.",
        discussion: """
        `aerie serve --s3-port 9000` serves the API (`make run` does). A credential acts as its user: an admin's on
        every bucket, a user's on the buckets that user created.

        Examples:
          aerie s3 credentials create
          aerie s3 credentials create --user ann --read-only
          aerie s3 credentials ls
          aerie s3 credentials rm AKEXAMPLE
        """,
        subcommands: [Credentials.self]
    )

    struct Credentials: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credentials",
            abstract: "Create, list and revoke S3 credentials (access key id and secret).",
            subcommands: [Create.self, List.self, Remove.self]
        )
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an S3 credential; its secret is printed once.",
            discussion: """
            Prints the access key id and the secret, and the lines to put into ~/.aws/credentials. Admins may make
            one for another user with --user.
            """
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "The user the credential acts as (admins only; default: you).") var user: String?
        @Flag(help: "Allow only reads (GET, HEAD, listings).") var readOnly = false
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            var body: [String: JSONValue] = ["read_only": .bool(readOnly)]
            if let user { body["user"] = .string(user) }
            let response = try await api.send(api.request(.POST, "/v1/s3/credentials", body: JSONValue.object(body).encoded()))
            if json { FileHandle.standardOutput.write(response.body); print(); return }
            let created = try JSONValue.parse(response.body)
            let id = created["access_key_id"]?.stringValue ?? ""
            let secret = created["secret_access_key"]?.stringValue ?? ""
            print("""
            access_key_id:     \(id)
            secret_access_key: \(secret)
            user:              \(created["owner"]?.stringValue ?? "")\(readOnly ? " (read-only)" : "")

            The secret is shown only now. For the AWS CLI and boto3, add to ~/.aws/credentials:
              [aerie]
              aws_access_key_id = \(id)
              aws_secret_access_key = \(secret)
            """)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List S3 credentials (an admin sees all, a user their own).")
        @OptionGroup var client: ClientOptions
        @Flag(help: "Print the raw JSON.") var json = false

        func run() async throws {
            let api = try client.client()
            var cursor: String?
            repeat {
                let response = try await api.send(api.request(.GET, "/v1/s3/credentials", query: [("cursor", cursor)]))
                if json { FileHandle.standardOutput.write(response.body); print() }
                let page = try JSONValue.parse(response.body)
                if !json, case .array(let items)? = page["items"] {
                    for item in items {
                        let readOnly = item["read_only"] == .bool(true) ? "read-only" : "read-write"
                        print("\(item["access_key_id"]?.stringValue ?? "")  \(item["owner"]?.stringValue ?? "")  \(readOnly)  \(item["created_at"]?.stringValue ?? "")")
                    }
                }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke an S3 credential: it stops working at once.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The access key id to revoke.") var accessKeyId: String

        func run() async throws {
            let api = try client.client()
            _ = try await api.send(api.request(.DELETE, "/v1/s3/credentials/\(accessKeyId.urlPathEscaped)"))
            print("revoked \(accessKeyId)")
        }
    }
}

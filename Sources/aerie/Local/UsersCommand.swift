import AerieAuth
import AerieCore
import AerieHTTP
import ArgumentParser
import Foundation

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Create, list and disable users in a data directory.",
        discussion: """
        Works on the data directory directly (the server may be running).

        Examples:
          aerie users create alice --password 'correct horse battery staple'
          aerie users create ops --role admin --password="$OPS_PASSWORD"
          aerie users list
          aerie users disable alice
        """,
        subcommands: [Create.self, List.self, Disable.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions
        @Argument(help: "The user name.") var username: String
        @Option(help: "The password (default: $AERIE_NEW_PASSWORD).") var password: String?
        @Option(help: "admin or user.") var role = "user"

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw CLIError("--role must be admin or user, not \"\(role)\".") }
            guard let password = password ?? environmentSetting("AERIE_NEW_PASSWORD") else {
                throw CLIError("no password: pass --password or set AERIE_NEW_PASSWORD.")
            }
            let auth = try await deployment.openAuth(data: data)
            let user = try await auth.createUser(username, password: password, role: role)
            print("created \(user.role.rawValue) \(user.username)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions

        func run() async throws {
            let auth = try await deployment.openAuth(data: data)
            var cursor: String?
            repeat {
                let page = try await auth.listUsers(limit: 100, cursor: cursor)
                for user in page.items {
                    print("\(user.username)\t\(user.role.rawValue)\t\(user.disabled ? "disabled" : "active")\t\(RFC3339.string(from: user.createdAt))")
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user: their tokens, sessions and keys stop working.")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions
        @Argument(help: "The user name.") var username: String

        func run() async throws {
            let auth = try await deployment.openAuth(data: data)
            _ = try await auth.setDisabled(username, true)
            print("disabled \(username)")
        }
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys in a data directory.",
        discussion: """
        A key is shown once, when created; only its SHA-256 hash is stored. Send it as `Authorization: Bearer KEY`.
        Scopes: objects:read, objects:write, functions:invoke, queues, tables, topics, admin.

        Examples:
          aerie keys create uploader --owner admin --scope objects:write --scope objects:read
          aerie keys list
          aerie keys revoke KEY_ID
        """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it once.")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions
        @Argument(help: "A name for the key.") var name: String
        @Option(help: "The user the key acts for.") var owner = "admin"
        @Option(name: .customLong("scope"), help: "A scope (repeatable).") var scopes: [String] = []

        func run() async throws {
            let auth = try await deployment.openAuth(data: data)
            let created = try await auth.createKey(name: name, owner: owner, scopes: scopes)
            print(created.key)
            FileHandle.standardError.write(Data("key \(created.record.id) for \(owner) with scopes [\(scopes.joined(separator: ", "))]; it is not shown again.\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions

        func run() async throws {
            let auth = try await deployment.openAuth(data: data)
            var cursor: String?
            repeat {
                let page = try await auth.listKeys(limit: 100, cursor: cursor)
                for key in page.items {
                    let state = key.revokedAt == nil ? "active" : "revoked"
                    print("\(key.id)\t\(key.name)\t\(key.owner)\t\(key.scopes.joined(separator: ","))\t\(state)")
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key.")
        @OptionGroup var data: DataOptions
        @OptionGroup var deployment: DeploymentOptions
        @Argument(help: "The key's id (from `aerie keys list`).") var id: String

        func run() async throws {
            let auth = try await deployment.openAuth(data: data)
            _ = try await auth.revokeKey(id: id)
            print("revoked \(id)")
        }
    }
}

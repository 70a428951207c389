import ArgumentParser
import Foundation

/// Where the server is and how to authenticate, shared by every client command.
struct ClientOptions: ParsableArguments {
    @Option(help: "The Aerie server (default: $AERIE_URL or http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "A bearer token or API key (default: $AERIE_TOKEN, else the token saved by `aerie login`).")
    var token: String?

    var serverURL: URL {
        get throws {
            let text = server ?? environmentSetting("AERIE_URL") ?? "http://127.0.0.1:8080"
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw CLIError("--server must be an http(s) URL such as http://127.0.0.1:8080, not \"\(text)\".")
            }
            return url
        }
    }

    func client() throws -> APIClient {
        let url = try serverURL
        guard let token = token ?? environmentSetting("AERIE_TOKEN") ?? CredentialStore().token(for: url) else {
            throw CLIError("not logged in to \(url.absoluteString): run `aerie login --username admin` or set AERIE_TOKEN.")
        }
        return APIClient(server: url, token: token)
    }

    /// A client that sends no credential, for `aerie login` (a stale or empty token must not spoil the login).
    func anonymousClient() throws -> APIClient {
        APIClient(server: try serverURL, token: nil)
    }
}


/// Tokens saved by `aerie login`, one per server, in `$XDG_CONFIG_HOME/aerie/credentials.json` (mode 0600).
struct CredentialStore {
    var file: URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CONFIG_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        return base.appendingPathComponent("aerie/credentials.json")
    }

    func token(for server: URL) -> String? {
        guard let data = try? Data(contentsOf: file),
              let tokens = try? JSONDecoder().decode([String: String].self, from: data) else { return nil }
        return tokens[server.absoluteString]
    }

    func save(token: String, for server: URL) throws {
        var tokens: [String: String] = [:]
        if let data = try? Data(contentsOf: file), let existing = try? JSONDecoder().decode([String: String].self, from: data) {
            tokens = existing
        }
        tokens[server.absoluteString] = token
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let data = try JSONEncoder().encode(tokens)
        guard FileManager.default.createFile(atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write \(file.path); check the permissions of its folder.")
        }
    }
}

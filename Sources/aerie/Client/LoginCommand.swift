import AerieCore
import ArgumentParser
import Foundation

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to an Aerie server and save the token for later commands.",
        discussion: """
        The password is read from --password, $AERIE_PASSWORD, or the terminal. Write --password=VALUE (with "=")
        when the value may start with "-", or the value is taken for an option.

        Example:
          aerie login --username admin --password="$(cat aerie-data/admin-password)"
        """
    )

    @OptionGroup var client: ClientOptions
    @Option(help: "The user name.") var username = "admin"
    @Option(help: "The password (default: $AERIE_PASSWORD, else asked for).") var password: String?

    func run() async throws {
        let api = try client.anonymousClient()
        guard let password = password ?? environmentSetting("AERIE_PASSWORD") ?? readPassword() else {
            throw CLIError("no password given: pass --password or set AERIE_PASSWORD.")
        }
        let body = JSONValue.object(["username": .string(username), "password": .string(password)]).encoded()
        let response = try await api.send(api.request(.POST, "/v1/auth/login", body: body))
        let reply = try JSONValue.parse(response.body)
        guard let token = reply["token"]?.stringValue else { throw CLIError("the server's login answer has no token.") }
        try CredentialStore().save(token: token, for: api.server)
        let expiry = reply["expires_at"]?.stringValue.map { " (expires \($0))" } ?? ""
        print("Logged in to \(api.server.absoluteString) as \(username)\(expiry).")
    }

    private func readPassword() -> String? {
        guard isatty(STDIN_FILENO) != 0 else { return readLine() }
        guard let pointer = getpass("Password: ") else { return nil }
        return String(cString: pointer)
    }
}

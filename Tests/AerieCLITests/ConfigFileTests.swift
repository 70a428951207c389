import Foundation
import Testing

@testable import aerie

/// `--config FILE` / `$AERIE_CONFIG`: a YAML file of settings read as options, below the command line and the
/// environment.
struct ConfigFileTests {
    private func file(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-config-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func serve(_ arguments: [String], environment: [String: String] = [:]) throws -> ServeCommand {
        let expanded = try ConfigFile.expand(arguments, environment: environment)
        return try #require(try Aerie.parseAsRoot(expanded) as? ServeCommand)
    }

    private let settings = """
        # one file for every node
        database: postgres://aerie:secret@db:5432/aerie
        object-store: file:///srv/aerie-objects
        port: 9001
        host: 0.0.0.0
        role: [gateway, worker]
        cors-origin:
          - https://a.example
          - https://b.example
        allow-signup: true
        apps: quickstart,gallery
        """

    @Test("Every kind of setting: values, lists for repeatable options, flags")
    func readsSettings() throws {
        let path = try file(settings)
        let command = try serve(["serve", "--config", path])
        #expect(command.port == 9001 && command.host == "0.0.0.0")
        #expect(command.deployment.databaseURL == "postgres://aerie:secret@db:5432/aerie")
        #expect(command.deployment.objectStoreURL == "file:///srv/aerie-objects")
        #expect(command.role == [.gateway, .worker])
        #expect(command.corsOrigins == ["https://a.example", "https://b.example"])
        #expect(command.allowSignup)
        #expect(command.apps == "quickstart,gallery")
    }

    @Test("The command line wins over the environment, which wins over the file")
    func precedence() throws {
        let path = try file(settings)
        let command = try serve(["serve", "--port", "7000", "--role", "worker", "--config=\(path)"])
        #expect(command.port == 7000)
        #expect(command.role == [.worker], "a repeatable option given on the command line replaces the file's list")
        #expect(command.deployment.objectStoreURL == "file:///srv/aerie-objects", "the file fills what the command line does not give")
        // $AERIE_DATABASE_URL set: the file's database is left out, so DeploymentOptions reads the variable.
        let expanded = try ConfigFile.expand(["serve", "--config", path], environment: ["AERIE_DATABASE_URL": "postgres://env@db/env"])
        #expect(!expanded.contains { $0.hasPrefix("--database") })
        #expect(expanded.contains("--object-store=file:///srv/aerie-objects"))
    }

    @Test("$AERIE_CONFIG names the file; a flag set to false stays off")
    func environmentNamesTheFile() throws {
        let path = try file("port: 9100\nallow-signup: false\n")
        let command = try serve(["serve"], environment: ["AERIE_CONFIG": path])
        #expect(command.port == 9100 && !command.allowSignup)
        #expect(try ConfigFile.expand(["serve"], environment: [:]) == ["serve"], "no file, nothing added")
    }

    @Test("aerie users and aerie keys take the storage settings and leave the rest")
    func storageCommandsTakeStorageSettings() throws {
        let path = try file(settings)
        let expanded = try ConfigFile.expand(["users", "list", "--config", path], environment: [:])
        #expect(expanded == ["users", "list", "--config", path, "--database=postgres://aerie:secret@db:5432/aerie",
                             "--object-store=file:///srv/aerie-objects"])
        #expect(try Aerie.parseAsRoot(expanded) is UsersCommand.List)
        #expect(try ConfigFile.expand(["login", "--config", path], environment: [:]) == ["login", "--config", path],
                "commands that read no file are left alone")
    }

    @Test("A file that cannot be read or is not a mapping of values is a clear error; a wrong value is the option's error")
    func errors() throws {
        #expect(throws: ConfigFile.Error.self) { try ConfigFile.expand(["serve", "--config", "/nonexistent/aerie.yaml"], environment: [:]) }
        for text in ["port: [1, 2", "- port\n- 8080\n", "port:\n  value: 1\n", "--port: 1\n", "cors-origin: [[a]]\n"] {
            let path = try file(text)
            #expect(throws: ConfigFile.Error.self, "\(text)") { try ConfigFile.expand(["serve", "--config", path], environment: [:]) }
        }
        let unknown = try ConfigFile.expand(["serve", "--config", try file("portt: 1\n")], environment: [:])
        #expect(throws: (any Error).self) { try Aerie.parseAsRoot(unknown) }
        let invalid = try ConfigFile.expand(["serve", "--config", try file("port: 70000\n")], environment: [:])
        #expect(throws: (any Error).self) { try Aerie.parseAsRoot(invalid) }
    }
}

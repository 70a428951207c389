import ArgumentParser
import Foundation

@main
struct Aerie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerie",
        abstract: "Aerie: serverless AI applications on one machine, scaling out on existing engines.",
        discussion: """
        Local commands work on a data directory (--data, default ./aerie-data): serve, users, keys, migrate, backup, restore.
        Client commands talk to a running server (--server or $AERIE_URL, default http://127.0.0.1:8080): login, invoke, objects, invocations.

        Start here:
          aerie serve                       # starts Aerie on http://127.0.0.1:8080
          aerie login --username admin      # password in ./aerie-data/admin-password
          aerie invoke wordcount --data '{"text": "hello hello world"}'
        """,
        subcommands: [
            ServeCommand.self,
            UsersCommand.self,
            KeysCommand.self,
            MigrateCommand.self,
            BackupCommand.self,
            RestoreCommand.self,
            BenchCommand.self,
            MLCommand.self,
            ModelsCommand.self,
            EmbedCommand.self,
            ImagineCommand.self,
            LabCommand.self,
            LoginCommand.self,
            InvokeCommand.self,
            ObjectsCommand.self,
            InvocationsCommand.self,
            S3Command.self,
            FunctionsCommand.self,
            RuntimesCommand.self,
        ]
    )

    /// Prints `error: …` and exits non-zero for the CLI's own errors instead of a stack of Swift type names.
    static func main() async {
        let given = Array(CommandLine.arguments.dropFirst())
        var arguments = given
        do {
            arguments = try ConfigFile.expand(given, environment: ProcessInfo.processInfo.environment)
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch let error as any AerieErrorConvertible {
            FileHandle.standardError.write(Data("error: \(error.cliMessage)\n".utf8))
            Foundation.exit(1)
        } catch let error as ConfigFile.Error {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            if arguments != given {
                FileHandle.standardError.write(Data("note: these options came from the config file: \(arguments.dropFirst(given.count).map { $0.split(separator: "=", maxSplits: 1)[0] }.joined(separator: ", "))\n".utf8))
            }
            exit(withError: error)
        }
    }
}

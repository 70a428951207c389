import AerieRuntimes
import AerieCore
import ArgumentParser
import Foundation

/// `aerie runtimes install python`: the language runtimes deployed functions run on, under the data directory.
struct RuntimesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtimes",
        abstract: "Install the language runtimes that deployed functions use (local, on the data directory).",
        subcommands: [Install.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install",
            abstract: "Build the managed Python environment (a venv with awslambdaric from PyPI) for python3 functions.",
            discussion: """
            A running server uses the new environment for the next process it starts; no restart is needed.

            Examples:
              aerie runtimes install python
              aerie runtimes install python --data /var/lib/aerie --interpreter python3.12
            """
        )

        @OptionGroup var data: DataOptions
        @Argument(help: "The runtime: python.") var runtime: String
        @Option(help: "The Python interpreter that builds the environment.") var interpreter = "python3"

        func run() async throws {
            guard runtime == "python" || runtime == "python3" else {
                throw CLIError("unknown runtime \(runtime); the runtime to install is python (provided functions need none).")
            }
            let environment = PythonEnvironment(dataDirectory: data.directory)
            do {
                let output = try await environment.install(interpreter: interpreter)
                print(output)
                print("installed python runtime at \(environment.venv.path)")
            } catch let error as AerieError {
                throw CLIError(error.message)
            }
        }
    }
}

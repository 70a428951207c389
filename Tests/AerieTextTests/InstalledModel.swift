import AerieModels
import AerieText
import AerieTesting
import Foundation

/// The real all-MiniLM-L6-v2 files for the tests that need them, from ``SharedModels`` (the data directory
/// `make test` installs into, or `$AERIE_DATA`; installed there by the first test that needs them).
enum InstalledModel {
    static var repositoryRoot: URL { RepositoryPaths.root }

    static var dataDirectory: URL { RepositoryPaths.dataDirectory }

    static var store: ModelStore { SharedModels.store }

    static var installer: ModelInstaller { SharedModels.installer }

    /// The installed MiniLM, with the `model.onnx` its install builds.
    static func minilmDirectory() throws -> URL {
        try SharedModels.directory(of: .minilm)
    }

    private static let loadedEncoder: Result<SentenceEncoder, any Error> = Result {
        try SentenceEncoder(directory: minilmDirectory())
    }

    static func encoder() throws -> SentenceEncoder {
        try loadedEncoder.get()
    }

    /// The ONNX Runtime backend on the installed runtime and the `model.onnx` built by the install.
    private static let loadedONNXEncoder: Result<any SentenceEmbedder, any Error> = Result {
        _ = try minilmDirectory()
        _ = try SharedModels.onnxRuntimeLibrary()
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

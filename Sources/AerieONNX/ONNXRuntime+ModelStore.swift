import AerieModels
import Foundation

extension ONNXRuntime {
    /// Loads the ONNX Runtime library installed in `store` (`aerie models install onnxruntime`), found by
    /// ``ModelStore/onnxRuntimeLibrary()``, the one place that knows where it is.
    public convenience init(installedIn store: ModelStore) throws {
        try self.init(libraryPath: store.onnxRuntimeLibrary().path)
    }
}

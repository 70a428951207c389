import AerieCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// ONNX Runtime's C API, loaded with `dlopen` from the shared library of the PyPI `onnxruntime` wheel
/// (`aerie models install onnxruntime`; ``init(installedIn:)`` loads it from where
/// `ModelStore.onnxRuntimeLibrary()` finds it).
///
/// The wheel ships no headers, so only the entries used here are declared, by their position in the
/// `OrtApi` table of API version ``apiVersion`` (positions of the version-1 entries never change).
/// The library is never unloaded; the environment lives as long as this object and its sessions.
public final class ONNXRuntime: @unchecked Sendable {
    /// The `OrtApi` version requested from `OrtGetApiBase()->GetApi`.
    public static let apiVersion: UInt32 = 13

    let table: UnsafePointer<UnsafeRawPointer?>
    let env: OpaquePointer
    /// The ONNX Runtime version string (`1.32.0`).
    public let version: String

    /// Loads the library and creates an ONNX Runtime environment (warnings and errors logged by ORT).
    public init(libraryPath: String) throws {
        guard FileManager.default.fileExists(atPath: libraryPath) else {
            throw AerieError.notFound("ONNX Runtime is not installed at \(libraryPath). Run `aerie models install onnxruntime` first.")
        }
        guard let handle = dlopen(libraryPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw AerieError(.unavailable, "Cannot load ONNX Runtime from \(libraryPath): \(reason). Reinstall it with `aerie models install onnxruntime --force`.")
        }
        guard let symbol = dlsym(handle, "OrtGetApiBase") else {
            throw AerieError(.unavailable, "\(libraryPath) has no OrtGetApiBase; it is not the ONNX Runtime library.")
        }
        typealias GetApiBase = @convention(c) () -> UnsafePointer<UnsafeRawPointer?>?
        typealias GetApi = @convention(c) (UInt32) -> UnsafePointer<UnsafeRawPointer?>?
        typealias GetVersionString = @convention(c) () -> UnsafePointer<CChar>?
        guard let base = unsafeBitCast(symbol, to: GetApiBase.self)(), let getApi = base[0], let getVersion = base[1] else {
            throw AerieError(.unavailable, "\(libraryPath) returned no API base.")
        }
        version = unsafeBitCast(getVersion, to: GetVersionString.self)().map { String(cString: $0) } ?? "unknown"
        guard let table = unsafeBitCast(getApi, to: GetApi.self)(Self.apiVersion) else {
            throw AerieError(.unavailable, "ONNX Runtime \(version) does not offer C API version \(Self.apiVersion); install a newer onnxruntime.")
        }
        self.table = table
        var env: OpaquePointer?
        let createEnv = unsafeBitCast(table[ORTEntry.createEnv], to: ORTEntry.CreateEnv.self)
        let status = createEnv(2, "aerie", &env)  // ORT_LOGGING_LEVEL_WARNING
        try Self.check(status, table: table, doing: "creating the environment")
        guard let env else { throw AerieError(.internal, "ONNX Runtime returned no environment.") }
        self.env = env
    }

    deinit {
        unsafeBitCast(table[ORTEntry.releaseEnv], to: ORTEntry.Release.self)(env)
    }

    func entry<T>(_ index: Int, as type: T.Type) -> T {
        unsafeBitCast(table[index], to: type)
    }

    /// Turns a non-null `OrtStatus*` into an error (and releases it).
    func check(_ status: OpaquePointer?, doing what: String) throws {
        try Self.check(status, table: table, doing: what)
    }

    static func check(_ status: OpaquePointer?, table: UnsafePointer<UnsafeRawPointer?>, doing what: String) throws {
        guard let status else { return }
        let code = unsafeBitCast(table[ORTEntry.getErrorCode], to: ORTEntry.GetErrorCode.self)(status)
        let message = unsafeBitCast(table[ORTEntry.getErrorMessage], to: ORTEntry.GetErrorMessage.self)(status)
            .map { String(cString: $0) } ?? "no message"
        unsafeBitCast(table[ORTEntry.releaseStatus], to: ORTEntry.Release.self)(status)
        let aerieCode: AerieError.Code =
            switch code {
            case 2: .invalidArgument  // ORT_INVALID_ARGUMENT
            case 3: .notFound  // ORT_NO_SUCHFILE
            case 4, 7, 10: .invalidArgument  // ORT_NO_MODEL, ORT_INVALID_PROTOBUF, ORT_INVALID_GRAPH
            default: .internal
            }
        throw AerieError(aerieCode, "ONNX Runtime failed \(what): \(message)")
    }
}

/// Positions in the `OrtApi` function table and the C signatures of the entries used.
enum ORTEntry {
    static let getErrorCode = 1
    static let getErrorMessage = 2
    static let createEnv = 3
    static let createSession = 7
    static let run = 9
    static let createSessionOptions = 10
    static let enableProfiling = 14
    static let disableProfiling = 15
    static let setSessionGraphOptimizationLevel = 23
    static let setIntraOpNumThreads = 24
    static let setInterOpNumThreads = 25
    static let sessionGetInputCount = 30
    static let sessionGetOutputCount = 31
    static let sessionGetInputTypeInfo = 33
    static let sessionGetOutputTypeInfo = 34
    static let sessionGetInputName = 36
    static let sessionGetOutputName = 37
    static let createTensorWithDataAsOrtValue = 49
    static let getTensorMutableData = 51
    static let castTypeInfoToTensorInfo = 55
    static let getTensorElementType = 60
    static let getDimensionsCount = 61
    static let getDimensions = 62
    static let getTensorTypeAndShape = 65
    static let createCpuMemoryInfo = 69
    static let allocatorFree = 76
    static let getAllocatorWithDefaultOptions = 78
    static let releaseEnv = 92
    static let releaseStatus = 93
    static let releaseMemoryInfo = 94
    static let releaseSession = 95
    static let releaseValue = 96
    static let releaseTypeInfo = 98
    static let releaseTensorTypeAndShapeInfo = 99
    static let releaseSessionOptions = 100

    typealias Status = OpaquePointer?
    typealias GetErrorCode = @convention(c) (OpaquePointer) -> Int32
    typealias GetErrorMessage = @convention(c) (OpaquePointer) -> UnsafePointer<CChar>?
    typealias Release = @convention(c) (OpaquePointer?) -> Void
    typealias CreateEnv = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias CreateSessionOptions = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias SetInt = @convention(c) (OpaquePointer, Int32) -> Status
    typealias EnableProfiling = @convention(c) (OpaquePointer, UnsafePointer<CChar>) -> Status
    typealias DisableProfiling = @convention(c) (OpaquePointer) -> Status
    typealias CreateSession = @convention(c) (OpaquePointer, UnsafePointer<CChar>, OpaquePointer, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias GetCount = @convention(c) (OpaquePointer, UnsafeMutablePointer<Int>) -> Status
    typealias GetName = @convention(c) (OpaquePointer, Int, OpaquePointer, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Status
    typealias GetTypeInfo = @convention(c) (OpaquePointer, Int, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias CastTypeInfoToTensorInfo = @convention(c) (OpaquePointer, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias GetAllocator = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias AllocatorFree = @convention(c) (OpaquePointer, UnsafeMutableRawPointer?) -> Status
    typealias CreateCpuMemoryInfo = @convention(c) (Int32, Int32, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias CreateTensor = @convention(c) (
        OpaquePointer, UnsafeMutableRawPointer, Int, UnsafePointer<Int64>, Int, Int32, UnsafeMutablePointer<OpaquePointer?>
    ) -> Status
    typealias Run = @convention(c) (
        OpaquePointer, OpaquePointer?, UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<OpaquePointer?>, Int,
        UnsafePointer<UnsafePointer<CChar>?>, Int, UnsafeMutablePointer<OpaquePointer?>
    ) -> Status
    typealias GetTensorTypeAndShape = @convention(c) (OpaquePointer, UnsafeMutablePointer<OpaquePointer?>) -> Status
    typealias GetElementType = @convention(c) (OpaquePointer, UnsafeMutablePointer<Int32>) -> Status
    typealias GetDimensions = @convention(c) (OpaquePointer, UnsafeMutablePointer<Int64>, Int) -> Status
    typealias GetTensorMutableData = @convention(c) (OpaquePointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Status
}

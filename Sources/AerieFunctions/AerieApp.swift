import AerieCore
import Logging

/// An application built on the platform: at start it declares its buckets, tables, functions and triggers.
///
/// Apps use only the primitives and the runtime; no app imports another. Apps with HTTP routes or pages
/// add them through the gateway's app hooks.
public protocol AerieApp: Sendable {
    /// The app's name: its API lives under `/v1/apps/<name>/`, its pages under `/<name>/`.
    static var name: String { get }
    /// Creates what the app needs (idempotently) and registers its functions with their triggers.
    func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws
}

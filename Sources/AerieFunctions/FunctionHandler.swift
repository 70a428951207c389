import AerieCore
import Foundation

/// The runtime's view of a function: JSON bytes in, JSON bytes out.
///
/// Triggers, records, concurrency and retries only ever see a `FunctionHandler`, so a function that is not a Swift
/// type — for example a child process speaking the AWS Lambda Runtime API — is just another conformance.
/// Swift ``Function`` types are adapted by ``TypedFunction``.
public protocol FunctionHandler: Sendable {
    /// The function's name: 1–100 letters, digits, `_`, `-` or `.`; it names its queue (`aerie.fn.<name>`).
    var name: String { get }
    var configuration: FunctionConfiguration { get }
    /// Builds an instance holding the function's expensive state (a cold start). The runtime shares one instance
    /// between concurrent invocations and calls ``FunctionInstance/shutdown()`` after `configuration.idleUnload`.
    func makeInstance(_ context: InitContext) async throws -> any FunctionInstance
}

/// A function with its state built, ready to handle invocations concurrently.
public protocol FunctionInstance: Sendable {
    /// Handles one invocation. Throw ``AerieError`` `.invalidArgument` for bad input; anything else fails the
    /// invocation. Cancellation (timeout or cancel) arrives as task cancellation.
    func invoke(_ input: Data, context: InvocationContext) async throws -> Data
    /// Releases the state. Called once, when no invocation uses the instance any more.
    func shutdown() async
}

extension FunctionInstance {
    public func shutdown() async {}
}

import AerieCore
import Foundation

/// Adapts a Swift ``Function`` to the byte-level ``FunctionHandler``: decodes the input with
/// ``JSONCoding/decode(_:from:)`` (bad input becomes `.invalidArgument` naming the field) and encodes the output.
public struct TypedFunction<F: Function>: FunctionHandler {
    public let function: F

    public init(_ function: F) {
        self.function = function
    }

    public var name: String { F.name }
    public var configuration: FunctionConfiguration { function.configuration }

    public func makeInstance(_ context: InitContext) async throws -> any FunctionInstance {
        let state = try await function.makeState(context)
        return Instance(function: function, state: state)
    }

    struct Instance: FunctionInstance {
        let function: F
        let state: F.State

        func invoke(_ input: Data, context: InvocationContext) async throws -> Data {
            let decoded = try JSONCoding.decode(F.Input.self, from: input.isEmpty ? Data("null".utf8) : input)
            let output = try await function.handle(decoded, state: state, context: context)
            do {
                return try JSONCoding.encode(output)
            } catch {
                throw AerieError(.functionFailed, "Function \(F.name) returned an output that cannot be encoded as JSON: \(error). Fix the function's Output type.")
            }
        }

        func shutdown() async {
            if let disposable = state as? any FunctionState {
                await disposable.shutdown()
            }
        }
    }
}

/// A function's state may conform to this to release resources (close files, free a model) when the runtime
/// unloads it after `idleUnload`.
public protocol FunctionState: Sendable {
    func shutdown() async
}

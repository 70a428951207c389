import AerieCore
import Testing

/// One named check of a conformance suite, run against a freshly made, empty set of ``Primitives``.
///
/// A driver's test file runs a whole suite as one parameterized test:
/// ```swift
/// @Test(arguments: ObjectStoreConformance.cases)
/// func objects(_ check: ConformanceCase) async throws { try await check.run(Primitives.memory()) }
/// ```
/// Each case takes the whole bundle so that cross-primitive behaviour (object events landing in
/// `primitives.events`) is checked too. Failures are recorded with Swift Testing's `#expect`/`#require`,
/// at the line of the suite that states the expectation.
public struct ConformanceCase: Sendable, CustomTestStringConvertible, CustomStringConvertible {
    /// The suite the case belongs to (`objects`, `tables`, `queue`, `events`).
    public let suite: String
    /// What the case checks, as it shows in test output.
    public let name: String
    private let body: @Sendable (Primitives) async throws -> Void

    public init(suite: String, name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) {
        self.suite = suite
        self.name = name
        self.body = body
    }

    /// Runs the check against `primitives`, which must be freshly made and empty.
    public func run(_ primitives: Primitives) async throws {
        try await body(primitives)
    }

    public var testDescription: String { name }
    public var description: String { "\(suite): \(name)" }
}

/// Expects `body` to throw an ``AerieError`` with `code` (and, when given, `field`, and a message containing
/// `mentioning`), recording an issue at the caller's line otherwise. Returns the error when it matched the code.
@discardableResult
public func expectAerieError<T>(
    _ code: AerieError.Code,
    field: String? = nil,
    mentioning: String? = nil,
    _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> AerieError? {
    let context = comment.map { " (\($0))" } ?? ""
    do {
        let value = try await body()
        Issue.record("Expected an AerieError \(code)\(context), but the call succeeded and returned \(value).", sourceLocation: sourceLocation)
        return nil
    } catch let error as AerieError {
        guard error.code == code else {
            Issue.record("Expected an AerieError \(code)\(context), got \(error.code): \(error.message)", sourceLocation: sourceLocation)
            return nil
        }
        if let field, error.field != field {
            Issue.record("Expected field \(field)\(context), got \(error.field ?? "nil") in: \(error.message)", sourceLocation: sourceLocation)
        }
        if let mentioning, !error.message.contains(mentioning) {
            Issue.record("Expected the message to mention \"\(mentioning)\"\(context): \(error.message)", sourceLocation: sourceLocation)
        }
        if error.message.isEmpty {
            Issue.record("The error has an empty message\(context).", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("Expected an AerieError \(code)\(context), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

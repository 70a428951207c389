/// An error from the tabular engine: a stable code and a message that says what to do next.
public struct MLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable, machine-readable kinds of failure.
    public enum Code: String, Sendable, Equatable {
        case io
        case csv
        case schema
        case unseenCategory
        case missingColumn
        case invalidParameter
        case unsupported
        case modelFile
        case emptyData
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

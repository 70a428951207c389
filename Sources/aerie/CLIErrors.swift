import AerieCore

/// Errors that carry a message fit to print as-is.
protocol AerieErrorConvertible: Error {
    var cliMessage: String { get }
}

extension AerieError: AerieErrorConvertible {
    var cliMessage: String { message }
}

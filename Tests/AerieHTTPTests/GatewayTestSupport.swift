import AerieHTTP
import AerieHTTPTesting
import HummingbirdTesting

/// The platform tests' plain user is `ann`.
extension GatewayHarness {
    var userToken: String { token("ann") }
}

/// Runs a test against a fresh gateway (the shared ``GatewayHarness``).
func withGateway(_ configure: (inout GatewayConfiguration) -> Void = { _ in },
                 _ test: @Sendable (any TestClientProtocol, GatewayHarness) async throws -> Void) async throws {
    let harness = try await GatewayHarness.make(configure: configure)
    try await harness.test { client in try await test(client, harness) }
}

import Foundation

/// Paths of the test fixtures, next to this file.
enum Fixture {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// A fresh temporary file path.
    static func temporaryPath(_ suffix: String) -> String {
        NSTemporaryDirectory() + "aerie-ml-test-\(UUID().uuidString)\(suffix)"
    }
}

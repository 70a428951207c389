import AerieCore
import AerieFaces
import AerieHTTPTesting
import AerieTesting
import Foundation
import HummingbirdTesting
import Synchronization
import Testing

@testable import Faces

/// The real face engine on the models `aerie models install faces` installs (``SharedModels``), loaded once, and the
/// real photos of AerieFacesTests' fixtures (scripts/make-face-fixtures.py): obama.jpg and obama2.jpg (one person),
/// biden.jpg, group.jpg (six people), astronaut.jpg, coffee.jpg (no face).
enum FacesFixtures {
    private static let shared = Mutex<FaceEngine?>(nil)

    static func engine() throws -> FaceEngine {
        try shared.withLock { engine in
            if let engine { return engine }
            let created = try FaceEngine(directory: SharedModels.directory(of: .faces))
            engine = created
            return created
        }
    }

    static func photo(_ name: String) throws -> Data {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AerieFacesTests/Fixtures")
        return try Data(contentsOf: directory.appendingPathComponent(name))
    }
}

extension FacesApp {
    static func forTests(configuration: FacesConfiguration = FacesConfiguration()) -> FacesApp {
        FacesApp(configuration: configuration) { try FacesFixtures.engine() }
    }
}

/// A multipart/form-data body with the given parts.
func form(_ parts: [(name: String, filename: String, type: String, data: Data)], boundary: String = "faces-test-boundary") -> Data {
    var body = Data()
    for part in parts {
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"; filename=\"\(part.filename)\"\r\nContent-Type: \(part.type)\r\n\r\n".utf8)
        body += part.data
        body += Data("\r\n".utf8)
    }
    body += Data("--\(boundary)--\r\n".utf8)
    return body
}

let formType = "multipart/form-data; boundary=faces-test-boundary"

import AerieCore
import AerieHTTPTesting
import AerieImaging
import AerieModels
import AerieTesting
import Foundation
import HummingbirdTesting
import Testing

@testable import Gallery

/// Gallery with its real models (EfficientNet-Lite0 and MiniLM, installed on first use like the other model tests):
/// scikit-image's `chelsea` is tagged as a cat and found by "kitten"; `coffee` as espresso.
@Suite(.serialized) struct GalleryClassifierTests {
    /// A sample photo of the classifier tests (binary PPM), as a JPEG.
    static func jpeg(_ name: String) throws -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../AerieVisionTests/Fixtures/\(name).ppm").standardizedFileURL
        let bytes = [UInt8](try Data(contentsOf: url))
        // P6 header: "P6", width, height, maxval, each followed by whitespace.
        var fields: [Int] = []
        var at = 2
        while fields.count < 3 {
            while bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
            var value = 0
            while bytes[at] >= 0x30 && bytes[at] <= 0x39 { value = value * 10 + Int(bytes[at] - 0x30); at += 1 }
            fields.append(value)
        }
        at += 1
        let image = RGBImage(width: fields[0], height: fields[1], pixels: Array(bytes[at..<(at + fields[0] * fields[1] * 3)]))
        return try JPEGEncoder.encode(image, quality: 92)
    }

    @Test("real photos through the app: chelsea is a cat found by kitten, coffee is espresso")
    func realPhotos() async throws {
        _ = try SharedModels.directory(of: .onnxruntime)
        _ = try SharedModels.directory(of: .minilm)
        _ = try SharedModels.directory(of: .classifier)
        let data = RepositoryPaths.dataDirectory
        let app = GalleryApp(configuration: GalleryConfiguration(), dataDirectory: data)
        let harness = try await GatewayHarness.make(apps: [app], users: ["ann"])
        try await harness.test { client in
            let token = harness.token("ann")
            var ids: [String: String] = [:]
            for name in ["chelsea", "coffee"] {
                let created = try await client.send(.post, "/v1/apps/gallery/photos?filename=\(name).jpg", token: token, body: try Self.jpeg(name), contentType: "image/jpeg")
                #expect(created.status == .created, "\(created.text)")
                ids[name] = try #require(try created.json()["id"]?.stringValue)
            }
            let cat = try await waitUntilProcessed(client, ids["chelsea"]!, token: token)
            let labels = cat["tags"]?.arrayValue?.compactMap { $0["label"]?.stringValue?.lowercased() } ?? []
            #expect(labels.count == 3 && labels.contains { $0.contains("cat") || $0.contains("tabby") }, "\(labels)")
            let coffee = try await waitUntilProcessed(client, ids["coffee"]!, token: token)
            #expect(coffee["tags"]?.arrayValue?.first?["label"]?.stringValue?.lowercased().contains("espresso") == true, "\(coffee)")
            let found = try await client.send(.get, "/v1/apps/gallery/photos?q=kitten", token: token).json()["items"]?.arrayValue ?? []
            #expect(found.first?["id"] == .string(ids["chelsea"]!))
        }
    }
}

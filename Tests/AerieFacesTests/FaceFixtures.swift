import AerieFaces
import AerieImaging
import AerieModels
import AerieTesting
import Foundation
import Synchronization
import Testing

/// The face models (``SharedModels``: installed by the first test that needs them) and the photos of
/// scripts/make-face-fixtures.py, decoded with AerieImaging.
enum FaceFixtures {
    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder().decode(Data(contentsOf: url(name))).image
    }

    private static let shared = Mutex<FaceEngine?>(nil)

    /// One engine for every test (its contexts are pooled; loading the models takes about half a second).
    static func engine() throws -> FaceEngine {
        try shared.withLock { engine in
            if let engine { return engine }
            let created = try FaceEngine(directory: SharedModels.directory(of: .faces), options: .init(loadCNN: true))
            engine = created
            return created
        }
    }

    static func detect(_ name: String, upsample: Int? = nil, detector: FaceDetector? = nil) throws -> [DetectedFace] {
        let image = try image(name)
        return try engine().detect(
            pixels: image.pixels, width: image.width, height: image.height, upsample: upsample, detector: detector)
    }

    /// The embeddings of every face in the photo, largest face first.
    static func embeddings(_ name: String) throws -> [[Float]] {
        let image = try image(name)
        return try engine().detectAndEmbed(pixels: image.pixels, width: image.width, height: image.height)
            .sorted { $0.face.box.area > $1.face.box.area }
            .map(\.embedding)
    }
}

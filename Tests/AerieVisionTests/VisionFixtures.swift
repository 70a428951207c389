import AerieCore
import AerieModels
import AerieONNX
import AerieTesting
import AerieVision
import Foundation
import Testing

/// The installed classifier (``SharedModels``: installed by the first test that needs it) and the fixtures of
/// scripts/make-classifier-fixtures.py.
enum VisionFixtures {
    /// An RGB8 image read from a binary PPM (P6, maximum 255).
    struct Image {
        var width: Int
        var height: Int
        var pixels: [UInt8]
    }

    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    }

    /// Reads `P6\n<width> <height>\n255\n` and the pixels (the header as the fixture script writes it).
    static func ppm(_ name: String) throws -> Image {
        let bytes = [UInt8](try Data(contentsOf: url(name)))
        var fields: [String] = []
        var index = 0
        while fields.count < 4, index < bytes.count {
            var field = ""
            while index < bytes.count, bytes[index] != 0x0A, bytes[index] != 0x20 {
                field.append(Character(UnicodeScalar(bytes[index])))
                index += 1
            }
            index += 1
            fields.append(field)
        }
        guard fields.count == 4, fields[0] == "P6", fields[3] == "255", let width = Int(fields[1]), let height = Int(fields[2]) else {
            throw AerieError.invalid("\(name) is not a binary 8-bit PPM.")
        }
        return Image(width: width, height: height, pixels: Array(bytes[index...]))
    }

    private static let loaded: Result<ImageClassifier, any Error> = Result {
        _ = try SharedModels.directory(of: .classifier)
        _ = try SharedModels.onnxRuntimeLibrary()
        return try ImageClassifier(store: SharedModels.store)
    }

    static func classifier() throws -> ImageClassifier { try loaded.get() }
}

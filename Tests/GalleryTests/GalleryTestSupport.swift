import AerieCore
import AerieHTTPTesting
import AerieImaging
import AerieModels
import AerieTesting
import AerieText
import Foundation
import HummingbirdTesting
import Testing

@testable import Gallery

/// The real MiniLM (installed on first use, as the AerieText tests do), loaded once per process.
enum TestModels {
    private static let loadedEncoder: Result<SentenceEncoder, any Error> = Result {
        try SentenceEncoder(directory: SharedModels.directory(of: .minilm))
    }

    static func encoder() throws -> SentenceEncoder { try loadedEncoder.get() }
}

/// A stand-in classifier for the API tests: labels from the picture's dominant colour (red: a tabby, yellow: a golden
/// retriever, anything else: a seashore), so tests control the tags while search runs on real MiniLM.
/// The real classifier has its own tests and one end-to-end test through this app.
struct ColourTagger: PhotoTagger {
    func tags(for image: RGBImage, count: Int) throws -> [PhotoRecord.Tag] {
        var sums = (0.0, 0.0, 0.0)
        for index in stride(from: 0, to: image.pixels.count, by: 3) {
            sums.0 += Double(image.pixels[index])
            sums.1 += Double(image.pixels[index + 1])
            sums.2 += Double(image.pixels[index + 2])
        }
        let n = Double(image.pixelCount)
        let (r, g, b) = (sums.0 / n, sums.1 / n, sums.2 / n)
        let labels: [String]
        if r > 2 * b && g > 2 * b && g > 0.6 * r {
            labels = ["golden retriever", "Labrador retriever", "tennis ball"]
        } else if r > 2 * g && r > 2 * b {
            labels = ["tabby cat", "tiger cat", "Egyptian cat"]
        } else {
            labels = ["seashore", "sandbar", "lakeside"]
        }
        return labels.prefix(count).enumerated().map { PhotoRecord.Tag(label: $1, score: [0.8, 0.1, 0.05][$0]) }
    }
}

/// Pictures for the tests in a dominant colour, encoded as JPEG: a strong gradient and a dark disc, whose direction
/// and place change with `variant` (so different variants are different pictures to the perceptual hash, while the
/// same variant in two colours is the same picture recoloured).
enum Pictures {
    static func image(_ colour: (UInt8, UInt8, UInt8), width: Int = 320, height: Int = 240, variant: Int = 0) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let angle = Double(variant) * 2.1
        let centre = (0.3 + 0.4 * Double(variant % 2), 0.35 + 0.3 * Double((variant / 2) % 2))
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) / Double(width), v = Double(y) / Double(height)
                let disc = pow(u - centre.0, 2) + pow(v - centre.1, 2) < 0.02
                let ramp = 0.5 + 0.5 * ((u - 0.5) * cos(angle) + (v - 0.5) * sin(angle))
                let shade = disc ? 0.25 : 0.45 + 0.55 * ramp
                let index = (y * width + x) * 3
                pixels[index] = UInt8(Double(colour.0) * shade)
                pixels[index + 1] = UInt8(Double(colour.1) * shade)
                pixels[index + 2] = UInt8(Double(colour.2) * shade)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static let red: (UInt8, UInt8, UInt8) = (220, 40, 30)
    static let yellow: (UInt8, UInt8, UInt8) = (230, 200, 60)
    static let blue: (UInt8, UInt8, UInt8) = (40, 90, 220)

    static func jpeg(_ colour: (UInt8, UInt8, UInt8), width: Int = 320, height: Int = 240, variant: Int = 0, quality: Int = 90) throws -> Data {
        try JPEGEncoder.encode(image(colour, width: width, height: height, variant: variant), quality: quality)
    }
}

/// A multipart/form-data body with `file` parts.
func multipart(_ files: [(name: String, type: String, data: Data)], boundary: String = "gallery-test-boundary") -> Data {
    var body = Data()
    for file in files {
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.name)\"\r\nContent-Type: \(file.type)\r\n\r\n".utf8)
        body += file.data
        body += Data("\r\n".utf8)
    }
    body += Data("--\(boundary)--\r\n".utf8)
    return body
}

extension GalleryApp {
    /// The app with the colour tagger and real MiniLM.
    static func forTests(configuration: GalleryConfiguration = GalleryConfiguration(), now: @escaping @Sendable () -> Date = { Date() }) -> GalleryApp {
        GalleryApp(configuration: configuration, now: now) { (ColourTagger(), try TestModels.encoder()) }
    }
}

/// Polls a photo until it leaves `processing` (the trigger runs on the harness's runtime).
func waitUntilProcessed(_ client: some TestClientProtocol, _ id: String, token: String) async throws -> JSONValue {
    for _ in 0..<3000 {
        let response = try await client.send(.get, "/v1/apps/gallery/photos/\(id)", token: token)
        let body = try response.json()
        if body["status"] != .string("processing") { return body }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("photo \(id) was still processing after 30 s")
    return .null
}

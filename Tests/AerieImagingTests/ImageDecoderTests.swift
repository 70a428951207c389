import AerieCore
import Foundation
import Testing
@testable import AerieImaging

/// The fixtures come from scripts/make-image-fixtures.py (see its docstring for what each one is).
enum Fixture {
    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)"))
    }
}

@Suite struct ImageDecoderTests {
    let decoder = ImageDecoder()

    /// The upright picture: red top left, green top right, blue bottom left, white bottom right (32 × 64).
    func expectQuadrants(_ image: RGBImage, tolerance: Int = 40, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(image.width == 32 && image.height == 64, sourceLocation: sourceLocation)
        func near(_ pixel: (UInt8, UInt8, UInt8), _ expected: (Int, Int, Int)) -> Bool {
            abs(Int(pixel.0) - expected.0) <= tolerance && abs(Int(pixel.1) - expected.1) <= tolerance && abs(Int(pixel.2) - expected.2) <= tolerance
        }
        #expect(near(image[8, 16], (255, 0, 0)), "top left \(image[8, 16])", sourceLocation: sourceLocation)
        #expect(near(image[24, 16], (0, 255, 0)), "top right \(image[24, 16])", sourceLocation: sourceLocation)
        #expect(near(image[8, 48], (0, 0, 255)), "bottom left \(image[8, 48])", sourceLocation: sourceLocation)
        #expect(near(image[24, 48], (255, 255, 255)), "bottom right \(image[24, 48])", sourceLocation: sourceLocation)
    }

    @Test func jpegIsTurnedUprightByItsExifOrientation() throws {
        let data = try Fixture.data("quadrants-orientation-6.jpg")
        let info = try decoder.probe(data)
        #expect(info.format == .jpeg)
        #expect(info.orientation == .right)
        #expect(info.width == 32 && info.height == 64, "width and height are the upright ones")
        expectQuadrants(try decoder.decode(data).image)
    }

    @Test func pngWithTransparencyIsComposedOntoWhite() throws {
        let (info, image) = try decoder.decode(try Fixture.data("quadrants.png"))
        #expect(info.format == .png)
        expectQuadrants(image, tolerance: 0)
        #expect(image[0, 0] == (255, 255, 255), "the transparent corner")
    }

    @Test func webpDecodes() throws {
        let (info, image) = try decoder.decode(try Fixture.data("quadrants.webp"))
        #expect(info.format == .webp)
        expectQuadrants(image, tolerance: 0)
    }

    @Test func aPDFNamedJPEGIsAnUnsupportedType() throws {
        #expect(throws: AerieError.self) { try decoder.probe(try Fixture.data("not-an-image.jpg")) }
        do {
            _ = try decoder.decode(try Fixture.data("not-an-image.jpg"))
        } catch let error as AerieError {
            #expect(error.code == .unsupportedMediaType)
        }
        #expect(ImageFormat.sniff(Data()) == nil)
        #expect(ImageFormat.sniff(Data("GIF89a".utf8)) == nil)
    }

    @Test func aTruncatedJPEGIsCorruptEvenThoughLibjpegOnlyWarns() throws {
        let data = try Fixture.data("truncated.jpg")
        // The header is intact, so the probe passes; the full decode must refuse it.
        #expect(try decoder.probe(data).width == 256)
        let error = #expect(throws: AerieError.self) { try decoder.decode(data) }
        #expect(error?.code == .unprocessable)
    }

    @Test func truncatedPNGAndWebPAreCorrupt() throws {
        for name in ["quadrants.png", "quadrants.webp"] {
            let data = try Fixture.data(name)
            let error = #expect(throws: AerieError.self, "\(name)") { try decoder.decode(data.prefix(data.count - 20)) }
            #expect(error?.code == .unprocessable, "\(name)")
        }
        let garbage = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + Data(repeating: 0x41, count: 100)
        #expect((#expect(throws: AerieError.self) { try decoder.decode(garbage) })?.code == .unprocessable)
    }

    @Test func aDecompressionBombIsRefusedFromItsHeader() throws {
        let error = #expect(throws: AerieError.self) { try decoder.decode(try Fixture.data("bomb.png")) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("10000.0 megapixels") == true)
        // The limit is configurable.
        let small = ImageDecoder(maxPixels: 1000)
        #expect((#expect(throws: AerieError.self) { try small.probe(try Fixture.data("quadrants.png")) })?.code == .tooLarge)
        #expect(try ImageDecoder(maxPixels: 32 * 64).probe(try Fixture.data("quadrants.png")).pixelCount == 2048)
    }

    @Test func contentTypesNameTheFormats() {
        #expect(ImageFormat(contentType: "image/jpeg") == .jpeg)
        #expect(ImageFormat(contentType: "IMAGE/PNG; charset=binary") == .png)
        #expect(ImageFormat(contentType: "image/webp") == .webp)
        #expect(ImageFormat(contentType: "application/pdf") == nil)
    }
}

@Suite struct ImageEncodingTests {
    @Test func jpegRoundTripKeepsThePicture() throws {
        let (_, image) = try ImageDecoder().decode(try Fixture.data("quadrants.png"))
        let encoded = try JPEGEncoder.encode(image, quality: 95)
        #expect(ImageFormat.sniff(encoded) == .jpeg)
        let (info, decoded) = try ImageDecoder().decode(encoded)
        #expect(info.width == 32 && info.height == 64)
        #expect(decoded[24, 48].0 > 215 && decoded[8, 16].0 > 215 && decoded[8, 16].1 < 40)
        #expect(!ImageLocation.isPresent(in: encoded), "an encoded thumbnail carries no metadata")
    }

    @Test func locationIsStrippedAndOrientationKept() throws {
        let original = try Fixture.data("quadrants-orientation-6.jpg")
        #expect(ImageLocation.isPresent(in: original))
        let stripped = try #require(ImageLocation.stripped(original))
        #expect(!ImageLocation.isPresent(in: stripped))
        let (info, image) = try ImageDecoder().decode(stripped)
        #expect(info.orientation == .right, "the rest of the Exif data stays")
        #expect(image.pixels == (try ImageDecoder().decode(original).image.pixels), "the pixels are untouched")
        #expect(ImageLocation.stripped(Data([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF])) == nil, "a malformed segment is not shared as it is")
    }

    @Test func pngAndWebPLoseTheirExifAndXMPChunks() throws {
        for name in ["located.png", "located.webp"] {
            let original = try Fixture.data(name)
            #expect(ImageLocation.isPresent(in: original), "\(name)")
            let stripped = try #require(ImageLocation.stripped(original), "\(name)")
            #expect(!ImageLocation.isPresent(in: stripped), "\(name)")
            #expect(stripped.count < original.count, "\(name)")
            let before = try ImageDecoder().decode(original).image
            #expect(try ImageDecoder().decode(stripped).image == before, "\(name): the picture is untouched")
        }
        #expect(!ImageLocation.isPresent(in: try Fixture.data("quadrants.png")))
        #expect(ImageLocation.stripped(try Fixture.data("quadrants.png")) == (try Fixture.data("quadrants.png")))
        #expect(ImageLocation.stripped(Data(PNGChunks.signature) + Data([0, 0, 0, 5])) == nil, "a truncated chunk list")
    }

    @Test func everyOrientationMapsTheStoredCornersUpright() {
        // A 3 × 2 stored image with distinct pixels 0...5 (in the red channel).
        let stored = RGBImage(width: 3, height: 2, pixels: (0..<6).flatMap { [UInt8($0), 0, 0] })
        func reds(_ image: RGBImage) -> [UInt8] { stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] } }
        #expect(reds(stored.oriented(.up)) == [0, 1, 2, 3, 4, 5])
        #expect(reds(stored.oriented(.mirrored)) == [2, 1, 0, 5, 4, 3])
        #expect(reds(stored.oriented(.upsideDown)) == [5, 4, 3, 2, 1, 0])
        #expect(reds(stored.oriented(.upsideDownMirrored)) == [3, 4, 5, 0, 1, 2])
        // Rotated ones are 2 wide, 3 high.
        #expect(reds(stored.oriented(.right)) == [3, 0, 4, 1, 5, 2])
        #expect(reds(stored.oriented(.left)) == [2, 5, 1, 4, 0, 3])
        #expect(reds(stored.oriented(.leftMirrored)) == [0, 3, 1, 4, 2, 5])
        #expect(reds(stored.oriented(.rightMirrored)) == [5, 2, 4, 1, 3, 0])
    }
}

@Suite struct ImageResizingTests {
    @Test func fittingKeepsTheAspectRatioAndNeverEnlarges() {
        let image = RGBImage(width: 400, height: 300, filledWith: (10, 20, 30))
        let small = image.fitted(longSide: 256)
        #expect(small.width == 256 && small.height == 192)
        #expect(small[100, 100] == (10, 20, 30), "a flat colour stays exactly that colour")
        #expect(image.fitted(longSide: 1024) == image)
    }

    @Test func shrinkingAveragesTheAreaItCovers() {
        // A 1-pixel checkerboard shrunk by 2 is flat grey: no aliasing.
        var pixels: [UInt8] = []
        for y in 0..<8 { for x in 0..<8 { let v: UInt8 = (x + y) % 2 == 0 ? 0 : 255; pixels += [v, v, v] } }
        let shrunk = RGBImage(width: 8, height: 8, pixels: pixels).resized(width: 4, height: 4)
        #expect(shrunk.pixels.allSatisfy { $0 == 128 })
        let enlarged = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 200, 200, 200]).resized(width: 4, height: 1)
        #expect(enlarged.pixels[0] == 0 && enlarged.pixels[9] == 200 && enlarged.pixels[3] > 0 && enlarged.pixels[3] < 200)
    }
}

@Suite struct PerceptualHashTests {
    /// A synthetic "photo": smooth gradients and a few shapes.
    func scene(_ width: Int, _ height: Int, shift: Int = 0) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) / Double(width), v = Double(y) / Double(height)
                let inCircle = pow(u - 0.3 - Double(shift) * 0.2, 2) + pow(v - 0.4, 2) < 0.04
                let index = (y * width + x) * 3
                pixels[index] = UInt8(inCircle ? 230 : Int(255 * u))
                pixels[index + 1] = UInt8(inCircle ? 40 : Int(255 * v))
                pixels[index + 2] = UInt8(Int(127 + 120 * sin(6 * u + Double(shift) * 3)))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func aResizedReencodedCopyIsANearDuplicateAndAnotherPictureIsNot() throws {
        let original = scene(640, 480)
        let hash = PerceptualHash(image: original)
        let copy = try ImageDecoder().decode(try JPEGEncoder.encode(original.fitted(longSide: 300), quality: 60)).image
        #expect(hash.distance(to: PerceptualHash(image: copy)) <= PerceptualHash.nearDuplicateDistance)
        let other = PerceptualHash(image: scene(640, 480, shift: 2))
        #expect(hash.distance(to: other) > PerceptualHash.nearDuplicateDistance * 2)
        #expect(PerceptualHash(hex: hash.hex) == hash)
    }
}

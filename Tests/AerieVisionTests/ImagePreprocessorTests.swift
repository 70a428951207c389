import AerieCore
import AerieVision
import Testing

@Suite("Image preprocessing")
struct ImagePreprocessorTests {
    /// A `width` × `height` image whose red is x, green y and blue x + y (each modulo 256).
    static func gradient(width: Int, height: Int) -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x % 256), UInt8(y % 256), UInt8((x + y) % 256)]
            }
        }
        return pixels
    }

    @Test func cropsTheCentreOf224Over256OfTheShorterSide() {
        let preprocessor = ImagePreprocessor()
        #expect(preprocessor.crop(width: 256, height: 256) == (16, 16, 224))
        // chelsea: 451 × 300 → a square of 262.5 → 263 pixels, centred.
        #expect(preprocessor.crop(width: 451, height: 300) == (94, 18, 263))
        #expect(preprocessor.crop(width: 400, height: 600) == (25, 125, 350))
        #expect(preprocessor.crop(width: 1, height: 1) == (0, 0, 1))
    }

    /// A 256-pixel square gives its central 224 × 224 exactly (no interpolation), normalised, in NCHW order.
    @Test func a256SquareIsCroppedWithoutInterpolation() throws {
        let tensor = try ImagePreprocessor().tensor(pixels: Self.gradient(width: 256, height: 256), width: 256, height: 256)
        #expect(tensor.count == 3 * 224 * 224)
        let plane = 224 * 224
        for (row, column) in [(0, 0), (0, 223), (100, 37), (223, 223)] {
            let (x, y) = (column + 16, row + 16)
            #expect(tensor[row * 224 + column] == (Float(x) - 127) / 128)
            #expect(tensor[plane + row * 224 + column] == (Float(y) - 127) / 128)
            #expect(tensor[2 * plane + row * 224 + column] == (Float((x + y) % 256) - 127) / 128)
        }
    }

    /// Halving (a 512 square's 448 crop to 224) samples halfway between two pixels: on stripes of 0 and 200 (red,
    /// by column) and 0 and 100 (green, by row), every output is the mean, 100 and 50.
    @Test func bilinearHalvingSamplesBetweenPixels() throws {
        var pixels: [UInt8] = []
        for y in 0..<512 {
            for x in 0..<512 {
                pixels += [x % 2 == 0 ? 0 : 200, y % 2 == 0 ? 0 : 100, 7]
            }
        }
        let tensor = try ImagePreprocessor(mean: 0, scale: 1).tensor(pixels: pixels, width: 512, height: 512)
        let plane = 224 * 224
        #expect(tensor[0..<plane].allSatisfy { $0 == 100 })
        #expect(tensor[plane..<2 * plane].allSatisfy { $0 == 50 })
        #expect(tensor.suffix(plane).allSatisfy { $0 == 7 })
    }

    @Test func aWrongBufferIsAnErrorNotACrash() {
        let preprocessor = ImagePreprocessor()
        let short = #expect(throws: AerieError.self) { try preprocessor.tensor(pixels: [UInt8](repeating: 0, count: 10), width: 4, height: 4) }
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("RGB") == true)
        #expect(throws: AerieError.self) { try preprocessor.tensor(pixels: [], width: 0, height: 0) }
        #expect(throws: AerieError.self) { try preprocessor.tensor(pixels: [1, 2, 3], width: Int.max, height: 2) }
    }
}

import Foundation
import Testing

@testable import aerie

@Suite("Line chart PNG")
struct LineChartTests {
    func chart() -> LineChart {
        LineChart(
            title: "TEST 0.90",
            xRange: 0.7...0.99, xStep: 0.05,
            series: [
                .init(name: "UP", colour: .init(red: 255, green: 0, blue: 0), points: [(0.7, 0), (0.99, 1)]),
                .init(name: "DOWN", colour: .init(red: 0, green: 0, blue: 255), points: [(0.7, 1), (0.99, 0)], dashed: true),
            ],
            markers: [0.9], width: 320, height: 200)
    }

    @Test func writesAPNGWithTheRequestedSize() throws {
        let png = chart().png()
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // The first chunk is IHDR: length 13, then width and height big-endian.
        let bytes = Array(png)
        #expect(Array(bytes[8..<16]) == [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 320)
        #expect(height == 200)
        #expect(Array(bytes.suffix(8).prefix(4)) == Array("IEND".utf8))
    }

    @Test func drawsTheSeriesInTheirColours() {
        let chart = chart()
        let pixels = chart.render()
        #expect(pixels.count == 320 * 200 * 3)
        func count(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
            stride(from: 0, to: pixels.count, by: 3).filter { pixels[$0] == r && pixels[$0 + 1] == g && pixels[$0 + 2] == b }.count
        }
        let red = count(255, 0, 0)
        let blue = count(0, 0, 255)
        #expect(red > 100)
        #expect(blue > 50)
        // Dashed: about half the pixels of the solid line of the same length.
        #expect(blue < red)
        #expect(count(0, 0, 0) > 100)  // axes and text
    }
}

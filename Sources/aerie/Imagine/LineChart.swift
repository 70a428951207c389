import AerieDiffusion
import Foundation

/// A small line chart drawn into an RGB raster and written as PNG: axes, a grid, solid or dashed
/// series, vertical markers, a title and a legend in a built-in 3×5 pixel font (upper-case letters,
/// digits and a little punctuation; other characters are drawn as blanks).
struct LineChart: Sendable {
    struct Colour: Sendable, Hashable {
        var red: UInt8
        var green: UInt8
        var blue: UInt8

        static let white = Colour(red: 255, green: 255, blue: 255)
        static let black = Colour(red: 0, green: 0, blue: 0)
        static let grid = Colour(red: 225, green: 225, blue: 225)
        static let marker = Colour(red: 150, green: 150, blue: 150)
    }

    struct Series: Sendable {
        var name: String
        var colour: Colour
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xRange: ClosedRange<Double>
    var yRange: ClosedRange<Double> = 0...1
    /// Grid and labels every `xStep` / `yStep`.
    var xStep: Double
    var yStep: Double = 0.1
    var series: [Series] = []
    /// x positions drawn as vertical grey lines (the default threshold).
    var markers: [Double] = []
    var width = 800
    var height = 500

    /// Plot area margins in pixels.
    private let left = 60
    private let right = 200
    private let top = 40
    private let bottom = 50

    /// Row-major RGB bytes, `height × width × 3`.
    func render() -> [UInt8] {
        var canvas = Canvas(width: width, height: height)
        let plotRight = width - right
        let plotBottom = height - bottom
        func px(_ x: Double) -> Int {
            left + Int(((x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * Double(plotRight - left)).rounded())
        }
        func py(_ y: Double) -> Int {
            plotBottom - Int(((y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * Double(plotBottom - top)).rounded())
        }
        // Grid and tick labels.
        var y = yRange.lowerBound
        while y <= yRange.upperBound + 1e-9 {
            canvas.line(left, py(y), plotRight, py(y), .grid)
            canvas.text(String(format: "%.1f", y), x: left - 34, y: py(y) - 5, .black)
            y += yStep
        }
        var x = xRange.lowerBound
        while x <= xRange.upperBound + 1e-9 {
            canvas.line(px(x), top, px(x), plotBottom, .grid)
            canvas.text(String(format: "%.2f", x), x: px(x) - 14, y: plotBottom + 8, .black)
            x += xStep
        }
        for marker in markers where xRange.contains(marker) {
            canvas.line(px(marker), top, px(marker), plotBottom, .marker, thickness: 2)
        }
        // Axes.
        canvas.line(left, plotBottom, plotRight, plotBottom, .black)
        canvas.line(left, top, left, plotBottom, .black)
        canvas.text(title, x: left, y: 12, .black)
        // Series and legend.
        for (index, series) in series.enumerated() {
            let points = series.points.map { (px($0.x), py($0.y)) }
            var travelled = 0
            for (start, end) in zip(points, points.dropFirst()) {
                canvas.line(start.0, start.1, end.0, end.1, series.colour, thickness: 3, dash: series.dashed ? 8 : 0, offset: &travelled)
            }
            let legendY = top + 10 + index * 22
            var offset = 0
            canvas.line(plotRight + 14, legendY + 5, plotRight + 44, legendY + 5, series.colour, thickness: 3, dash: series.dashed ? 8 : 0, offset: &offset)
            canvas.text(series.name, x: plotRight + 52, y: legendY, .black)
        }
        return canvas.pixels
    }

    func png() -> Data {
        PNGEncoder.encode(width: width, height: height, rgb: render())
    }
}

/// An RGB raster with lines and text.
private struct Canvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ colour: LineChart.Colour) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let index = (y * width + x) * 3
        pixels[index] = colour.red
        pixels[index + 1] = colour.green
        pixels[index + 2] = colour.blue
    }

    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: LineChart.Colour, thickness: Int = 1) {
        var offset = 0
        line(x0, y0, x1, y1, colour, thickness: thickness, dash: 0, offset: &offset)
    }

    /// Bresenham; with `dash` > 0, on for `dash` pixels then off for `dash`, continuing across segments through `offset`.
    mutating func line(
        _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: LineChart.Colour, thickness: Int, dash: Int, offset: inout Int
    ) {
        let dx = abs(x1 - x0)
        let dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1
        let sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        var x = x0
        var y = y0
        let half = thickness / 2
        while true {
            if dash == 0 || (offset / dash) % 2 == 0 {
                for oy in -half...(thickness - 1 - half) {
                    for ox in -half...(thickness - 1 - half) { set(x + ox, y + oy, colour) }
                }
            }
            offset += 1
            if x == x1 && y == y1 { break }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += sx
            }
            if doubled <= dx {
                error += dx
                y += sy
            }
        }
    }

    /// Text in the 3×5 font scaled ×2, its top-left corner at (x, y).
    mutating func text(_ string: String, x: Int, y: Int, _ colour: LineChart.Colour) {
        let scale = 2
        var cursor = x
        for character in string.uppercased() {
            if let rows = Glyphs.table[character] {
                for (row, bits) in rows.enumerated() {
                    for (column, bit) in bits.enumerated() where bit == "1" {
                        for dy in 0..<scale {
                            for dx in 0..<scale { set(cursor + column * scale + dx, y + row * scale + dy, colour) }
                        }
                    }
                }
            }
            cursor += 4 * scale
        }
    }
}

/// A 3×5 pixel font: five rows of three bits per character.
private enum Glyphs {
    static let table: [Character: [String]] = {
        let source: [(Character, String)] = [
            ("0", "111 101 101 101 111"), ("1", "010 110 010 010 111"), ("2", "111 001 111 100 111"),
            ("3", "111 001 111 001 111"), ("4", "101 101 111 001 001"), ("5", "111 100 111 001 111"),
            ("6", "111 100 111 101 111"), ("7", "111 001 001 010 010"), ("8", "111 101 111 101 111"),
            ("9", "111 101 111 001 111"), (".", "000 000 000 000 010"), ("-", "000 000 111 000 000"),
            ("A", "010 101 111 101 101"), ("B", "110 101 110 101 110"), ("C", "011 100 100 100 011"),
            ("D", "110 101 101 101 110"), ("E", "111 100 110 100 111"), ("F", "111 100 110 100 100"),
            ("G", "011 100 101 101 011"), ("H", "101 101 111 101 101"), ("I", "111 010 010 010 111"),
            ("J", "001 001 001 101 010"), ("K", "101 101 110 101 101"), ("L", "100 100 100 100 111"),
            ("M", "101 111 111 101 101"), ("N", "110 101 101 101 101"), ("O", "010 101 101 101 010"),
            ("P", "110 101 110 100 100"), ("Q", "010 101 101 110 011"), ("R", "110 101 110 101 101"),
            ("S", "011 100 010 001 110"), ("T", "111 010 010 010 010"), ("U", "101 101 101 101 111"),
            ("V", "101 101 101 101 010"), ("W", "101 101 111 111 101"), ("X", "101 101 010 101 101"),
            ("Y", "101 101 010 010 010"), ("Z", "111 001 010 100 111"), ("(", "010 100 100 100 010"),
            (")", "010 001 001 001 010"), ("+", "000 010 111 010 000"), ("=", "000 111 000 111 000"),
            ("/", "001 001 010 100 100"), ("%", "101 001 010 100 101"), (",", "000 000 000 010 100"),
            (":", "000 010 000 010 000"), ("'", "010 010 000 000 000"), ("≥", "100 010 001 010 111"),
        ]
        var table: [Character: [String]] = [:]
        for (character, rows) in source {
            table[character] = rows.split(separator: " ").map(String.init)
        }
        return table
    }()
}

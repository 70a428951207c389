import AerieCore

/// Turns interleaved RGB8 pixels into the classifier's input: a centre crop of 224/256 of the shorter side,
/// resized to 224 × 224 with bilinear interpolation, normalised as (x − 127) / 128 into a float32 NCHW tensor.
///
/// The crop comes first, then the resize (as EfficientNet's TensorFlow preprocessing does): resizing the whole
/// image to 256 and then cropping 224 samples at other positions and shifts the scores a little. The mean and
/// scale are those the Lite weights were trained with, not the ImageNet mean and standard deviation.
public struct ImagePreprocessor: Sendable, Equatable {
    /// The output's side in pixels.
    public var size: Int
    /// The crop's side as a fraction of the image's shorter side.
    public var cropFraction: Double
    public var mean: Float
    public var scale: Float

    public init(size: Int = 224, cropFraction: Double = 224.0 / 256.0, mean: Float = 127, scale: Float = 128) {
        self.size = size
        self.cropFraction = cropFraction
        self.mean = mean
        self.scale = scale
    }

    /// The square the crop takes from a `width` × `height` image: its top-left corner and side.
    public func crop(width: Int, height: Int) -> (x: Int, y: Int, side: Int) {
        let side = max(1, min(min(width, height), Int((Double(min(width, height)) * cropFraction).rounded())))
        return ((width - side) / 2, (height - side) / 2, side)
    }

    /// The `[1, 3, size, size]` tensor's elements (channel planes R, G, B, rows top to bottom).
    /// Throws when the buffer does not hold `width × height` RGB pixels.
    public func tensor(pixels: [UInt8], width: Int, height: Int) throws -> [Float] {
        guard width > 0, height > 0 else {
            throw AerieError.invalid("An image needs a positive width and height, not \(width) × \(height).")
        }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, area <= Int.max / 3, area * 3 == pixels.count else {
            throw AerieError.invalid(
                "A \(width) × \(height) RGB8 image needs \(width) · \(height) · 3 bytes, not \(pixels.count); pass interleaved RGB, 3 bytes a pixel.")
        }
        let (left, top, side) = crop(width: width, height: height)
        let plane = size * size
        var output = [Float](repeating: 0, count: 3 * plane)
        // Half-pixel centres: output pixel i samples the crop at (i + 0.5) · side / size − 0.5, clamped to the crop.
        let ratio = Double(side) / Double(size)
        let samples = (0..<size).map { index -> (low: Int, high: Int, weight: Float) in
            let position = min(max((Double(index) + 0.5) * ratio - 0.5, 0), Double(side - 1))
            let low = Int(position)
            return (low, min(low + 1, side - 1), Float(position - Double(low)))
        }
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for (row, sy) in samples.enumerated() {
                    let upper = (top + sy.low) * width
                    let lower = (top + sy.high) * width
                    for (column, sx) in samples.enumerated() {
                        let a = (upper + left + sx.low) * 3
                        let b = (upper + left + sx.high) * 3
                        let c = (lower + left + sx.low) * 3
                        let d = (lower + left + sx.high) * 3
                        for channel in 0..<3 {
                            let upperValue = Float(source[a + channel]) + (Float(source[b + channel]) - Float(source[a + channel])) * sx.weight
                            let lowerValue = Float(source[c + channel]) + (Float(source[d + channel]) - Float(source[c + channel])) * sx.weight
                            let value = upperValue + (lowerValue - upperValue) * sy.weight
                            target[channel * plane + row * size + column] = (value - mean) / scale
                        }
                    }
                }
            }
        }
        return output
    }
}

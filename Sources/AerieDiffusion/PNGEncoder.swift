import CZlib
import Foundation

/// Writes 8-bit RGB PNG files: one IDAT chunk, filter type 0 on every row, zlib (level 6) from the
/// system's libz, so the bytes equal those of Python's `zlib.compress(raw, 6)` with the same layout.
/// Public for the other PNG writers in the package (`aerie imagine calibrate`'s chart).
public enum PNGEncoder {
    /// The PNG file of `rgb`, row-major `height × width × 3` bytes.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)
            let start = row * width * 3
            raw.append(contentsOf: rgb[start..<(start + width * 3)])
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])  // 8-bit, truecolour, deflate, adaptive filtering, no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", deflate(raw), to: &png)
        appendChunk("IEND", Data(), to: &png)
        return png
    }

    static func deflate(_ input: [UInt8]) -> Data {
        var capacity = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                compress2(target.baseAddress, &capacity, source.baseAddress, uLong(input.count), 6)
            }
        }
        precondition(status == Z_OK, "zlib compress2 failed with \(status) on a buffer of compressBound size")
        return Data(output[0..<Int(capacity)])
    }

    private static func appendChunk(_ type: String, _ body: Data, to png: inout Data) {
        png.appendBigEndian(UInt32(body.count))
        var chunk = Data(type.utf8)
        chunk.append(body)
        png.append(chunk)
        let crc = chunk.withUnsafeBytes { bytes in
            crc32(0, bytes.bindMemory(to: UInt8.self).baseAddress, uInt(chunk.count))
        }
        png.appendBigEndian(UInt32(crc))
    }
}

extension Data {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}

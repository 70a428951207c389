// libFuzzer target for image decoding as Gallery and Faces take uploads (`ImageDecoder`, built by
// `make fuzz-parsers` from Sources/AerieImaging's decoder files and the C shim Sources/CAerieImageCodecs, which is
// compiled with the fuzzer's and AddressSanitizer's instrumentation too; libjpeg-turbo, libpng, libwebp and libexif
// are Debian's).
//
// Properties: a decode either gives an image whose size is within the pixel limit and whose pixel buffer holds
// exactly width × height × 3 bytes, in the orientation the probe reported, or it throws Aerie's own error (415,
// 422 or 413), never anything else; a probe agrees with the decode it precedes.
import AerieCore
import Foundation

private let decoder = ImageDecoder(maxPixels: 4_000_000)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImages(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    let probed: ImageInfo
    do {
        probed = try decoder.probe(bytes)
    } catch is AerieError {
        return 0
    } catch {
        fatalError("a probe refusal that is not an AerieError: \(error)")
    }
    do {
        let (info, image) = try decoder.decode(bytes)
        precondition(info == probed, "decode reported \(info), the probe \(probed)")
        precondition(image.width == info.width && image.height == info.height, "image \(image.width)×\(image.height) for \(info)")
        precondition(image.pixels.count == image.width * image.height * 3 && info.pixelCount <= 4_000_000, "pixel buffer size")
    } catch is AerieError {
        return 0
    } catch {
        fatalError("a decode refusal that is not an AerieError: \(error)")
    }
    return 0
}

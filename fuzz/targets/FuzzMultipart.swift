// libFuzzer target for multipart forms as the upload routes take them (`MultipartForm`, AerieHTTP; built by
// `make fuzz-parsers` from its source, linked against the package's debug build of AerieCore). Its first version,
// over MultipartKit's parser, crashed within seconds: MultipartKit 4.7.1 indexes a 128-entry table with each byte of
// a header name (fuzz/corpus/multipart/regression-header-byte-over-7f); the form is now parsed by our own code.
//
// The first byte picks the check. Even: the rest makes a form of up to three parts (names, file names and contents
// cut from it), serialised as a browser does; parsing gives back exactly those parts. Odd: the rest is a body with
// the boundary "B0und4ry"; it parses or is refused with Aerie's error (a 400 naming the file field), never anything
// else.
import AerieCore
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let rest = Array(input.dropFirst())
    if input[0] % 2 == 0 {
        let boundary = "----AerieFuzzBoundary7MA4YWxkTrZu0gW"
        let pieces = rest.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        var body = Data()
        var expected: [(String, String, [UInt8])] = []
        for (index, piece) in pieces.enumerated() {
            let name = "field\(index)"
            let filename = "f\(index)-\(piece.count).bin"
            // A browser never puts the boundary line inside a part: drop contents that would contain it.
            if Data(piece).range(of: Data("--\(boundary)".utf8)) != nil { return 0 }
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += Data(piece)
            body += Data("\r\n".utf8)
            expected.append((name, filename, Array(piece)))
        }
        body += Data("--\(boundary)--\r\n".utf8)
        do {
            let form = try MultipartForm(data: body, boundary: boundary)
            let got = form.parts.map { ($0.name, $0.filename ?? "", Array($0.data)) }
            precondition(got.count == expected.count, "\(got.count) parts for \(expected.count)")
            for (a, b) in zip(got, expected) { precondition(a.0 == b.0 && a.1 == b.1 && a.2 == b.2, "a part changed: \(a.0)") }
        } catch {
            fatalError("a well-formed form was refused: \(error)")
        }
    } else {
        do {
            _ = try MultipartForm(data: Data(rest), boundary: "B0und4ry")
        } catch let error as AerieError {
            precondition(error.code == .invalidArgument && error.field == "file", "unexpected refusal: \(error)")
        } catch {
            fatalError("a refusal that is not an AerieError: \(error)")
        }
    }
    return 0
}

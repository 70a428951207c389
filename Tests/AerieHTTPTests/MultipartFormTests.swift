import AerieCore
import AerieHTTP
import Foundation
import Testing

@Suite struct MultipartFormTests {
    @Test("multipart bodies split into named parts; files keep their bytes, names and content types")
    func parts() throws {
        let body = "--b\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\ny\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n\r\n--b--\r\n"
        let form = try MultipartForm(data: Data(body.utf8), boundary: "b")
        #expect(form.parts.map(\.name) == ["target", "file"])
        #expect(String(decoding: form.parts[1].data, as: UTF8.self) == "x,y\r\n1,2\r\n")
        #expect(form.parts[1].filename == "d.csv")
        #expect(form.parts[1].contentType == "text/csv")
        #expect(form.parts[0].contentType == nil)
        #expect(form.parts(named: "file").count == 1)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(MultipartForm.boundary(contentType: "text/csv") == nil)
        #expect(throws: AerieError.self) { try MultipartForm(data: Data("no parts here".utf8), boundary: "b") }
        let nameless = "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
        #expect(throws: AerieError.self) { try MultipartForm(data: Data(nameless.utf8), boundary: "b") }
    }

    @Test("odd but valid bodies: a preamble, empty and binary contents, UTF-8 file names, a delimiter inside a line")
    func edges() throws {
        var body = Data("preamble to ignore\r\n--b\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n".utf8)
        body += Data("--b \r\ncontent-disposition: form-data; name=\"file\"; filename=\"caf\u{E9}.bin\"\r\n\r\n".utf8)
        let binary: [UInt8] = [0, 0xFF, 13, 10, 45, 45, 98, 0x80, 13, 10, 45, 45]  // "\r\n--b" only where it is not a delimiter line
        body += Data(binary) + Data("x--b\r\n--b--".utf8)
        let form = try MultipartForm(data: body, boundary: "b")
        #expect(form.parts.map(\.name) == ["empty", "file"])
        #expect(form.parts[0].data.isEmpty)
        #expect(form.parts[1].filename == "caf\u{E9}.bin")
        #expect([UInt8](form.parts[1].data) == binary + Array("x--b".utf8))
    }

    @Test("malformed bodies are a 400 about the file field, never a crash (a byte over 0x7F in a header name crashed MultipartKit)")
    func malformed() throws {
        let cases = [
            "--b\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Typ\u{F1}: text/csv\r\n\r\nx\r\n--b--\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnever closed",
            "--b\r\nContent-Disposition: form-data; name=\"file\"\r\nno empty line",
            "--b\r\nno colon here\r\n\r\nx\r\n--b--",
            "--bX\r\n",
            "--b--\r\n",
        ]
        for text in cases {
            #expect(throws: AerieError.self, "\(text.debugDescription)") { try MultipartForm(data: Data(text.utf8), boundary: "b") }
            do {
                _ = try MultipartForm(data: Data(text.utf8), boundary: "b")
            } catch let error as AerieError {
                #expect(error.code == .invalidArgument && error.field == "file")
            }
        }
    }
}

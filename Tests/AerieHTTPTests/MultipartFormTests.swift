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
}

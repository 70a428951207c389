import Foundation
import Testing
@testable import AerieML

@Suite struct CSVReaderTests {
    func records(_ text: String) throws -> [[String]] {
        var out: [[String]] = []
        try CSVReader().read(text: text) { record, _ in out.append(record) }
        return out
    }

    @Test func quotedFieldsWithCommasQuotesAndNewlines() throws {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n1,,3"
        #expect(try records(text) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["1", "", "3"]])
    }

    /// Found by the CSV fuzz target (fuzz/corpus/csv/regression-bom-split.csv): a byte-order mark split across
    /// chunks was kept as text in the first column's name. Every split of a BOM-led input parses the same.
    @Test func byteOrderMarkSplitAcrossChunksIsSkippedToo() throws {
        let input = Array("\u{FEFF}name,value\nx,1\n".utf8)
        let expected: [[String]] = [["name", "value"], ["x", "1"]]
        for cut in 0...4 {
            var parser = CSVReader.Parser(delimiter: UInt8(ascii: ","))
            var out: [[String]] = []
            try input.withUnsafeBufferPointer { bytes in
                try parser.feed(UnsafeBufferPointer(rebasing: bytes[0..<cut])) { record, _ in out.append(record) }
                try parser.feed(UnsafeBufferPointer(rebasing: bytes[cut...])) { record, _ in out.append(record) }
            }
            try parser.finish { record, _ in out.append(record) }
            #expect(out == expected, "split at \(cut)")
        }
        // Bytes that only begin like a BOM are text: an input of just 0xEF 0xBB is one field of those bytes.
        var parser = CSVReader.Parser(delimiter: UInt8(ascii: ","))
        var out: [[String]] = []
        try [UInt8]([0xEF, 0xBB]).withUnsafeBufferPointer { try parser.feed($0) { record, _ in out.append(record) } }
        try parser.finish { record, _ in out.append(record) }
        #expect(out == [[String(decoding: [0xEF, 0xBB], as: UTF8.self)]])
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let text = "\u{FEFF}name,value\nx,1\n"
        let table = try DataTable.parse(csv: text)
        #expect(table.columnNames == ["name", "value"])
    }

    @Test func blankLinesAndTrailingNewlineAreSkipped() throws {
        #expect(try records("a,b\n\n1,2\n\n") == [["a", "b"], ["1", "2"]])
    }

    @Test func emptyQuotedFieldAtEndOfLine() throws {
        #expect(try records("a,b\n1,\"\"\n") == [["a", "b"], ["1", ""]])
    }

    @Test func unclosedQuoteIsAnError() throws {
        #expect(throws: MLError.self) { try records("a,b\n\"open,2\n") }
    }

    @Test func ragedRowIsAnErrorNamingTheLine() throws {
        do {
            _ = try DataTable.parse(csv: "a,b\n1,2\n3\n")
            Issue.record("expected an error")
        } catch let error as MLError {
            #expect(error.code == .csv)
            #expect(error.message.contains("line 3"))
        }
    }

    @Test func typeInferenceAndMissingMarkers() throws {
        let text = "num,cat,mixed\n1.5,red,1\nNA,blue,2\n?,,x\nnull,red,NaN\n3,NULL,4\n"
        let table = try DataTable.parse(csv: text)
        guard case .numeric(let num)? = table.column(named: "num")?.values else {
            Issue.record("num should be numeric")
            return
        }
        #expect(num[0] == 1.5 && num[1].isNaN && num[2].isNaN && num[3].isNaN && num[4] == 3)
        guard case .categorical(let codes, let levels)? = table.column(named: "cat")?.values else {
            Issue.record("cat should be categorical")
            return
        }
        #expect(levels == ["red", "blue"])
        #expect(codes == [0, 1, -1, 0, -1])
        // A column that turns non-numeric part way keeps earlier numbers as text.
        let mixed = try #require(table.column(named: "mixed")?.values)
        #expect(!mixed.isNumeric)
        #expect((0..<5).map { mixed.text($0) } == ["1", "2", "x", nil, "4"])
    }

    @Test func fileReadingMatchesTextParsing() throws {
        let path = Fixture.path("iris.csv")
        let table = try DataTable.read(path: path)
        #expect(table.rowCount == 150)
        #expect(table.columnNames == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        #expect(table.column(named: "species")?.values.isNumeric == false)
    }

    @Test func missingFileIsAClearError() throws {
        #expect(throws: MLError.self) { try DataTable.read(path: "/nonexistent/x.csv") }
    }

    /// A file larger than the reader's 1 MiB chunk, with quoted line breaks, doubled quotes and
    /// CRLF line ends landing on chunk boundaries, reads the same as the text parsed at once.
    @Test func fileStreamingAcrossChunkBoundaries() throws {
        var text = "id,note\r\n"
        var i = 0
        while text.utf8.count < (1 << 20) + 5000 {
            text += "\(i),\"line one, \"\"q\"\"\r\nline \(String(repeating: "x", count: i % 97))\"\r\n"
            i += 1
        }
        let path = Fixture.temporaryPath(".csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var fromFile: [[String]] = []
        try CSVReader().read(path: path) { record, _ in fromFile.append(record) }
        let fromText = try records(text)
        #expect(fromFile.count == i + 1)
        #expect(fromFile == fromText)
        #expect(fromFile[1] == ["0", "line one, \"q\"\r\nline "])
    }
}

import AerieCore
@testable import AerieRuntimes
import Foundation
import Testing

@Suite("Function packages: unpacking refuses every entry that escapes")
struct FunctionPackageTests {
    func scratch() throws -> (root: URL, code: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-pkg-\(UUID().uuidString)")
        let code = root.appendingPathComponent("pkg/code")
        try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
        return (root, code)
    }

    func refusal(_ items: [TestZip.Item], code expected: AerieError.Code = .unprocessable,
                 limits: FunctionPackage.Limits = .init()) throws -> (AerieError?, [String]) {
        let (root, code) = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        var caught: AerieError?
        do {
            try FunctionPackage(limits: limits).unpack(try TestZip.make(items), into: code)
        } catch let error as AerieError {
            caught = error
        }
        // Nothing may appear next to the package folder, whatever happened.
        let outside = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).filter { !$0.hasPrefix("pkg") }
        return (caught, outside)
    }

    @Test func unpacksFilesFoldersInnerLinksAndKeepsTheExecuteBit() throws {
        let (root, code) = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let zip = try TestZip.make([.file("bootstrap", "#!/bin/sh\n", executable: true), .directory("lib/"), .file("lib/util.py", "x = 1\n"),
                                    .symlink("current", target: "lib/util.py")])
        try FunctionPackage().unpack(zip, into: code)
        #expect(FileManager.default.isExecutableFile(atPath: code.appendingPathComponent("bootstrap").path))
        #expect(!FileManager.default.isExecutableFile(atPath: code.appendingPathComponent("lib/util.py").path))
        #expect(try String(contentsOf: code.appendingPathComponent("current"), encoding: .utf8) == "x = 1\n")
    }

    @Test(arguments: ["../evil.txt", "a/../../evil.txt", "/tmp/aerie-evil.txt", "a\\..\\evil.txt"])
    func refusesPathsThatEscape(_ path: String) throws {
        let (error, outside) = try refusal([.file("ok.txt", "fine"), .file(path, "pwned")])
        #expect(error?.code == .unprocessable)
        #expect(outside.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/aerie-evil.txt"))
    }

    @Test(arguments: ["../../etc", "/etc/passwd", "a/../../x"])
    func refusesLinksThatPointOut(_ target: String) throws {
        let (error, outside) = try refusal([.symlink("link", target: target)])
        #expect(error?.code == .unprocessable)
        #expect(error?.message.contains("outside") == true)
        #expect(outside.isEmpty)
    }

    @Test func refusesWritingThroughALink() throws {
        let (error, _) = try refusal([.directory("real/"), .symlink("link", target: "real"), .file("link/x.txt", "through")])
        #expect(error?.code == .unprocessable)
        #expect(error?.message.contains("beneath the symbolic link") == true)
    }

    @Test func refusesWhatIsTooLargeAndWhatIsNotAZip() throws {
        let big = String(repeating: "a", count: 10_000)
        let (tooBig, _) = try refusal([.file("big.txt", big)], limits: .init(maxUnpackedBytes: 5_000))
        #expect(tooBig?.code == .tooLarge)
        let (tooMany, _) = try refusal([.file("a", "1"), .file("b", "2"), .file("c", "3")], limits: .init(maxEntries: 2))
        #expect(tooMany?.code == .tooLarge)
        let (root, code) = try scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: AerieError.self) { try FunctionPackage().unpack(Data("not a zip at all".utf8), into: code) }
        #expect(throws: AerieError.self) { try FunctionPackage(limits: .init(maxArchiveBytes: 10)).unpack(try TestZip.make([.file("a", big)]), into: code) }
    }

    @Test func settingsParseQueryAndHeaderAndRefuseUnknownRuntimes() throws {
        let settings = try FunctionSettings.parse(header: #"{"runtime":"python3","handler":"app.handler","env":{"A":"1"}}"#,
                                                  query: ["memory": ["128"], "env": ["B=2=3"], "trigger": ["uploads/in/*.txt"]])
        #expect(settings.runtime == .python3 && settings.memory == 128 && settings.env == ["A": "1", "B": "2=3"])
        #expect(try settings.objectTrigger() == .object(bucket: "uploads", prefix: "in/", suffix: ".txt"))
        #expect(throws: AerieError.self) { try FunctionSettings.parse(header: nil, query: ["runtime": ["ruby"]]) }
        #expect(throws: AerieError.self) { try FunctionSettings.parse(header: nil, query: ["runtime": ["python3"]]) }
        #expect(throws: AerieError.self) { try FunctionSettings.parse(header: nil, query: ["runtime": ["provided"], "env": ["PATH=/x"]]) }
        #expect(throws: AerieError.self) { try FunctionSettings.parse(header: "{not json", query: [:]) }
    }
}

@Suite("Zip archives on zlib")
struct ZipArchiveTests {
    @Test func readsWhatPythonsZipfileDeflatesAndRefusesCorruption() throws {
        // A deflated zip written by another tool (Python's zipfile), so reading is not only checked against our writer.
        let script = """
        import io, sys, zipfile
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
            i = zipfile.ZipInfo('bin/run'); i.external_attr = 0o100755 << 16; z.writestr(i, 'hello ' * 1000)
        sys.stdout.buffer.write(b.getvalue())
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let zip = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let entries = try ZipArchive.entries(zip)
        #expect(entries.map(\.path) == ["bin/run"] && entries[0].mode == 0o755 && entries[0].kind == .file)
        #expect(try ZipArchive.contents(entries[0], in: zip, limit: 1 << 20) == Data(String(repeating: "hello ", count: 1000).utf8))
        #expect(throws: AerieError.self) { try ZipArchive.contents(entries[0], in: zip, limit: 100) }
        var corrupt = zip
        corrupt[60] ^= 0xFF
        #expect(throws: AerieError.self) { try ZipArchive.contents(try ZipArchive.entries(corrupt)[0], in: corrupt, limit: 1 << 20) }
    }
}

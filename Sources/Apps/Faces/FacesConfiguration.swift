import AerieCore
import AerieFaces
import AerieMail
import Foundation

/// Faces' limits and settings (`AERIE_FACES_*` for `aerie serve`; mail from `--smtp-url` and `--smtp-from`).
public struct FacesConfiguration: Sendable {
    /// Two faces closer than this (Euclidean distance of dlib's embeddings) are the same person. dlib's 0.6; see
    /// docs/faces.md for the false-accept / false-reject table it was checked on.
    public var threshold: Float = FaceEngine.defaultThreshold
    /// The largest photo accepted, in pixels (413 beyond).
    public var maxPixels = 40_000_000
    /// The largest request body, in bytes (413 beyond).
    public var maxUploadBytes = 20 << 20
    /// Photos are scaled down to this long side before detection (boxes are given in the photo's own pixels).
    /// Faces smaller than about 40 px at this size are missed; larger values find smaller faces, slower.
    public var detectionLongSide = 1280
    /// HOG upsamplings (each halves the smallest face found and costs about 4× the time).
    public var upsample = 1
    /// `hog` (fast, frontal faces) or `cnn` (dlib's MMOD detector: more angles, about 20× slower on CPU).
    public var detector: FaceDetector = .hog
    /// How long faces recognize could not match are kept for clustering.
    public var sightingRetention: TimeInterval = 7 * 24 * 3600
    /// Where email notifications go; without it, email watches are refused (webhooks still work).
    public var smtp: SMTPConfiguration?

    public init() {}

    /// The configuration from `AERIE_FACES_THRESHOLD`, `AERIE_FACES_MAX_MEGAPIXELS`, `AERIE_FACES_MAX_UPLOAD_MIB`,
    /// `AERIE_FACES_DETECTION_SIZE`, `AERIE_FACES_UPSAMPLE`, `AERIE_FACES_DETECTOR` (hog|cnn) and
    /// `AERIE_FACES_RETENTION_HOURS`; a malformed value is an error naming the variable.
    public static func fromEnvironment(_ environment: [String: String]) throws -> FacesConfiguration {
        var configuration = FacesConfiguration()
        func number(_ name: String, range: ClosedRange<Double>) throws -> Double? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Double(text), range.contains(value) else {
                throw AerieError.invalid("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\".", field: name)
            }
            return value
        }
        if let value = try number("AERIE_FACES_THRESHOLD", range: 0.1...1.5) { configuration.threshold = Float(value) }
        if let value = try number("AERIE_FACES_MAX_MEGAPIXELS", range: 0.01...1000) { configuration.maxPixels = Int(value * 1_000_000) }
        if let value = try number("AERIE_FACES_MAX_UPLOAD_MIB", range: 0.01...1024) { configuration.maxUploadBytes = Int(value * 1_048_576) }
        if let value = try number("AERIE_FACES_DETECTION_SIZE", range: 160...8192) { configuration.detectionLongSide = Int(value) }
        if let value = try number("AERIE_FACES_UPSAMPLE", range: 0...Double(FaceEngine.maxUpsample)) { configuration.upsample = Int(value) }
        if let value = try number("AERIE_FACES_RETENTION_HOURS", range: 0.001...87_600) { configuration.sightingRetention = value * 3600 }
        if let text = environment["AERIE_FACES_DETECTOR"], !text.isEmpty {
            guard let detector = FaceDetector(rawValue: text) else {
                throw AerieError.invalid("AERIE_FACES_DETECTOR must be hog or cnn, not \"\(text)\".", field: "AERIE_FACES_DETECTOR")
            }
            configuration.detector = detector
        }
        return configuration
    }
}

import CAerieFaces

/// Which of dlib's face detectors runs.
public enum FaceDetector: String, Sendable, Hashable, Codable, CaseIterable {
    /// HOG features and a linear SVM: fast (about 90 ms for a 640 px photo with one upsampling), frontal faces.
    case hog
    /// The MMOD CNN (`mmod_human_face_detector.dat`): more poses, several times slower on a CPU.
    case cnn

    var code: Int32 {
        switch self {
        case .hog: Int32(AERIE_FACES_DETECTOR_HOG)
        case .cnn: Int32(AERIE_FACES_DETECTOR_CNN)
        }
    }
}

/// A face's box in image pixels (x, y: the top-left corner).
public struct FaceBox: Sendable, Hashable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Int { width * height }

    /// The area of the intersection over the area of the union (0 when they do not overlap).
    public func intersectionOverUnion(_ other: FaceBox) -> Double {
        let width = min(x + self.width, other.x + other.width) - max(x, other.x)
        let height = min(y + self.height, other.y + other.height) - max(y, other.y)
        guard width > 0, height > 0 else { return 0 }
        let intersection = Double(width * height)
        return intersection / (Double(area + other.area) - intersection)
    }

    /// Whether the point lies inside the box.
    public func contains(x pointX: Float, y pointY: Float) -> Bool {
        pointX >= Float(x) && pointX < Float(x + width) && pointY >= Float(y) && pointY < Float(y + height)
    }
}

/// A landmark in image pixels.
public struct FacePoint: Sendable, Hashable, Codable {
    public var x: Float
    public var y: Float

    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }
}

/// A face found by ``FaceEngine/detect(pixels:width:height:upsample:detector:)``.
public struct DetectedFace: Sendable, Hashable, Codable {
    /// The box, clipped to the image.
    public var box: FaceBox
    /// dlib's 5 landmarks, in its order: 0 and 1 the outer and inner corner of the eye on the image's right,
    /// 2 and 3 the outer and inner corner of the other eye, 4 the base of the nose. They may lie slightly outside
    /// the image.
    public var landmarks: [FacePoint]
    /// The detector's confidence (HOG: the SVM margin, above 0 for every returned face).
    public var score: Double

    public init(box: FaceBox, landmarks: [FacePoint], score: Double = 0) {
        self.box = box
        self.landmarks = landmarks
        self.score = score
    }

    init(_ detection: AerieFacesDetection, width: Int, height: Int) {
        let left = max(Int(detection.left), 0)
        let top = max(Int(detection.top), 0)
        let right = min(Int(detection.left) + Int(detection.width), width)
        let bottom = min(Int(detection.top) + Int(detection.height), height)
        box = FaceBox(x: left, y: top, width: max(right - left, 0), height: max(bottom - top, 0))
        score = detection.score
        landmarks = withUnsafeBytes(of: detection.landmarks) { raw in
            let values = raw.bindMemory(to: Float.self)
            return (0..<FaceEngine.landmarkCount).map { FacePoint(x: values[2 * $0], y: values[2 * $0 + 1]) }
        }
    }

    /// The face as the shim takes it (the landmarks decide the aligned chip; the box is carried along).
    var detection: AerieFacesDetection {
        var detection = AerieFacesDetection()
        detection.left = Int32(clamping: box.x)
        detection.top = Int32(clamping: box.y)
        detection.width = Int32(clamping: box.width)
        detection.height = Int32(clamping: box.height)
        detection.score = score
        withUnsafeMutableBytes(of: &detection.landmarks) { raw in
            let values = raw.bindMemory(to: Float.self)
            for (index, point) in landmarks.prefix(FaceEngine.landmarkCount).enumerated() {
                values[2 * index] = point.x
                values[2 * index + 1] = point.y
            }
        }
        return detection
    }
}

/// A face with its 128-d embedding.
public struct EmbeddedFace: Sendable, Hashable, Codable {
    public var face: DetectedFace
    public var embedding: [Float]

    public init(face: DetectedFace, embedding: [Float]) {
        self.face = face
        self.embedding = embedding
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// Evaluation results: classification or regression metrics, and which rows they were measured on.
public struct MetricsReport: Sendable, Codable, Equatable {
    public var classification: ClassificationMetrics?
    public var regression: RegressionMetrics?
    /// `test` (held-out rows or a test file) or `train` when no rows were held out.
    public var evaluatedOn: String
}

/// Everything stored with a model besides its arrays.
public struct ModelMetadata: Sendable, Codable, Equatable {
    public var kind: ModelKind
    public var task: MLTask
    public var target: String
    /// Class labels in index order (classification).
    public var classes: [String]
    public var preprocessor: Preprocessor
    public var missingValues: MissingValueStrategy
    /// Training parameters as resolved (defaults filled in).
    public var parameters: [String: String]
    public var seed: UInt64
    public var trainingRows: Int
    public var testRows: Int
    public var metrics: MetricsReport?
}

/// A trained model with its schema and transforms: what the model file holds.
///
/// File layout (all integers little-endian): the 8-byte magic `AERIEML\0`, a UInt32 format
/// version, a UInt32 reserved word, a UInt64 length and that many bytes of JSON (metadata,
/// array table, scalars), zero padding to a multiple of 8, a UInt64 length and the array bytes.
public struct TabularModel: Sendable, Equatable {
    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 1
    static let magic: [UInt8] = Array("AERIEML".utf8) + [0]

    public var metadata: ModelMetadata
    public var model: TrainedModel

    public init(metadata: ModelMetadata, model: TrainedModel) {
        self.metadata = metadata
        self.model = model
    }

    struct Header: Codable {
        var metadata: ModelMetadata
        var arrays: [ArrayArchive.Entry]
        var scalars: [String: Double]
    }

    // MARK: Prediction

    /// Predictions for the rows of `table`: labels (or formatted numbers for regression),
    /// class probabilities (classification) and numeric values (regression).
    public struct Prediction: Sendable {
        public var labels: [String]
        /// `rows × classes`, columns in `classes` order; `nil` for regression.
        public var probabilities: Matrix?
        public var values: [Double]?
    }

    /// Predicts each row of `table`. Extra columns (the target included) are ignored; missing
    /// values are filled as fitted in training. Throws on a missing column or unseen category.
    public func predict(_ table: DataTable) throws -> Prediction {
        let x = try metadata.preprocessor.transform(table)
        return predict(matrix: x)
    }

    /// Predicts rows already transformed by the model's preprocessor.
    public func predict(matrix x: Matrix) -> Prediction {
        let out = model.predictValues(x)
        if metadata.task == .regression {
            return Prediction(labels: out.map { "\($0)" }, probabilities: nil, values: out)
        }
        let k = metadata.classes.count
        var labels: [String] = []
        labels.reserveCapacity(x.rows)
        for i in 0..<x.rows {
            var best = 0
            for c in 1..<max(1, k) where out[i * k + c] > out[i * k + best] { best = c }
            labels.append(metadata.classes[best])
        }
        return Prediction(labels: labels, probabilities: Matrix(rows: x.rows, cols: k, values: out), values: nil)
    }

    /// The column names a prediction CSV must hold.
    public var featureNames: [String] { metadata.preprocessor.features.map(\.name) }

    /// Reads CSV rows for prediction, keeping categorical features as text.
    public func readTable(path: String) throws -> DataTable {
        let categorical = Set(metadata.preprocessor.features.filter { $0.kind == .categorical }.map(\.name))
        return try DataTable.read(path: path, categorical: categorical)
    }

    // MARK: File

    /// The model file's bytes.
    public func encoded() throws -> [UInt8] {
        var archive = ArrayArchive()
        model.archive(into: &archive)
        let header = Header(
            metadata: metadata, arrays: archive.entries.values.sorted { $0.offset < $1.offset },
            scalars: archive.scalars)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try [UInt8](encoder.encode(header))
        var out = TabularModel.magic
        func put(_ v: UInt64, _ size: Int) {
            for b in 0..<size { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))) }
        }
        put(UInt64(TabularModel.formatVersion), 4)
        put(0, 4)
        put(UInt64(json.count), 8)
        out.append(contentsOf: json)
        while out.count % 8 != 0 { out.append(0) }
        put(UInt64(archive.bytes.count), 8)
        out.append(contentsOf: archive.bytes)
        return out
    }

    /// Decodes a model file's bytes; rejects other formats and other versions.
    public static func decode(_ bytes: [UInt8], source: String = "model file") throws -> TabularModel {
        guard bytes.count >= 24, Array(bytes[0..<8]) == magic else {
            throw MLError(.modelFile, "\(source) is not an Aerie tabular model (bad magic bytes); pass a file written by 'aerie ml train --out'")
        }
        func word(_ at: Int, _ size: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<size { v |= UInt64(bytes[at + b]) << (8 * UInt64(b)) }
            return v
        }
        let version = UInt32(word(8, 4))
        if version > formatVersion {
            throw MLError(.modelFile, "\(source) has model format version \(version), newer than this aerie's version \(formatVersion); upgrade aerie to load it")
        }
        if version != formatVersion {
            throw MLError(.modelFile, "\(source) has model format version \(version), which this aerie (version \(formatVersion)) cannot read; retrain the model with this aerie")
        }
        let jsonLength = word(16, 8)
        guard jsonLength <= UInt64(bytes.count - 24) else {
            throw MLError(.modelFile, "\(source) is truncated; copy it again or retrain")
        }
        let jsonEnd = 24 + Int(jsonLength)
        var binStart = jsonEnd
        while binStart % 8 != 0 { binStart += 1 }
        guard binStart + 8 <= bytes.count else {
            throw MLError(.modelFile, "\(source) is truncated; copy it again or retrain")
        }
        let binLength = word(binStart, 8)
        guard binLength == UInt64(bytes.count - binStart - 8) else {
            throw MLError(.modelFile, "\(source) is truncated or has trailing bytes; copy it again or retrain")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[24..<jsonEnd]))
        } catch {
            throw MLError(.modelFile, "\(source) has unreadable metadata (\(error)); it is corrupt, retrain the model")
        }
        let archive = try ArrayArchive(
            entries: header.arrays, bytes: Array(bytes[(binStart + 8)...]), scalars: header.scalars)
        let meta = header.metadata
        if meta.task == .classification && meta.classes.isEmpty {
            throw MLError(.modelFile, "\(source) is a classifier without classes; it is corrupt, retrain the model")
        }
        try meta.preprocessor.validate()
        let model = try TrainedModel.unarchive(kind: meta.kind, features: meta.preprocessor.outputWidth, from: archive)
        let expected = meta.task == .regression ? 1 : meta.classes.count
        guard model.outputs == expected, meta.task != .auto else {
            throw MLError(.modelFile, "\(source) has a model whose outputs do not match its \(meta.task.rawValue) schema; the file is corrupt, retrain the model")
        }
        return TabularModel(metadata: meta, model: model)
    }

    /// Writes the model file atomically (a temporary file renamed into place).
    /// - Returns: the file's size in bytes.
    @discardableResult
    public func save(to path: String) throws -> Int {
        let bytes = try encoded()
        let temp = path + ".tmp-\(getpid())"
        guard let file = fopen(temp, "wb") else {
            throw MLError(.io, "cannot write '\(temp)': \(String(cString: strerror(errno))); check that the directory exists and is writable")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == bytes.count, flushed, rename(temp, path) == 0 else {
            unlink(temp)
            throw MLError(.io, "cannot write '\(path)'; check free disk space and permissions")
        }
        return bytes.count
    }

    /// Loads a model file.
    public static func load(from path: String) throws -> TabularModel {
        guard let file = fopen(path, "rb") else {
            throw MLError(.io, "cannot open model '\(path)': \(String(cString: strerror(errno))); check the path")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return try decode(bytes, source: "'\(path)'")
    }
}

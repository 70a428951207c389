#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
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
/// version, a UInt32 compression (1: zlib), a UInt64 length of the uncompressed body and the
/// zlib-compressed body (with `ModelFileDictionary` as the preset dictionary). The body is a
/// UInt64 length and that many bytes of JSON (metadata, array table, scalars), then a UInt64
/// length and the array bytes. Numbers of the schema
/// (fill values, scaling) live in the arrays at full precision, and classification metrics are
/// stored as their confusion matrix, from which the rest is recomputed exactly on loading.
public struct TabularModel: Sendable, Equatable {
    /// The format version this build writes and reads (version 1, uncompressed, is no longer read).
    public static let formatVersion: UInt32 = 2
    static let magic: [UInt8] = Array("AERIEML".utf8) + [0]
    /// The compression word of a zlib-compressed body.
    static let zlibCompression: UInt32 = 1

    public var metadata: ModelMetadata
    public var model: TrainedModel

    public init(metadata: ModelMetadata, model: TrainedModel) {
        self.metadata = metadata
        self.model = model
    }

    struct Header: Codable {
        /// The metadata without what the arrays and `confusion` hold.
        var metadata: ModelMetadata
        var arrays: [ArrayArchive.Entry]
        var scalars: [String: Double]
        /// The confusion matrix the classification metrics follow from, when they were left out.
        var confusion: [[Int]]?
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
    /// Large batches use at most `threads` threads (`nil`: all cores).
    public func predict(_ table: DataTable, threads: Int? = nil) throws -> Prediction {
        let x = try metadata.preprocessor.transform(table)
        return predict(matrix: x, threads: threads)
    }

    /// Predicts rows already transformed by the model's preprocessor, on at most `threads` threads.
    public func predict(matrix x: Matrix, threads: Int? = nil) -> Prediction {
        let out = model.predictValues(x, threads: threads)
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
        var meta = metadata
        var confusion: [[Int]]?
        // Schema numbers as binary doubles.
        var pre = meta.preprocessor
        archive.put(TabularModel.fillArray, pre.features.map(\.fillValue))
        for i in pre.features.indices { pre.features[i].fillValue = 0 }
        if !(pre.offset.allSatisfy { $0 == 0 } && pre.scale.allSatisfy { $0 == 1 }) {
            archive.put(TabularModel.offsetArray, pre.offset)
            archive.put(TabularModel.scaleArray, pre.scale)
        }
        pre.offset = []
        pre.scale = []
        meta.preprocessor = pre
        // Classification metrics as their confusion matrix when that recomputes them exactly.
        if let c = meta.metrics?.classification, ClassificationMetrics(confusion: c.confusion, labels: meta.classes) == c {
            confusion = c.confusion
            meta.metrics?.classification = nil
        }
        let header = Header(
            metadata: meta, arrays: archive.entries.values.sorted { $0.offset < $1.offset },
            scalars: archive.scalars, confusion: confusion)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try [UInt8](encoder.encode(header))
        var body: [UInt8] = []
        body.reserveCapacity(16 + json.count + archive.bytes.count)
        TabularModel.put(UInt64(json.count), 8, into: &body)
        body.append(contentsOf: json)
        TabularModel.put(UInt64(archive.bytes.count), 8, into: &body)
        body.append(contentsOf: archive.bytes)

        var out = TabularModel.magic
        TabularModel.put(UInt64(TabularModel.formatVersion), 4, into: &out)
        TabularModel.put(UInt64(TabularModel.zlibCompression), 4, into: &out)
        TabularModel.put(UInt64(body.count), 8, into: &out)
        out.append(contentsOf: try TabularModel.deflate(body))
        return out
    }

    static let fillArray = "schema_fill"
    static let offsetArray = "schema_offset"
    static let scaleArray = "schema_scale"

    private static func put(_ v: UInt64, _ size: Int, into out: inout [UInt8]) {
        for b in 0..<size { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))) }
    }

    /// zlib-compresses `bytes` with the preset dictionary (best compression for small bodies,
    /// a faster level for large ones).
    static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        let level: Int32 = bytes.count < 1 << 20 ? Z_BEST_COMPRESSION : 6
        guard deflateInit_(&stream, level, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw MLError(.modelFile, "cannot start compressing the model (zlib); retry, or report this as a bug")
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        let status = ModelFileDictionary.bytes.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                bytes.withUnsafeBufferPointer { i in
                    guard deflateSetDictionary(&stream, d.baseAddress, uInt(d.count)) == Z_OK else { return Z_STREAM_ERROR }
                    stream.next_in = UnsafeMutablePointer(mutating: i.baseAddress)
                    stream.avail_in = uInt(i.count)
                    stream.next_out = o.baseAddress
                    stream.avail_out = uInt(o.count)
                    return zlibDeflate(&stream, Z_FINISH)
                }
            }
        }
        guard status == Z_STREAM_END else {
            throw MLError(.modelFile, "cannot compress the model (zlib status \(status)); retry, or report this as a bug")
        }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }

    /// Inflates a body that must be exactly `length` bytes.
    static func inflate(_ bytes: ArraySlice<UInt8>, length: Int, source: String) throws -> [UInt8] {
        let corrupt = MLError(.modelFile, "\(source) is truncated or corrupt (its compressed body does not unpack); copy it again or retrain")
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw corrupt }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: length)
        let status = ModelFileDictionary.bytes.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                bytes.withUnsafeBufferPointer { i in
                    stream.next_in = UnsafeMutablePointer(mutating: i.baseAddress)
                    stream.avail_in = uInt(i.count)
                    stream.next_out = o.baseAddress
                    stream.avail_out = uInt(o.count)
                    var status = zlibInflate(&stream, Z_FINISH)
                    if status == Z_NEED_DICT {
                        guard inflateSetDictionary(&stream, d.baseAddress, uInt(d.count)) == Z_OK else { return Z_DATA_ERROR }
                        status = zlibInflate(&stream, Z_FINISH)
                    }
                    return status
                }
            }
        }
        guard status == Z_STREAM_END, stream.total_out == uLong(length), stream.avail_in == 0 else { throw corrupt }
        return out
    }

    /// Decodes a model file's bytes; rejects other formats and other versions.
    public static func decode(_ bytes: [UInt8], source: String = "model file") throws -> TabularModel {
        guard bytes.count >= 24, Array(bytes[0..<8]) == magic else {
            throw MLError(.modelFile, "\(source) is not an Aerie tabular model (bad magic bytes); pass a file written by 'aerie ml train --out'")
        }
        func word(_ b: [UInt8], _ at: Int, _ size: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<size { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            return v
        }
        let version = UInt32(word(bytes, 8, 4))
        if version > formatVersion {
            throw MLError(.modelFile, "\(source) has model format version \(version), newer than this aerie's version \(formatVersion); upgrade aerie to load it")
        }
        if version != formatVersion {
            throw MLError(.modelFile, "\(source) has model format version \(version), which this aerie (version \(formatVersion)) cannot read; retrain the model with this aerie")
        }
        guard UInt32(word(bytes, 12, 4)) == zlibCompression else {
            throw MLError(.modelFile, "\(source) uses a compression this aerie does not know; it is corrupt or from another build, retrain the model")
        }
        // zlib expands at most about 1032:1; a larger claim is corruption, not a model.
        let bodyLength = word(bytes, 16, 8)
        guard bodyLength >= 16, bodyLength <= UInt64(bytes.count - 24) * 1032 + 64 else {
            throw MLError(.modelFile, "\(source) is truncated or corrupt (impossible body length); copy it again or retrain")
        }
        let body = try inflate(bytes[24...], length: Int(bodyLength), source: source)
        let jsonLength = word(body, 0, 8)
        guard jsonLength <= UInt64(body.count - 16) else {
            throw MLError(.modelFile, "\(source) is corrupt (metadata length past the end); copy it again or retrain")
        }
        let jsonEnd = 8 + Int(jsonLength)
        let binLength = word(body, jsonEnd, 8)
        guard binLength == UInt64(body.count - jsonEnd - 8) else {
            throw MLError(.modelFile, "\(source) is corrupt (array section length mismatch); copy it again or retrain")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(body[8..<jsonEnd]))
        } catch {
            throw MLError(.modelFile, "\(source) has unreadable metadata (\(error)); it is corrupt, retrain the model")
        }
        let archive = try ArrayArchive(
            entries: header.arrays, bytes: Array(body[(jsonEnd + 8)...]), scalars: header.scalars)
        var meta = header.metadata
        if meta.task == .classification && meta.classes.isEmpty {
            throw MLError(.modelFile, "\(source) is a classifier without classes; it is corrupt, retrain the model")
        }
        // Restore what the arrays and the confusion matrix hold.
        let fill = try archive.doubles(fillArray)
        let width = meta.preprocessor.features.reduce(0) { $0 + $1.width }
        guard fill.count == meta.preprocessor.features.count else {
            throw MLError(.modelFile, "\(source) has fill values that do not match its features; it is corrupt, retrain the model")
        }
        for i in meta.preprocessor.features.indices { meta.preprocessor.features[i].fillValue = fill[i] }
        if archive.entries[offsetArray] != nil {
            meta.preprocessor.offset = try archive.doubles(offsetArray)
            meta.preprocessor.scale = try archive.doubles(scaleArray)
        } else {
            meta.preprocessor.offset = [Double](repeating: 0, count: width)
            meta.preprocessor.scale = [Double](repeating: 1, count: width)
        }
        if let confusion = header.confusion {
            let k = meta.classes.count
            guard meta.metrics != nil, confusion.count == k, confusion.allSatisfy({ $0.count == k && $0.allSatisfy { $0 >= 0 } }) else {
                throw MLError(.modelFile, "\(source) has a confusion matrix that does not match its classes; it is corrupt, retrain the model")
            }
            meta.metrics?.classification = ClassificationMetrics(confusion: confusion, labels: meta.classes)
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

// zlib's `deflate` and `inflate` under names that do not clash with `TabularModel`'s methods.
@inline(__always)
private func zlibDeflate(_ stream: inout z_stream, _ flush: Int32) -> Int32 { CZlib.deflate(&stream, flush) }
@inline(__always)
private func zlibInflate(_ stream: inout z_stream, _ flush: Int32) -> Int32 { CZlib.inflate(&stream, flush) }

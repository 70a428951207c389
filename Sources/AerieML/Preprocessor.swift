/// How rows with missing feature values are handled in training.
public enum MissingValueStrategy: String, Sendable, Codable, CaseIterable {
    /// Drop rows with any missing feature or target value.
    case drop
    /// Fill numeric features with the training mean, categorical ones with the most frequent value.
    case impute
}

/// How a categorical feature becomes numbers.
public enum CategoricalEncoding: String, Sendable, Codable, CaseIterable {
    /// One 0/1 column per category.
    case oneHot = "one-hot"
    /// One column holding the category's index.
    case label
}

/// How output features are scaled.
public enum ScalingMethod: String, Sendable, Codable, CaseIterable {
    case none
    /// To [0, 1] over the training range.
    case minMax = "min-max"
    /// To zero mean and unit variance over the training rows.
    case standard
}

/// The transform of one input column, fitted on the training split.
public struct FeatureTransform: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case numeric, categorical }
    public var name: String
    public var kind: Kind
    /// Known categories, in code order (categorical only).
    public var categories: [String]
    /// Imputed value for a missing number (the training mean).
    public var fillValue: Double
    /// Index into `categories` used for a missing category (the most frequent one).
    public var fillCategory: Int
    public var encoding: CategoricalEncoding

    /// Number of output features this column produces.
    public var width: Int {
        kind == .categorical && encoding == .oneHot ? categories.count : 1
    }
}

/// The fitted preprocessing: per-column transforms and per-output scaling. Stored with the model
/// so that prediction applies exactly the transforms fitted in training.
public struct Preprocessor: Sendable, Codable, Equatable {
    public var features: [FeatureTransform]
    public var scaling: ScalingMethod
    /// Output value is `(x - offset[j]) * scale[j]`.
    public var offset: [Double]
    public var scale: [Double]

    public var outputWidth: Int { offset.count }

    /// Names of the output features (one-hot columns as `name=category`).
    public var outputNames: [String] {
        features.flatMap { f in
            f.kind == .categorical && f.encoding == .oneHot ? f.categories.map { "\(f.name)=\($0)" } : [f.name]
        }
    }

    /// Fits on `table` (the training rows) for the named feature columns.
    public static func fit(
        table: DataTable, features names: [String], encoding: CategoricalEncoding, scaling: ScalingMethod
    ) throws -> Preprocessor {
        var transforms: [FeatureTransform] = []
        for name in names {
            guard let column = table.column(named: name) else {
                throw MLError(.missingColumn, "no column '\(name)' in the training data")
            }
            switch column.values {
            case .numeric(let v):
                var sum = 0.0
                var n = 0
                for x in v where !x.isNaN {
                    sum += x
                    n += 1
                }
                transforms.append(FeatureTransform(
                    name: name, kind: .numeric, categories: [], fillValue: n > 0 ? sum / Double(n) : 0,
                    fillCategory: 0, encoding: encoding))
            case .categorical(let codes, let levels):
                // Keep only the categories seen in these rows, in sorted order.
                var counts = [Int](repeating: 0, count: levels.count)
                for c in codes where c >= 0 { counts[Int(c)] += 1 }
                let seen = levels.indices.filter { counts[$0] > 0 }.sorted { levels[$0] < levels[$1] }
                let categories = seen.map { levels[$0] }
                let mostFrequent = seen.indices.max { counts[seen[$0]] < counts[seen[$1]] } ?? 0
                transforms.append(FeatureTransform(
                    name: name, kind: .categorical, categories: categories, fillValue: 0,
                    fillCategory: mostFrequent, encoding: encoding))
            }
        }
        var pre = Preprocessor(features: transforms, scaling: .none, offset: [], scale: [])
        let width = transforms.reduce(0) { $0 + $1.width }
        pre.offset = [Double](repeating: 0, count: width)
        pre.scale = [Double](repeating: 1, count: width)
        let raw = try pre.transform(table)
        pre.scaling = scaling
        (pre.offset, pre.scale) = Preprocessor.fitScaling(raw, method: scaling)
        return pre
    }

    static func fitScaling(_ x: Matrix, method: ScalingMethod) -> ([Double], [Double]) {
        var offset = [Double](repeating: 0, count: x.cols)
        var scale = [Double](repeating: 1, count: x.cols)
        guard x.rows > 0 else { return (offset, scale) }
        switch method {
        case .none:
            break
        case .minMax:
            for j in 0..<x.cols {
                var lo = Double.infinity
                var hi = -Double.infinity
                for i in 0..<x.rows {
                    lo = min(lo, x[i, j])
                    hi = max(hi, x[i, j])
                }
                offset[j] = lo
                scale[j] = hi > lo ? 1 / (hi - lo) : 1
            }
        case .standard:
            let n = Double(x.rows)
            for j in 0..<x.cols {
                var mean = 0.0
                for i in 0..<x.rows { mean += x[i, j] }
                mean /= n
                var ss = 0.0
                for i in 0..<x.rows { ss += (x[i, j] - mean) * (x[i, j] - mean) }
                let sd = (ss / n).squareRoot()
                offset[j] = mean
                scale[j] = sd > 1e-12 * max(1, abs(mean)) ? 1 / sd : 1
            }
        }
        return (offset, scale)
    }

    /// Checks internal consistency (used when loading a model file).
    func validate() throws {
        let width = features.reduce(0) { $0 + $1.width }
        let ok = offset.count == width && scale.count == width
            && features.allSatisfy { $0.kind == .numeric || $0.categories.isEmpty || ($0.fillCategory >= 0 && $0.fillCategory < $0.categories.count) }
        if !ok {
            throw MLError(.modelFile, "model file's preprocessing does not agree with its features; the file is corrupt, retrain the model")
        }
    }

    /// Transforms the feature columns of `table` into a matrix (one row per table row).
    ///
    /// Missing values are filled with the fitted values. Throws when a feature column is absent,
    /// has the wrong type, or holds a category that training never saw.
    public func transform(_ table: DataTable) throws -> Matrix {
        let n = table.rowCount
        let width = outputWidth
        // Where each feature's values come from: a numeric column, or a category index per row.
        enum Source {
            case number([Double], fill: Double)
            case category([Int32], oneHot: Bool, fill: Int)
            case nothing
        }
        var sources: [Source] = []
        sources.reserveCapacity(features.count)
        // Columns usually come in the training order: look from just after the last match.
        let columns = table.columns
        var cursor = 0
        func column(named name: String) -> Column? {
            for step in 0..<columns.count {
                let c = (cursor + step) % columns.count
                if columns[c].name == name {
                    cursor = c + 1
                    return columns[c]
                }
            }
            return nil
        }
        for f in features {
            guard let column = column(named: f.name) else {
                throw MLError(.missingColumn, "the data has no column '\(f.name)', which the model was trained on; add it (the model needs: \(features.map(\.name).joined(separator: ", ")))")
            }
            switch (f.kind, column.values) {
            case (.numeric, .numeric(let v)):
                sources.append(.number(v, fill: f.fillValue))
            case (.numeric, .categorical(let codes, let levels)):
                let bad = codes.first { $0 >= 0 }.map { levels[Int($0)] } ?? "?"
                throw MLError(.schema, "column '\(f.name)' was numeric in training but holds non-numeric values such as '\(bad)'; fix or remove those values")
            case (.categorical, _):
                var lookup: [String: Int32] = [:]
                for (k, c) in f.categories.enumerated() { lookup[c] = Int32(k) }
                // Category index per row (-1: missing); categorical columns map each level once.
                var index = [Int32](repeating: -1, count: n)
                switch column.values {
                case .categorical(let codes, let levels):
                    let known = levels.map { lookup[$0] }
                    for i in 0..<n where codes[i] >= 0 {
                        guard let k = known[Int(codes[i])] else {
                            throw Preprocessor.unseen(f, levels[Int(codes[i])], row: i)
                        }
                        index[i] = k
                    }
                case .numeric:
                    for i in 0..<n {
                        guard let text = column.values.text(i) else { continue }
                        guard let k = lookup[text] else { throw Preprocessor.unseen(f, text, row: i) }
                        index[i] = k
                    }
                }
                // With no category ever seen, a one-hot feature has no columns and a label is 0.
                sources.append(f.categories.isEmpty ? .nothing : .category(index, oneHot: f.encoding == .oneHot, fill: f.fillCategory))
            }
        }
        // In blocks of rows, so that the block of output being written stays in cache.
        var values = [Double](repeating: 0, count: n * width)
        let scaled = scaling != .none
        let block = 64
        values.withUnsafeMutableBufferPointer { out in
            offset.withUnsafeBufferPointer { offset in
                scale.withUnsafeBufferPointer { scale in
                    var start = 0
                    while start < n {
                        let end = min(n, start + block)
                        var base = 0
                        for (f, source) in zip(features, sources) {
                            switch source {
                            case .number(let v, let fill):
                                v.withUnsafeBufferPointer { v in
                                    if scaled {
                                        let o = offset[base]
                                        let s = scale[base]
                                        for i in start..<end {
                                            let x = v[i]
                                            out[i &* width &+ base] = ((x.isNaN ? fill : x) - o) * s
                                        }
                                    } else {
                                        for i in start..<end {
                                            let x = v[i]
                                            out[i &* width &+ base] = x.isNaN ? fill : x
                                        }
                                    }
                                }
                            case .category(let index, let oneHot, let fill):
                                index.withUnsafeBufferPointer { index in
                                    for i in start..<end {
                                        let k = index[i] >= 0 ? Int(index[i]) : fill
                                        if oneHot {
                                            out[i &* width &+ base &+ k] = 1
                                        } else {
                                            out[i &* width &+ base] = Double(k)
                                        }
                                    }
                                }
                            case .nothing:
                                break
                            }
                            if scaled, f.kind == .categorical {  // numbers were scaled as they were copied
                                for i in start..<end {
                                    for j in base..<(base + f.width) {
                                        out[i &* width &+ j] = (out[i &* width &+ j] - offset[j]) * scale[j]
                                    }
                                }
                            }
                            base += f.width
                        }
                        start = end
                    }
                }
            }
        }
        return Matrix(rows: n, cols: width, values: values)
    }

    private static func unseen(_ f: FeatureTransform, _ text: String, row i: Int) -> MLError {
        MLError(.unseenCategory, "column '\(f.name)', row \(i + 1): category '\(text)' was not seen in training (known: \(f.categories.prefix(10).joined(separator: ", "))\(f.categories.count > 10 ? ", …" : "")); retrain with data that includes it or map it to a known category")
    }
}

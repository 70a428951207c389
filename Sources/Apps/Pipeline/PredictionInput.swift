import AerieCore
import AerieML

/// Turns a predict body `{"rows": [{"<column>": value, …}, …]}` into a table for the model, checking every row
/// against the model's schema; each error names the field as a JSON pointer (`/rows/0/petal_length`).
enum PredictionInput {
    static func table(from body: JSONValue, model: TabularModel, maxRows: Int) throws -> DataTable {
        guard case .object(let object) = body else {
            throw AerieError.invalid("The body must be a JSON object {\"rows\": [{\"<column>\": value, …}]}.", field: "/")
        }
        if let extra = object.keys.sorted().first(where: { $0 != "rows" }) {
            throw AerieError.invalid("Unknown field \"\(extra)\"; the body holds only \"rows\".", field: "/\(pointerEscape(extra))")
        }
        guard case .array(let rows)? = object["rows"] else {
            throw AerieError.invalid("\"rows\" must be an array of objects, one per row to predict.", field: "/rows")
        }
        guard !rows.isEmpty else {
            throw AerieError.invalid("\"rows\" is empty; send at least one row.", field: "/rows")
        }
        guard rows.count <= maxRows else {
            throw AerieError.invalid("\"rows\" holds \(rows.count) rows; send at most \(maxRows) per request.", field: "/rows")
        }
        let features = model.metadata.preprocessor.features
        let known = Set(features.map(\.name))
        var numeric = [[Double]](repeating: [], count: features.count)
        var codes = [[Int32]](repeating: [], count: features.count)
        for (index, row) in rows.enumerated() {
            guard case .object(let fields) = row else {
                throw AerieError.invalid("Row \(index) must be an object of column values.", field: "/rows/\(index)")
            }
            if let extra = fields.keys.sorted().first(where: { !known.contains($0) && $0 != model.metadata.target }) {
                throw AerieError.invalid("Row \(index) has a column \"\(extra)\" the model does not know; it takes: \(features.map(\.name).joined(separator: ", ")).",
                                         field: "/rows/\(index)/\(pointerEscape(extra))")
            }
            for (column, feature) in features.enumerated() {
                let field = "/rows/\(index)/\(pointerEscape(feature.name))"
                guard let value = fields[feature.name] else {
                    throw AerieError.invalid("Row \(index) is missing column \"\(feature.name)\".", field: field)
                }
                switch feature.kind {
                case .numeric:
                    let number: Double?
                    switch value {
                    case .number(let n): number = n
                    case .string(let s): number = Double(s.trimmingCharacters(in: .whitespaces))
                    default: number = nil
                    }
                    guard let number, number.isFinite else {
                        throw AerieError.invalid("Column \"\(feature.name)\" of row \(index) must be a number, not \(describe(value)).", field: field)
                    }
                    numeric[column].append(number)
                case .categorical:
                    let text: String
                    switch value {
                    case .string(let s): text = s.trimmingCharacters(in: .whitespaces)
                    case .number(let n): text = n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
                    default:
                        throw AerieError.invalid("Column \"\(feature.name)\" of row \(index) must be one of its categories (a string), not \(describe(value)).", field: field)
                    }
                    guard let code = feature.categories.firstIndex(of: text) else {
                        let shown = feature.categories.prefix(20).joined(separator: ", ")
                        throw AerieError.invalid("Column \"\(feature.name)\" of row \(index) has the category \"\(text)\", which training never saw; use one of: \(shown)\(feature.categories.count > 20 ? ", …" : "").", field: field)
                    }
                    codes[column].append(Int32(code))
                }
            }
        }
        return DataTable(columns: features.enumerated().map { column, feature in
            Column(name: feature.name, values: feature.kind == .numeric
                   ? .numeric(numeric[column]) : .categorical(codes: codes[column], levels: feature.categories))
        })
    }

    static func pointerEscape(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "the boolean \(b)"
        case .number(let n): "the number \(n)"
        case .string(let s): "the text \"\(s.prefix(40))\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Loaded models by object key (versioned keys never change content), so predictions do not reload the file.
actor ModelCache {
    private var models: [String: TabularModel] = [:]
    private var order: [String] = []
    let capacity: Int

    init(capacity: Int = 16) {
        self.capacity = capacity
    }

    func model(key: String, objects: any ObjectStore) async throws -> TabularModel {
        if let model = models[key] { return model }
        let data = try await objects.get(bucket: PipelineKeys.bucket, key: key, range: nil).body
        let model: TabularModel
        do {
            model = try TabularModel.decode([UInt8](data), source: key)
        } catch let error as MLError {
            throw AerieError(.unavailable, "The model file \(key) cannot be loaded: \(error.message)")
        }
        if models[key] == nil {
            models[key] = model
            order.append(key)
            if order.count > capacity { models[order.removeFirst()] = nil }
        }
        return model
    }

    func forget(prefix: String) {
        for key in order where key.hasPrefix(prefix) { models[key] = nil }
        order.removeAll { $0.hasPrefix(prefix) }
    }
}

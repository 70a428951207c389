/// The values of one column: numbers (missing is NaN) or categories (missing is -1).
public enum ColumnValues: Sendable, Equatable {
    case numeric([Double])
    case categorical(codes: [Int32], levels: [String])

    public var count: Int {
        switch self {
        case .numeric(let v): v.count
        case .categorical(let codes, _): codes.count
        }
    }

    public var isNumeric: Bool {
        if case .numeric = self { return true }
        return false
    }

    public func isMissing(_ row: Int) -> Bool {
        switch self {
        case .numeric(let v): v[row].isNaN
        case .categorical(let codes, _): codes[row] < 0
        }
    }

    /// The value at `row` as text (`nil` when missing).
    public func text(_ row: Int) -> String? {
        switch self {
        case .numeric(let v): v[row].isNaN ? nil : ColumnValues.format(v[row])
        case .categorical(let codes, let levels): codes[row] < 0 ? nil : levels[Int(codes[row])]
        }
    }

    /// Numbers as written by people: integral values without a fractional part.
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    func selecting(_ rows: [Int]) -> ColumnValues {
        switch self {
        case .numeric(let v): .numeric(rows.map { v[$0] })
        case .categorical(let codes, let levels): .categorical(codes: rows.map { codes[$0] }, levels: levels)
        }
    }
}

/// A named column.
public struct Column: Sendable, Equatable {
    public var name: String
    public var values: ColumnValues

    public init(name: String, values: ColumnValues) {
        self.name = name
        self.values = values
    }
}

/// A column-oriented table read from CSV, with per-column type inference.
///
/// A column is numeric when every non-missing value parses as a number, otherwise categorical.
/// Categorical values are stored once per distinct value plus a 32-bit code per row, so memory
/// follows the data, not the text. Missing markers: empty, `NA`, `NaN`, `?`, `null` (any case).
public struct DataTable: Sendable, Equatable {
    public var columns: [Column]

    public init(columns: [Column]) {
        self.columns = columns
    }

    public var rowCount: Int { columns.first?.values.count ?? 0 }
    public var columnNames: [String] { columns.map(\.name) }

    public func column(named name: String) -> Column? {
        columns.first { $0.name == name }
    }

    public func selecting(rows: [Int]) -> DataTable {
        DataTable(columns: columns.map { Column(name: $0.name, values: $0.values.selecting(rows)) })
    }

    /// Tokens treated as a missing value (compared case-insensitively, after trimming spaces).
    public static let missingMarkers: Set<String> = ["", "na", "nan", "?", "null", "n/a", "none"]

    static func isMissingToken(_ s: Substring) -> Bool {
        s.count <= 4 && missingMarkers.contains(s.lowercased())
    }

    /// Reads a CSV file with a header row.
    /// - Parameter categorical: columns to keep as categories even when every value is numeric.
    public static func read(path: String, categorical: Set<String> = []) throws -> DataTable {
        var builder = Builder(categorical: categorical)
        try CSVReader().read(path: path) { try builder.add($0, line: $1) }
        return try builder.finish(source: path)
    }

    /// Parses CSV text with a header row.
    public static func parse(csv text: String, categorical: Set<String> = []) throws -> DataTable {
        var builder = Builder(categorical: categorical)
        try CSVReader().read(text: text) { try builder.add($0, line: $1) }
        return try builder.finish(source: "the CSV text")
    }

    struct Builder {
        let categorical: Set<String>
        var names: [String] = []
        var columns: [ColumnBuilder] = []

        init(categorical: Set<String>) {
            self.categorical = categorical
        }

        mutating func add(_ record: [String], line: Int) throws {
            if names.isEmpty {
                names = record.map { $0.trimmingSpaces() }
                var seen = Set<String>()
                for (i, n) in names.enumerated() {
                    if n.isEmpty {
                        throw MLError(.csv, "header column \(i + 1) has no name; give every column a name in the first row")
                    }
                    if !seen.insert(n).inserted {
                        throw MLError(.csv, "header names column '\(n)' twice; column names must be unique")
                    }
                }
                columns = names.map { ColumnBuilder(forceCategorical: categorical.contains($0)) }
                return
            }
            guard record.count == names.count else {
                throw MLError(.csv, "line \(line): \(record.count) fields where the header has \(names.count); quote fields that contain commas or line breaks")
            }
            for i in 0..<record.count { columns[i].append(record[i]) }
        }

        func finish(source: String) throws -> DataTable {
            guard !names.isEmpty else {
                throw MLError(.emptyData, "\(source) is empty; it needs a header row and at least one data row")
            }
            return DataTable(columns: zip(names, columns).map { Column(name: $0, values: $1.values) })
        }
    }

    /// Accumulates one column, numeric until a value is not a number.
    struct ColumnBuilder {
        var numeric: Bool
        var doubles: [Double] = []
        var codes: [Int32] = []
        var levels: [String] = []
        var levelIndex: [String: Int32] = [:]

        init(forceCategorical: Bool) {
            numeric = !forceCategorical
        }

        mutating func append(_ raw: String) {
            let s = raw.trimmingSpaces()
            if DataTable.isMissingToken(Substring(s)) {
                if numeric { doubles.append(.nan) } else { codes.append(-1) }
                return
            }
            if numeric {
                if let v = Double(s), v.isFinite {
                    doubles.append(v)
                    return
                }
                convertToCategorical()
            }
            codes.append(intern(s))
        }

        mutating func intern(_ s: String) -> Int32 {
            if let c = levelIndex[s] { return c }
            let c = Int32(levels.count)
            levels.append(s)
            levelIndex[s] = c
            return c
        }

        mutating func convertToCategorical() {
            numeric = false
            codes.reserveCapacity(doubles.count)
            for v in doubles { codes.append(v.isNaN ? -1 : intern(ColumnValues.format(v))) }
            doubles = []
        }

        var values: ColumnValues {
            numeric ? .numeric(doubles) : .categorical(codes: codes, levels: levels)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

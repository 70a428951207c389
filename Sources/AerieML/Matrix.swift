/// A dense row-major matrix of doubles.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Double]

    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(values.count == rows * cols, "Matrix values must hold rows × cols entries")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        self.init(rows: rows, cols: cols, values: [Double](repeating: value, count: rows * cols))
    }

    /// Builds a matrix from an array of equally long rows.
    public init(_ rowArrays: [[Double]]) {
        let cols = rowArrays.first?.count ?? 0
        self.init(rows: rowArrays.count, cols: cols, values: rowArrays.flatMap { $0 })
    }

    public subscript(row: Int, col: Int) -> Double {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    public func row(_ r: Int) -> ArraySlice<Double> {
        values[(r * cols)..<((r + 1) * cols)]
    }

    /// The rows at `indices`, in that order.
    public func selecting(rows indices: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * cols)
        for i in indices { out.append(contentsOf: row(i)) }
        return Matrix(rows: indices.count, cols: cols, values: out)
    }
}

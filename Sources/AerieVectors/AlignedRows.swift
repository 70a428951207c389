import Foundation

/// A growable row-major `rows × dimensions` Float32 matrix in one contiguous, page-aligned mapping
/// (what the BLAS kernels of the exact search read), grown without a second copy (``MappedBuffer``).
///
/// A class owned by one ``VectorIndex`` (inside its actor), never shared; it is not `Sendable`.
final class AlignedRows {
    let dimensions: Int
    private let storage = MappedBuffer<Float>()

    init(dimensions: Int) {
        self.dimensions = dimensions
    }

    /// Rows in use.
    var count: Int { storage.count / max(dimensions, 1) }

    var base: UnsafeMutablePointer<Float> { storage.base }

    /// Row `row` (valid until the next mutation).
    func row(_ row: Int) -> UnsafeMutablePointer<Float> { storage.base + row * dimensions }

    func vector(at row: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: self.row(row), count: dimensions))
    }

    /// Makes room for at least `rows` rows.
    func reserve(rows: Int) {
        storage.reserve(rows * dimensions)
    }

    func append(_ vector: [Float]) {
        copy(vector, into: storage.append(repeating: 0, count: dimensions) / dimensions)
    }

    func replace(row index: Int, with vector: [Float]) {
        copy(vector, into: index)
    }

    private func copy(_ vector: [Float], into index: Int) {
        let destination = row(index)
        for k in 0..<min(dimensions, vector.count) { destination[k] = vector[k] }
    }

    /// Moves the last row into `index` and drops the last row.
    func removeMovingLast(_ index: Int) {
        let last = count - 1
        if index != last { row(index).update(from: row(last), count: dimensions) }
        storage.removeLast(dimensions)
    }
}

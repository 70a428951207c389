import Foundation

/// A growable row-major `rows × dimensions` Float32 matrix in one contiguous, 64-byte aligned allocation
/// (what the BLAS kernels of the exact search read), with room to grow by doubling.
///
/// A class owned by one ``VectorIndex`` (inside its actor), never shared; it is not `Sendable`.
final class AlignedRows {
    let dimensions: Int
    private(set) var count = 0
    private var capacity = 0
    private(set) var base: UnsafeMutablePointer<Float>

    static let alignment = 64

    init(dimensions: Int) {
        self.dimensions = dimensions
        base = Self.allocate(floats: max(dimensions, 1))
    }

    deinit {
        free(base)
    }

    private static func allocate(floats: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, alignment, max(floats, 1) * MemoryLayout<Float>.stride)
        guard status == 0, let raw else {
            fatalError("Out of memory allocating \(floats * 4) bytes for vectors")
        }
        return raw.bindMemory(to: Float.self, capacity: floats)
    }

    /// Row `row` (valid until the next mutation).
    func row(_ row: Int) -> UnsafeMutablePointer<Float> { base + row * dimensions }

    func vector(at row: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: self.row(row), count: dimensions))
    }

    /// Makes room for at least `rows` rows, growing by at least half so repeated small reservations stay linear.
    func reserve(rows: Int) {
        guard rows > capacity else { return }
        let rows = capacity == 0 ? rows : max(rows, capacity + capacity / 2)
        let newBase = Self.allocate(floats: rows * dimensions)
        if count > 0 { newBase.update(from: base, count: count * dimensions) }
        free(base)
        base = newBase
        capacity = rows
    }

    func append(_ vector: [Float]) {
        if count == capacity { reserve(rows: max(16, capacity * 2)) }
        copy(vector, into: count)
        count += 1
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
        count -= 1
    }
}

import CAerieKernels

/// Small SIMD kernels shared by the exact and approximate searches.
enum VectorKernels {
    /// The inner product of two vectors: the C kernel (AVX2 + FMA where the CPU has them, chosen at run
    /// time), which beats Swift's SIMD types compiled for baseline x86-64 (SSE2). For one vector against
    /// many this also beats OpenBLAS's sgemv, and a BLAS call per pair (HNSW) costs more than the arithmetic.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        aerie_dot_f32(a, b, count)
    }

    /// The inner products of `query` with the rows `rows[0..<count]` of the matrix at `base`, into `scores`:
    /// four rows at a time with the next four prefetched, so scattered rows' cache misses overlap.
    @inline(__always)
    static func dots(
        _ query: UnsafePointer<Float>, rows: UnsafePointer<Int32>, count: Int, of base: UnsafePointer<Float>, dimensions: Int,
        into scores: UnsafeMutablePointer<Float>
    ) {
        aerie_dot_rows_f32(query, base, dimensions, rows, count, scores)
    }

    /// Hints the CPU to start loading the first cache lines of the vector at `address`.
    @inline(__always)
    static func prefetch<T>(_ address: UnsafePointer<T>, lines: Int32 = 4) {
        aerie_prefetch(address, lines)
    }

}

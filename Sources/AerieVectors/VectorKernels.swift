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

    /// Hints the CPU to start loading the first cache lines of the vector at `address`.
    @inline(__always)
    static func prefetch(_ address: UnsafePointer<Float>, lines: Int32 = 4) {
        aerie_prefetch(address, lines)
    }

}

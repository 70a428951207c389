#ifndef C_AERIE_KERNELS_H
#define C_AERIE_KERNELS_H

/// The inner product of two float vectors of `count` elements, on the widest vector unit the CPU has
/// (AVX2 + FMA when present, chosen once at run time; a portable loop otherwise). Swift's own SIMD types
/// compile for the baseline x86-64 target (SSE2), a quarter of an AVX2 FMA's width.
float aerie_dot_f32(const float *a, const float *b, long count);

/// Asks the CPU to start loading the first `lines` 64-byte cache lines from `address` (a hint; no fault).
static inline void aerie_prefetch(const void *address, int lines) {
    const char *p = (const char *)address;
    for (int i = 0; i < lines; i++) __builtin_prefetch(p + 64 * i, 0, 3);
}

#endif

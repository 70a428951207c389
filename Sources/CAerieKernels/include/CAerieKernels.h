#ifndef C_AERIE_KERNELS_H
#define C_AERIE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The inner product of two float vectors of `count` elements, on the widest vector unit the CPU has
/// (AVX2 + FMA when present, chosen once at run time; a portable loop otherwise). Swift's own SIMD types
/// compile for the baseline x86-64 target (SSE2), a quarter of an AVX2 FMA's width.
float aerie_dot_f32(const float *a, const float *b, long count);

/// The inner products of `query` with the rows `rows[0..<count]` of the row-major matrix at `base`
/// (`dimensions` floats a row), into `out`. Four rows at a time (the query loaded once for four rows),
/// starting the next four's loads while it computes, so the cache misses of scattered rows (a graph
/// search's neighbours) overlap.
void aerie_dot_rows_f32(const float *query, const float *base, long dimensions, const int32_t *rows, long count, float *out);

/// Asks the CPU to start loading the first `lines` 64-byte cache lines from `address` (a hint; no fault).
static inline void aerie_prefetch(const void *address, int lines) {
    const char *p = (const char *)address;
    for (int i = 0; i < lines; i++) __builtin_prefetch(p + 64 * i, 0, 3);
}

/// Anonymous page-aligned memory of `bytes` (zero-filled, resident only once touched); NULL when refused.
void *aerie_map_memory(size_t bytes);

/// Grows (or shrinks) a mapping from `aerie_map_memory`, keeping its contents. On Linux the pages are
/// moved (mremap), not copied, so growing a large buffer never holds two copies; NULL when refused
/// (the old mapping is then still valid).
void *aerie_remap_memory(void *address, size_t oldBytes, size_t newBytes);

/// Returns a mapping from `aerie_map_memory` / `aerie_remap_memory`.
void aerie_unmap_memory(void *address, size_t bytes);

#endif

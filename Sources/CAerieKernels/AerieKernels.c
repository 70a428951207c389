#define _GNU_SOURCE
#include "CAerieKernels.h"

#include <stdint.h>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static inline float hsum_avx2(__m256 s) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, long count) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    long k = 0;
    for (; k + 32 <= count; k += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 16), _mm256_loadu_ps(b + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 24), _mm256_loadu_ps(b + k + 24), s3);
    }
    for (; k + 8 <= count; k += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
    float sum = hsum_avx2(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; k < count; k++) sum += a[k] * b[k];
    return sum;
}

/// Four rows against the query at once: the query is loaded once per eight floats, and the four rows'
/// cache misses overlap instead of following one another.
__attribute__((target("avx2,fma")))
static void dot4_avx2(const float *q, const float *r0, const float *r1, const float *r2, const float *r3, long count, float *out) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    long k = 0;
    for (; k + 8 <= count; k += 8) {
        __m256 x = _mm256_loadu_ps(q + k);
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + k), x, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + k), x, s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + k), x, s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + k), x, s3);
    }
    float t0 = hsum_avx2(s0), t1 = hsum_avx2(s1), t2 = hsum_avx2(s2), t3 = hsum_avx2(s3);
    for (; k < count; k++) {
        t0 += q[k] * r0[k];
        t1 += q[k] * r1[k];
        t2 += q[k] * r2[k];
        t3 += q[k] * r3[k];
    }
    out[0] = t0;
    out[1] = t1;
    out[2] = t2;
    out[3] = t3;
}
#endif

static float dot_portable(const float *a, const float *b, long count) {
    float s[8] = {0};
    long k = 0;
    for (; k + 8 <= count; k += 8)
        for (int j = 0; j < 8; j++) s[j] += a[k + j] * b[k + j];
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; k < count; k++) sum += a[k] * b[k];
    return sum;
}

static void dot4_portable(const float *q, const float *r0, const float *r1, const float *r2, const float *r3, long count, float *out) {
    out[0] = dot_portable(q, r0, count);
    out[1] = dot_portable(q, r1, count);
    out[2] = dot_portable(q, r2, count);
    out[3] = dot_portable(q, r3, count);
}

typedef float (*dot_fn)(const float *, const float *, long);
typedef void (*dot4_fn)(const float *, const float *, const float *, const float *, const float *, long, float *);

static dot_fn dot_impl = dot_portable;
static dot4_fn dot4_impl = dot4_portable;

/// Picks the kernels once, when the program is loaded: AVX2 + FMA where the CPU has them.
__attribute__((constructor)) static void choose_kernels(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        dot_impl = dot_avx2;
        dot4_impl = dot4_avx2;
    }
#endif
}

float aerie_dot_f32(const float *a, const float *b, long count) {
    return dot_impl(a, b, count);
}

void aerie_dot_rows_f32(const float *query, const float *base, long dimensions, const int32_t *rows, long count, float *out) {
    // The start of the next group's rows (the hardware prefetcher follows each row once started); the
    // caller started the first group's while gathering them. Prefetching whole rows measured no better.
    int lines = (int)((dimensions * (long)sizeof(float) + 63) / 64);
    if (lines > 4) lines = 4;
    long i = 0;
    for (; i + 4 <= count; i += 4) {
        for (long j = i + 4; j < i + 8 && j < count; j++) aerie_prefetch(base + (long)rows[j] * dimensions, lines);
        dot4_impl(query, base + (long)rows[i] * dimensions, base + (long)rows[i + 1] * dimensions,
           base + (long)rows[i + 2] * dimensions, base + (long)rows[i + 3] * dimensions, dimensions, out + i);
    }
    for (; i < count; i++) out[i] = dot_impl(query, base + (long)rows[i] * dimensions, dimensions);
}

void *aerie_map_memory(size_t bytes) {
    void *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 0 : p;
}

void *aerie_remap_memory(void *address, size_t oldBytes, size_t newBytes) {
#if defined(__linux__)
    void *p = mremap(address, oldBytes, newBytes, MREMAP_MAYMOVE);
    return p == MAP_FAILED ? 0 : p;
#else
    void *p = aerie_map_memory(newBytes);
    if (!p) return 0;
    __builtin_memcpy(p, address, oldBytes < newBytes ? oldBytes : newBytes);
    munmap(address, oldBytes);
    return p;
#endif
}

void aerie_unmap_memory(void *address, size_t bytes) {
    if (address) munmap(address, bytes);
}

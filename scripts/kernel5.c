/*
 * The five-token kernel's instruction mix (PackedKernels.kernel5: per k-step two panel loads,
 * five broadcasts, ten FMAs) written with AVX2 intrinsics, on one thread with its operands in
 * L1, beside a register-only FMA loop: what the core gives this loop when no JIT is involved.
 * Built and alternated with scripts/Kernel5Alone.java by scripts/kernel-vs-c.
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((noinline)) static void kernel5(const float *x, const float *pk, int kc, float *tile) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00;
    for (int k = 0; k < kc; k++, x += 5, pk += 16) {
        __m256 b0 = _mm256_load_ps(pk), b1 = _mm256_load_ps(pk + 8);
        __m256 a = _mm256_broadcast_ss(x);
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(x + 1);
        c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(x + 2);
        c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(x + 3);
        c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(x + 4);
        c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    }
    __m256 *t = (__m256 *) tile;
    t[0] = c00; t[1] = c01; t[2] = c10; t[3] = c11; t[4] = c20;
    t[5] = c21; t[6] = c30; t[7] = c31; t[8] = c40; t[9] = c41;
}

/* Ten independent FMA chains on registers only, as the bench's FMA loop. */
__attribute__((noinline)) static float fmaLoop(long iters) {
    __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    __m256 c0 = _mm256_set1_ps(1), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
    for (long i = 0; i < iters; i++) {
        c0 = _mm256_fmadd_ps(m, a, c0); c1 = _mm256_fmadd_ps(m, a, c1); c2 = _mm256_fmadd_ps(m, a, c2);
        c3 = _mm256_fmadd_ps(m, a, c3); c4 = _mm256_fmadd_ps(m, a, c4); c5 = _mm256_fmadd_ps(m, a, c5);
        c6 = _mm256_fmadd_ps(m, a, c6); c7 = _mm256_fmadd_ps(m, a, c7); c8 = _mm256_fmadd_ps(m, a, c8);
        c9 = _mm256_fmadd_ps(m, a, c9);
        /* Keeps gcc from folding the chains into fewer instructions (without it: 125 GFLOP/s on one core). */
        __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5), "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(_mm256_add_ps(c6, c7), _mm256_add_ps(c8, c9))));
    float o[8];
    _mm256_storeu_ps(o, s);
    return o[0];
}

int main(int argc, char **argv) {
    int kc = argc > 1 ? atoi(argv[1]) : 256;
    float *pk = aligned_alloc(64, kc * 16 * 4), *x = aligned_alloc(64, (kc * 5 + 16) * 4);
    float *tile = aligned_alloc(64, 80 * 4);
    for (int i = 0; i < kc * 16; i++) pk[i] = (i % 7) * 0.01f;
    for (int i = 0; i < kc * 5; i++) x[i] = (i % 11) * 0.1f;
    double t0 = now();
    long calls = 0;
    while (now() - t0 < 0.5) {
        for (int r = 0; r < 1000; r++) kernel5(x, pk, kc, tile);
        calls += 1000;
    }
    double kernel = calls * 10.0 * kc * 16 / (now() - t0) / 1e9;
    t0 = now();
    float s = fmaLoop(50000000);
    double loop = 50000000.0 * 10 * 16 / (now() - t0) / 1e9;
    printf("C     kernel5 %5.1f GFLOP/s, FMA loop %5.1f (%.2f)%s\n", kernel, loop, kernel / loop, s + tile[0] > 0 ? "" : " ");
    return 0;
}

/* Private: run-time choice of the instruction set for the hot kernels.
 *
 * HNNI_CLONES compiles a function once per target (AVX-512, AVX2, baseline x86-64) and picks
 * the best the CPU has when the library loads (GCC's target_clones, an ifunc on glibc). The
 * default build stays portable (no -march=native) yet uses wide vectors where they exist.
 * Because the library is built with -ffp-contract=off, no clone fuses a multiply and an add,
 * so every clone computes the same bits. Define HNN_NO_DISPATCH to build only the baseline. */
#ifndef HNN_LIB_DISPATCH_H
#define HNN_LIB_DISPATCH_H

/* Not under ThreadSanitizer: its runtime is not ready when the loader runs the ifunc
 * resolvers, and the program crashes at start-up. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(HNN_NO_DISPATCH) && !defined(__SANITIZE_THREAD__)
#define HNNI_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HNNI_CLONES
#endif

#endif

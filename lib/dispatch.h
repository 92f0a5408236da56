/* Private: run-time choice of the instruction set for the hot kernels.
 *
 * HNNI_CLONES compiles a function once per target (x86-64-v4: AVX-512; x86-64-v3: AVX2 and
 * FMA; baseline x86-64) and picks the best the CPU has when the library loads (GCC's
 * target_clones, an ifunc on glibc). The default build stays portable (no -march=native) yet
 * uses wide vectors and fused multiply-add instructions where they exist. Every clone computes
 * the same bits: the library is built with -ffp-contract=off, and the kernels that fuse call
 * fma() explicitly, which is correctly rounded on every target. Define HNN_NO_DISPATCH to
 * build only the baseline. */
#ifndef HNN_LIB_DISPATCH_H
#define HNN_LIB_DISPATCH_H

/* Not under ThreadSanitizer: its runtime is not ready when the loader runs the ifunc
 * resolvers, and the program crashes at start-up. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(HNN_NO_DISPATCH) && !defined(__SANITIZE_THREAD__)
#define HNNI_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HNNI_CLONES
#endif

/* For a helper whose fma() calls must become instructions inside each clone: GCC expands a
 * builtin in the function it ends up in, so the helper must be inlined into the clone (left
 * out of line, it is compiled for the baseline and calls libm's software fma). */
#if defined(__GNUC__)
#define HNNI_INLINE_IN_CLONES __attribute__((always_inline)) inline
#else
#define HNNI_INLINE_IN_CLONES inline
#endif

#endif

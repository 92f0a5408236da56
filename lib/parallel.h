/* Private: optional multi-threading of row loops (CMake option HNN_OPENMP).
 *
 * Every kernel computes each output row by itself (a product element's sum, a tanh, an
 * adjoint), so splitting rows across threads changes no bit: results are identical whatever
 * the thread count, with or without OpenMP. The threads are OpenMP's: as many as the calling
 * thread's OpenMP setting allows (OMP_NUM_THREADS, or omp_set_num_threads() on that thread).
 * Small work stays on the calling thread, and so does work called from inside an OpenMP
 * parallel region (no nested teams). */
#ifndef HNN_LIB_PARALLEL_H
#define HNN_LIB_PARALLEL_H

#include <stddef.h>

/* Work (in multiply-adds or so) below which a loop is not worth splitting: about 20
 * microseconds on one core. A fork and join costs only 1-2 microseconds, but the threads then
 * trade the cache lines the other wrote; at width 32 (a layer's product over a chunk is
 * 200,000 multiply-adds) splitting made batches and training slower on the development
 * machine, from width 64 up it helps (examples/bench --threads 2). */
#define HNNI_PARALLEL_MIN_WORK ((double)(1 << 19))

typedef void (*hnni_rows_fn)(void *ctx, size_t begin, size_t end);

/* Calls fn(ctx, begin, end) on contiguous slices covering [0, rows), one per thread, each
 * starting at a multiple of `align` (>= 1); with one slice [0, rows) when the work is small,
 * OpenMP is off, or one thread is allowed. */
void hnni_for_rows(size_t rows, size_t align, double work, hnni_rows_fn fn, void *ctx);

/* The number of threads hnni_for_rows may use from the calling thread. */
int hnni_max_threads(void);

#endif

/* Row loops across OpenMP threads, when the library is built with HNN_OPENMP. */
#include "parallel.h"

#include "hnn/core.h"

#ifdef HNN_OPENMP
#include <omp.h>
#endif

int hnni_max_threads(void)
{
#ifdef HNN_OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

void hnni_for_rows(size_t rows, size_t align, double work, hnni_rows_fn fn, void *ctx)
{
#ifdef HNN_OPENMP
    if (work >= HNNI_PARALLEL_MIN_WORK && rows >= 2 * align && hnni_max_threads() > 1) {
        const size_t blocks = (rows + align - 1) / align;
#pragma omp parallel
        {
            /* thread t takes blocks [blocks t / T, blocks (t + 1) / T): a static split, so the
             * same slices every call (not that the bits would care) */
            const size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
            const size_t b0 = blocks * t / T, b1 = blocks * (t + 1) / T;
            const size_t r0 = b0 * align, r1 = b1 * align < rows ? b1 * align : rows;
            if (r0 < r1)
                fn(ctx, r0, r1);
        }
        return;
    }
#else
    (void)align;
    (void)work;
#endif
    fn(ctx, 0, rows);
}

int hnn_max_threads(void)
{
    return hnni_max_threads();
}

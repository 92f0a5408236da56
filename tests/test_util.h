/* Shared helpers for the cmocka tests: cmocka's includes, a tiny RNG, a counting
 * allocator, and finite-difference checks. Header-only so each test stays one file. */
#ifndef HNN_TEST_UTIL_H
#define HNN_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hnn/hnn.h>

/* ---- deterministic test randomness (independent of the library's own RNG) ---------- */

typedef struct test_rng {
    uint64_t state;
} test_rng;

static inline double test_uniform(test_rng *r, double lo, double hi)
{
    /* xorshift64*: plenty for picking test points */
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return lo + (hi - lo) * ((double)((x * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53);
}

static inline void test_fill(test_rng *r, double *v, size_t count, double lo, double hi)
{
    size_t i;
    for (i = 0; i < count; i++)
        v[i] = test_uniform(r, lo, hi);
}

/* ---- a counting allocator, optionally failing after a budget of allocations ---------- */

typedef struct test_counter {
    long allocs;       /* blocks handed out */
    long frees;        /* blocks returned */
    long live_bytes;   /* bytes currently held */
    long fail_after;   /* refuse the allocation after this many (-1: never) */
    long peak_bytes;   /* the most held at once */
} test_counter;

static inline void *test_counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    test_counter *c = (test_counter *)user;
    if (new_size == 0) {
        if (ptr != NULL) {
            c->frees++;
            c->live_bytes -= (long)old_size;
        }
        free(ptr);
        return NULL;
    }
    if (c->fail_after >= 0 && c->allocs >= c->fail_after)
        return NULL;
    ptr = realloc(ptr, new_size);
    if (ptr != NULL) {
        if (old_size == 0)
            c->allocs++;
        c->live_bytes += (long)new_size - (long)old_size;
        if (c->live_bytes > c->peak_bytes)
            c->peak_bytes = c->live_bytes;
    }
    return ptr;
}

static inline hnn_allocator test_allocator(test_counter *c)
{
    hnn_allocator a;
    a.fn = test_counting_alloc;
    a.user = c;
    return a;
}

/* ---- nets ----------------------------------------------------------------------------- */

/* A net of the given shape, created or the test fails. */
static inline hnn_net *test_make_net(hnn_net_kind kind, size_t dof, size_t depth,
                                     const size_t *widths, uint64_t seed)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    size_t l;
    def.kind = kind;
    def.dof = dof;
    def.depth = depth;
    for (l = 0; l < depth; l++)
        def.widths[l] = widths[l];
    def.seed = seed;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_non_null(net);
    return net;
}

/* Trains `net` (n = 1) on 512 states of a test system (400 Adam steps, batch 128, lr 1e-2):
 * a model as a user has it, whose learned equilibrium is near, not at, the true one. */
static inline void test_train_on(hnn_net *net, hnn_system sys)
{
    hnn_system_data_def dd = hnn_system_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_dataset *data = NULL;
    hnn_optimizer *opt = NULL;
    dd.system = sys;
    dd.count = 512;
    dd.q_max = dd.p_max = 1.5;
    od.lr = 1e-2;
    td.steps = 400;
    td.batch_size = 128;
    assert_int_equal(hnn_dataset_system(&dd, &data, NULL), HNN_OK);
    assert_int_equal(hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, NULL), HNN_OK);
    assert_int_equal(hnn_train(net, opt, data, NULL, &td, NULL, NULL), HNN_OK);
    hnn_optimizer_destroy(opt);
    hnn_dataset_destroy(data);
}

/* A Hamiltonian net (n = 1, 2 x 16) trained on 512 states of a test system. */
static inline hnn_net *test_trained_net(hnn_system sys)
{
    const size_t widths[2] = {16, 16};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 3);
    test_train_on(net, sys);
    return net;
}

/* 1 if every value is finite. */
static inline int test_all_finite(const double *v, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* ---- norms ---------------------------------------------------------------------------- */

/* The helpers below see NaN: a NaN anywhere makes them NaN, so a check written
 * `assert_true(x <= tol)` or `if (!(x <= tol)) fail()` fails on it (`x > tol` would not). */

/* The larger of a running worst and a new value, NaN if either is. */
static inline double test_worse(double worst, double value)
{
    if (isnan(worst) || isnan(value))
        return NAN;
    return value > worst ? value : worst;
}

static inline double test_max_abs(const double *v, size_t count)
{
    double m = 0.0;
    size_t i;
    for (i = 0; i < count; i++)
        m = test_worse(m, fabs(v[i]));
    return m;
}

/* max_i |a_i - b_i| / max_i |b_i| (b the trusted side); NaN if either holds one. */
static inline double test_rel_err(const double *a, const double *b, size_t count)
{
    double num = 0.0, den = test_max_abs(b, count);
    size_t i;
    for (i = 0; i < count; i++)
        num = test_worse(num, fabs(a[i] - b[i]));
    if (isnan(num) || isnan(den))
        return NAN;
    return den > 0.0 ? num / den : num;
}

#define TEST_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif

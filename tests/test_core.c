/* Tests for the core room: status strings, error reports and the version query. */
#include "test_util.h"

#include <stdio.h>

static void test_status_strings_are_distinct_and_never_null(void **state)
{
    const hnn_status all[] = {HNN_OK, HNN_ERR_NULL, HNN_ERR_INVALID_ARG, HNN_ERR_NO_MEMORY,
                              HNN_ERR_TOO_LARGE, HNN_ERR_NONFINITE, HNN_ERR_WRONG_KIND,
                              HNN_ERR_SIZE_MISMATCH, HNN_ERR_IO, HNN_ERR_PARSE,
                              HNN_ERR_NO_CONVERGENCE, HNN_ERR_STOPPED, HNN_ERR_TRUNCATED,
                              HNN_ERR_BAD_MAGIC, HNN_ERR_VERSION, HNN_ERR_CHECKSUM,
                              HNN_ERR_CORRUPT};
    size_t i, j;
    (void)state;
    for (i = 0; i < TEST_COUNT(all); i++) {
        const char *s = hnn_status_string(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, hnn_status_string((hnn_status)9999));
        for (j = 0; j < i; j++)
            assert_string_not_equal(s, hnn_status_string(all[j]));
    }
    assert_string_equal(hnn_status_string((hnn_status)-3), "unknown status");
}

/* The numbers are part of the ABI: pin them. */
static void test_status_values_are_pinned(void **state)
{
    (void)state;
    assert_int_equal(HNN_OK, 0);
    assert_int_equal(HNN_ERR_NULL, 1);
    assert_int_equal(HNN_ERR_INVALID_ARG, 2);
    assert_int_equal(HNN_ERR_NO_MEMORY, 3);
    assert_int_equal(HNN_ERR_TOO_LARGE, 4);
    assert_int_equal(HNN_ERR_NONFINITE, 5);
    assert_int_equal(HNN_ERR_WRONG_KIND, 6);
    assert_int_equal(HNN_ERR_SIZE_MISMATCH, 7);
    assert_int_equal(HNN_ERR_IO, 8);
    assert_int_equal(HNN_ERR_PARSE, 9);
    assert_int_equal(HNN_ERR_NO_CONVERGENCE, 10);
    assert_int_equal(HNN_ERR_STOPPED, 11);
    assert_int_equal(HNN_ERR_TRUNCATED, 12);
    assert_int_equal(HNN_ERR_BAD_MAGIC, 13);
    assert_int_equal(HNN_ERR_VERSION, 14);
    assert_int_equal(HNN_ERR_CHECKSUM, 15);
    assert_int_equal(HNN_ERR_CORRUPT, 16);
}

/* Without HNN_OPENMP the library never uses more than the calling thread (tests/
 * test_parallel.c covers the OpenMP build). */
static void test_max_threads(void **state)
{
    (void)state;
#ifdef HNN_TEST_OPENMP
    assert_true(hnn_max_threads() >= 1);
#else
    assert_int_equal(hnn_max_threads(), 1);
#endif
}

static void test_version_matches_header(void **state)
{
    char want[64];
    (void)state;
    snprintf(want, sizeof want, "%d.%d.%d", HNN_VERSION_MAJOR, HNN_VERSION_MINOR,
             HNN_VERSION_PATCH);
    assert_string_equal(hnn_version_string(), want);
    assert_int_equal(hnn_version_number(), HNN_VERSION_NUMBER);
}

/* Constructors fill an hnn_error on failure and clear it on success. */
static void test_error_reports(void **state)
{
    hnn_error err;
    hnn_net *net = NULL;
    hnn_net_def def = hnn_net_def_default();
    (void)state;
    def.dof = 0;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_ERR_INVALID_ARG);
    assert_int_equal(err.status, HNN_ERR_INVALID_ARG);
    assert_true(strlen(err.message) > 0);
    def.dof = 1;
    assert_int_equal(hnn_net_create(&def, &net, &err), HNN_OK);
    assert_int_equal(err.status, HNN_OK);
    assert_string_equal(err.message, "");
    hnn_net_destroy(net);
}

/* hnn_net_def_init writes no more than the size it is given (ABI growth rule). */
static void test_def_init_respects_struct_size(void **state)
{
    unsigned char buf[sizeof(hnn_net_def) + 16];
    size_t i;
    (void)state;
    memset(buf, 0xAB, sizeof buf);
    hnn_net_def_init((hnn_net_def *)(void *)buf, sizeof(hnn_net_def));
    for (i = sizeof(hnn_net_def); i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xAB);
    hnn_net_def_init(NULL, sizeof(hnn_net_def)); /* harmless */
}

/* A def from an older, smaller header is read up to its struct_size; the rest keeps the
 * library's defaults (the bytes beyond are never touched: here they are poison). A def from a
 * newer, larger header is refused. */
static void test_older_smaller_defs_are_accepted(void **state)
{
    union {
        hnn_net_def def;
        unsigned char bytes[sizeof(hnn_net_def)];
    } u;
    hnn_net *net = NULL;
    hnn_error err;
    (void)state;
    memset(u.bytes, 0xFF, sizeof u.bytes);
    hnn_net_def_init(&u.def, offsetof(hnn_net_def, allocator));
    assert_int_equal(u.def.struct_size, offsetof(hnn_net_def, allocator));
    assert_int_equal(hnn_net_create(&u.def, &net, &err), HNN_OK);
    assert_int_equal(hnn_net_dof(net), 1);
    hnn_net_destroy(net);
    u.def = hnn_net_def_default();
    u.def.struct_size = sizeof(hnn_net_def) + 8;
    assert_int_equal(hnn_net_create(&u.def, &net, &err), HNN_ERR_INVALID_ARG);
    u.def.struct_size = 2;
    assert_int_equal(hnn_net_create(&u.def, &net, &err), HNN_ERR_INVALID_ARG);
}

/* The comparison helpers every finite-difference check is written with see NaN: a NaN on
 * either side makes them NaN, and the usual `<= tol` then fails (they once returned 0). */
static void test_helpers_see_nan(void **state)
{
    const double good[3] = {1.0, -2.0, 3.0}, close[3] = {1.0, -2.0, 3.0 + 1e-12};
    double bad[3] = {1.0, -2.0, 3.0};
    (void)state;
    bad[1] = NAN;
    assert_true(test_max_abs(good, 3) == 3.0);
    assert_true(test_rel_err(close, good, 3) <= 1e-12);
    assert_true(isnan(test_max_abs(bad, 3)));
    assert_true(isnan(test_rel_err(bad, good, 3)));
    assert_true(isnan(test_rel_err(good, bad, 3)));
    assert_false(test_rel_err(bad, good, 3) <= 1e-6);
    assert_true(isnan(test_worse(0.0, NAN)) && isnan(test_worse(NAN, 1.0)));
    assert_true(test_worse(1.0, 2.0) == 2.0 && test_worse(2.0, 1.0) == 2.0);
    assert_false(test_all_finite(bad, 3));
    assert_true(test_all_finite(good, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers_see_nan),
        cmocka_unit_test(test_status_strings_are_distinct_and_never_null),
        cmocka_unit_test(test_status_values_are_pinned),
        cmocka_unit_test(test_version_matches_header),
        cmocka_unit_test(test_max_threads),
        cmocka_unit_test(test_error_reports),
        cmocka_unit_test(test_def_init_respects_struct_size),
        cmocka_unit_test(test_older_smaller_defs_are_accepted),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}

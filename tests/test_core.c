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

/* A def from an older, smaller released header (hnn_net_def ended at the allocator in 0.1, at
 * kinetic_mass in 0.2, at path in 0.3 to 0.5) is read up to its struct_size; the rest keeps the library's defaults
 * (the bytes beyond are never touched: here they are poison). A def from a newer, larger
 * header, or with a struct_size no header ever had, is refused by create and by get_def. */
static void test_older_smaller_defs_are_accepted(void **state)
{
    const size_t released[3] = {offsetof(hnn_net_def, features), offsetof(hnn_net_def, path),
                                offsetof(hnn_net_def, activation)};
    const size_t never[] = {0, 2, 9, 12, 13, 17, 31, 100, 161, 183, 185, 207, 209, 215, 217,
                            223, sizeof(hnn_net_def) + 8};
    union {
        hnn_net_def def;
        unsigned char bytes[sizeof(hnn_net_def)];
    } u;
    hnn_net *net = NULL;
    hnn_error err;
    size_t i, b;
    (void)state;
    for (i = 0; i < 3; i++) {
        memset(u.bytes, 0xFF, sizeof u.bytes);
        hnn_net_def_init(&u.def, released[i]);
        assert_int_equal(u.def.struct_size, released[i]);
        u.def.widths[0] = u.def.widths[1] = 5;
        assert_int_equal(hnn_net_create(&u.def, &net, &err), HNN_OK);
        assert_int_equal(hnn_net_dof(net), 1);
        memset(u.bytes, 0xCD, sizeof u.bytes);
        u.def.struct_size = released[i];
        assert_int_equal(hnn_net_get_def(net, &u.def), HNN_OK);
        assert_int_equal(u.def.widths[1], 5);
        for (b = released[i]; b < sizeof u.bytes; b++)
            assert_int_equal(u.bytes[b], 0xCD);
        hnn_net_destroy(net);
        net = NULL;
    }
    assert_int_equal(hnn_net_create(&(hnn_net_def){0}, &net, NULL), HNN_ERR_INVALID_ARG);
    for (i = 0; i < sizeof never / sizeof never[0]; i++) {
        u.def = hnn_net_def_default();
        u.def.struct_size = never[i];
        assert_int_equal(hnn_net_create(&u.def, &net, &err), HNN_ERR_INVALID_ARG);
        assert_null(net);
        assert_non_null(strstr(err.message, "struct_size"));
    }
    assert_int_equal(hnn_net_create(&(hnn_net_def){.struct_size = sizeof(hnn_net_def)}, &net, NULL),
                     HNN_ERR_INVALID_ARG); /* all zero but the size: dof 0 */
    {
        hnn_net_def def = hnn_net_def_default();
        assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
        for (i = 0; i < sizeof never / sizeof never[0]; i++) {
            memset(u.bytes, 0xCD, sizeof u.bytes);
            u.def.struct_size = never[i];
            assert_int_equal(hnn_net_get_def(net, &u.def), HNN_ERR_INVALID_ARG);
            assert_int_equal(u.bytes[sizeof(size_t)], 0xCD);
        }
        hnn_net_destroy(net);
    }
}

/* Every other def has had one size in every release, its sizeof: any other struct_size (one
 * word short, one byte long) is refused with a message naming the field, before anything is
 * created. The sizes are written literally for each type so that a def that grows without
 * this rule being revisited fails here. */
#define EXPECT_ONE_SIZE(def, call)                                                               \
    do {                                                                                         \
        const size_t full = sizeof(def), odd[3] = {full - 8, full + 1, 9};                       \
        size_t k;                                                                                \
        for (k = 0; k < 3; k++) {                                                                \
            hnn_error e;                                                                         \
            (def).struct_size = odd[k];                                                          \
            assert_int_equal((call), HNN_ERR_INVALID_ARG);                                       \
            assert_non_null(strstr(e.message, "struct_size"));                                   \
        }                                                                                        \
        (def).struct_size = full;                                                                \
    } while (0)

static void test_other_defs_take_only_their_size(void **state)
{
    hnn_optimizer_def opt = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_integrator_def integ = hnn_integrator_def_default();
    hnn_diagnostics_def diag = hnn_diagnostics_def_default();
    hnn_spring_data_def spring = hnn_spring_data_def_default();
    hnn_greydanus_def grey = hnn_greydanus_def_default(HNN_TASK_SPRING);
    hnn_two_body_def two = hnn_two_body_def_default();
    hnn_three_body_def three = hnn_three_body_def_default();
    hnn_system_data_def sys = hnn_system_data_def_default();
    hnn_train_def train = hnn_train_def_default();
    hnn_load_def load = hnn_load_def_default();
    hnn_optimizer *o = NULL;
    hnn_integrator *in = NULL;
    hnn_diagnostics *d = NULL;
    hnn_dataset *a = NULL, *b = NULL;
    hnn_net_def nd = hnn_net_def_default();
    hnn_net *net = NULL, *loaded = NULL;
    hnn_train_result result = {.struct_size = sizeof result};
    (void)state;
    if (sizeof(void *) == 8 && sizeof(size_t) == 8) { /* the released LP64 sizes */
        assert_int_equal(sizeof opt, 104);
        assert_int_equal(sizeof integ, 88);
        assert_int_equal(sizeof diag, 40);
        assert_int_equal(sizeof spring, 64);
        assert_int_equal(sizeof grey, 96);
        assert_int_equal(sizeof two, 88);
        assert_int_equal(sizeof three, 88);
        assert_int_equal(sizeof sys, 64);
        assert_int_equal(sizeof train, 56);
        assert_int_equal(sizeof load, 32);
        assert_int_equal(sizeof(hnn_model_info), 488);
        assert_int_equal(offsetof(hnn_model_info, model_kind), 296); /* 0.4-0.5's size */
        assert_int_equal(sizeof nd, 224);
    }
    EXPECT_ONE_SIZE(opt, hnn_optimizer_create(&opt, 10, &o, &e));
    EXPECT_ONE_SIZE(integ, hnn_integrator_create(&integ, &in, &e));
    EXPECT_ONE_SIZE(diag, hnn_diagnostics_create(&diag, &d, &e));
    EXPECT_ONE_SIZE(spring, hnn_dataset_spring(&spring, &a, &e));
    EXPECT_ONE_SIZE(grey, hnn_dataset_greydanus(&grey, &a, &b, &e));
    EXPECT_ONE_SIZE(two, hnn_dataset_two_body(&two, &a, &b, &e));
    EXPECT_ONE_SIZE(three, hnn_dataset_three_body(&three, &a, &b, &e));
    EXPECT_ONE_SIZE(sys, hnn_dataset_system(&sys, &a, &e));
    EXPECT_ONE_SIZE(load, hnn_model_load_with("/nonexistent.hnn", &load, &loaded, NULL, NULL, &e));
    assert_true(o == NULL && in == NULL && d == NULL && a == NULL && b == NULL && loaded == NULL);
    nd.widths[0] = nd.widths[1] = 4;
    spring.count = 8;
    assert_int_equal(hnn_net_create(&nd, &net, NULL), HNN_OK);
    assert_int_equal(hnn_optimizer_create(&opt, hnn_net_param_count(net), &o, NULL), HNN_OK);
    assert_int_equal(hnn_dataset_spring(&spring, &a, NULL), HNN_OK);
    train.steps = 1;
    EXPECT_ONE_SIZE(train, hnn_train(net, o, a, NULL, &train, &result, &e));
    hnn_dataset_destroy(a);
    hnn_optimizer_destroy(o);
    hnn_net_destroy(net);
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
        cmocka_unit_test(test_other_defs_take_only_their_size),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}

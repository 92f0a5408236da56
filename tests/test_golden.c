/* Golden hashes (Box2D's determinism check): CRC-32s of a net's parameters after
 * initialisation and after training, of a rollout, and of a saved model file, compared with
 * values recorded once. .ci/run runs this in every build it makes: the default (-O2, CPU
 * dispatch), the strict one (-O0), the OpenMP one on 2 threads, the sanitizer ones, and the
 * ThreadSanitizer one, where dispatch is off (baseline x86-64 code only). They must all
 * print the same bits: fixed summation orders, explicit fma, -ffp-contract=off.
 *
 * A change that moves bits on purpose (a new tanh, say) updates GOLDEN below from this
 * test's own output and says so in its commit; every other build must then agree. */
#include "test_util.h"

#include <stdio.h>

enum { TRAIN_STEPS = 40, ROLLOUT_STEPS = 200 };

/* The values recorded (libhnn 0.4.0): init, trained, rollout, saved file; then (0.6.0) the
 * float path: the float field of a batch, and 20 float implicit-midpoint steps of it. */
static const uint32_t GOLDEN[6] = {0xa052a266u, 0xe41515e0u, 0x406654aau, 0x2144df1cu,
                                   0x4462f26au, 0x800aca74u};

static uint32_t crc_of_params(const hnn_net *net)
{
    const size_t np = hnn_net_param_count(net);
    double *p = malloc(np * sizeof *p);
    uint32_t crc;
    assert_int_equal(hnn_net_params_get(net, p, np), HNN_OK);
    crc = hnn_crc32(0, p, np * sizeof *p);
    free(p);
    return crc;
}

static void test_golden_hashes(void **state)
{
    const size_t widths[2] = {24, 16};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 4, 2, widths, 7);
    hnn_system_data_def dd = hnn_system_data_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_def td = hnn_train_def_default();
    hnn_integrator_def id = hnn_integrator_def_default();
    hnn_dataset *data = NULL;
    hnn_optimizer *opt = NULL;
    hnn_integrator *in = NULL;
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_train_meta meta = {sizeof(hnn_train_meta), 1, TRAIN_STEPS, 0.0, NAN};
    hnn_train_result res = {.struct_size = sizeof res};
    double traj[(ROLLOUT_STEPS + 1) * 8], x[8] = {0.5, -0.3, 0.2, 0.4, 0.1, 0.0, -0.2, 0.3};
    unsigned char *file;
    size_t size, done;
    uint32_t got[6];
    float xf[64 * 8], ff[64 * 8];
    hnn_stepper_def sd = hnn_stepper_def_default();
    hnn_stepper *stepper = NULL;
    int k, same = 1;
    (void)state;
    got[0] = crc_of_params(net);
    dd.system = HNN_SYSTEM_CHAIN; /* n = 4 */
    dd.count = 600;
    dd.seed = 3;
    assert_int_equal(hnn_dataset_system(&dd, &data, NULL), HNN_OK);
    assert_int_equal(hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, NULL), HNN_OK);
    td.steps = TRAIN_STEPS;
    td.batch_size = 256; /* batches larger than a kernel tile, and a shuffle */
    td.seed = 5;
    assert_int_equal(hnn_train(net, opt, data, NULL, &td, &res, NULL), HNN_OK);
    got[1] = crc_of_params(net);
    id.method = HNN_METHOD_IMPLICIT_MIDPOINT; /* the fixed-point solver's bits too */
    id.dim = 8;
    assert_int_equal(hnn_integrator_create(&id, &in, NULL), HNN_OK);
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    assert_int_equal(hnn_integrator_rollout(in, &src, x, 0.05, ROLLOUT_STEPS, traj, NULL, NULL,
                                            &done), HNN_OK);
    got[2] = hnn_crc32(0, traj, sizeof traj);
    meta.train_loss = res.train_loss;
    assert_int_equal(hnn_model_save_buffer(net, opt, &meta, NULL, 0, &size, NULL), HNN_OK);
    file = malloc(size);
    assert_int_equal(hnn_model_save_buffer(net, opt, &meta, file, size, &size, NULL), HNN_OK);
    got[3] = hnn_crc32(0, file, size);
    for (k = 0; k < 64 * 8; k++)
        xf[k] = (float)sin(0.37 * (double)k);
    assert_int_equal(hnn_net_field_f32(net, hnn_net_workspace(net), xf, 64, ff), HNN_OK);
    got[4] = hnn_crc32(0, ff, sizeof ff);
    sd.method = HNN_METHOD_IMPLICIT_MIDPOINT;
    sd.max_count = 64;
    assert_int_equal(hnn_stepper_create(net, &sd, &stepper, NULL), HNN_OK);
    for (k = 0; k < 20; k++)
        assert_int_equal(hnn_stepper_step_f32(stepper, net, xf, 64, 0.05f), HNN_OK);
    got[5] = hnn_crc32(0, xf, sizeof xf);
    hnn_stepper_destroy(stepper);
    fprintf(stderr, "golden: init 0x%08xu, trained 0x%08xu, rollout 0x%08xu, file 0x%08xu, "
                    "float field 0x%08xu, float steps 0x%08xu (%d thread(s))\n",
            (unsigned)got[0], (unsigned)got[1], (unsigned)got[2], (unsigned)got[3],
            (unsigned)got[4], (unsigned)got[5], hnn_max_threads());
    for (k = 0; k < 6; k++)
        same &= got[k] == GOLDEN[k];
    assert_true(same);
    free(file);
    hnn_integrator_destroy(in);
    hnn_optimizer_destroy(opt);
    hnn_dataset_destroy(data);
    hnn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_hashes),
    };
    return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}

/* libFuzzer target: the model loaders (nets and dissipative models) must survive any bytes.
 * Whatever loads is also evaluated and saved again, so a file that passes the checks is a
 * usable model; no bytes load as both kinds.
 *
 *   build: cmake -DHNN_BUILD_FUZZ=ON with clang (see .ci/run); run: fuzz_model corpus/ */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Serializes the net (or, if NULL, the dissipative model m) into buf (NULL: the size only). */
static hnn_status save(const hnn_net *net, const hnn_dissipative *m, const hnn_optimizer *opt,
                       const hnn_train_meta *meta, void *buf, size_t cap, size_t *size)
{
    const hnn_train_meta *present = meta->present ? meta : NULL;
    return net != NULL ? hnn_model_save_buffer(net, opt, present, buf, cap, size, NULL)
                       : hnn_dissipative_save_buffer(m, opt, present, buf, cap, size, NULL);
}

/* A loaded model evaluates at x = 0, and serializes back to the same size and the same bytes
 * but for the checksum (which the fuzzing build skips); abort() otherwise. */
static void check_loaded(hnn_net *net, hnn_dissipative *m, const hnn_optimizer *opt,
                         const hnn_train_meta *meta, const uint8_t *data, size_t size)
{
    const size_t n = hnn_net_dof(net != NULL ? net : hnn_dissipative_energy_net(m));
    double *x = calloc(2 * n, sizeof *x), *f = calloc(2 * n, sizeof *f);
    unsigned char *again = malloc(size);
    size_t out_size = 0;
    if (x != NULL && f != NULL &&
        (net != NULL ? hnn_net_field(net, hnn_net_workspace(net), x, 1, f)
                     : hnn_dissipative_field(m, x, 1, f)) != HNN_OK)
        abort();
    if (save(net, m, opt, meta, NULL, 0, &out_size) != HNN_OK || out_size != size)
        abort();
    if (again != NULL && (save(net, m, opt, meta, again, size, &out_size) != HNN_OK ||
                          memcmp(again, data, size - 4) != 0))
        abort();
    free(again);
    free(x);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hnn_net *net = NULL;
    hnn_dissipative *m = NULL;
    hnn_optimizer *opt = NULL;
    hnn_train_meta meta = {.struct_size = sizeof meta};
    hnn_status with_opt, without, as_dissipative;
    if (data == NULL)
        return 0;
    /* a file is valid or not whether or not the caller asks for the optimizer */
    without = hnn_model_load_buffer(data, size, NULL, &net, NULL, NULL, NULL);
    hnn_net_destroy(net);
    net = NULL;
    with_opt = hnn_model_load_buffer(data, size, NULL, &net, &opt, &meta, NULL);
    if (with_opt != without)
        abort();
    if (with_opt == HNN_OK) {
        check_loaded(net, NULL, opt, &meta, data, size);
        hnn_optimizer_destroy(opt);
        hnn_net_destroy(net);
        opt = NULL;
    }
    as_dissipative = hnn_dissipative_load_buffer(data, size, NULL, &m, &opt, &meta, NULL);
    if (as_dissipative == HNN_OK) {
        if (with_opt == HNN_OK)
            abort(); /* one kind per file */
        check_loaded(NULL, m, opt, &meta, data, size);
        hnn_optimizer_destroy(opt);
        hnn_dissipative_destroy(m);
    }
    return 0;
}

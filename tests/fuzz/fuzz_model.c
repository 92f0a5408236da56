/* libFuzzer target: the model loader must survive any bytes. Whatever loads is also
 * evaluated and saved again, so a file that passes the checks is a usable model.
 *
 *   build: cmake -DHNN_BUILD_FUZZ=ON with clang (see .ci/run); run: fuzz_model corpus/ */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hnn/hnn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hnn_net *net = NULL;
    hnn_optimizer *opt = NULL;
    hnn_train_meta meta = {.struct_size = sizeof meta};
    size_t n, out_size = 0;
    double *x, *f;
    hnn_status with_opt, without;
    if (data == NULL)
        return 0;
    /* a file is valid or not whether or not the caller asks for the optimizer */
    without = hnn_model_load_buffer(data, size, NULL, &net, NULL, NULL, NULL);
    hnn_net_destroy(net);
    net = NULL;
    with_opt = hnn_model_load_buffer(data, size, NULL, &net, &opt, &meta, NULL);
    if (with_opt != without)
        abort();
    if (with_opt != HNN_OK)
        return 0;
    n = hnn_net_dof(net);
    x = calloc(2 * n, sizeof *x);
    f = calloc(2 * n, sizeof *f);
    if (x != NULL && f != NULL && hnn_net_field(net, hnn_net_workspace(net), x, 1, f) != HNN_OK)
        abort(); /* a loaded net must evaluate */
    if (hnn_model_save_buffer(net, opt, meta.present ? &meta : NULL, NULL, 0, &out_size, NULL) !=
            HNN_OK ||
        out_size != size)
        abort(); /* and serialize back to the same size */
    {
        /* and to the same bytes, but for the checksum (which the fuzzing build skips) */
        unsigned char *again = malloc(size);
        if (again != NULL) {
            if (hnn_model_save_buffer(net, opt, meta.present ? &meta : NULL, again, size,
                                      &out_size, NULL) != HNN_OK ||
                memcmp(again, data, size - 4) != 0)
                abort();
            free(again);
        }
    }
    free(x);
    free(f);
    hnn_optimizer_destroy(opt);
    hnn_net_destroy(net);
    return 0;
}

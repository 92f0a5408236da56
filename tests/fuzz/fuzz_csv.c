/* libFuzzer target for the CSV loader: any bytes, as a file, must load or be refused with a
 * status and a message naming the file and line; never a crash, a leak or an out-of-bounds
 * read. The loader takes a path, so each input is written to a file of this process's own
 * (in /dev/shm when there is one: memory, not disk). */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hnn/hnn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    hnn_dataset *ds = NULL;
    hnn_error err;
    hnn_status st;
    FILE *f;
    if (path[0] == '\0')
        snprintf(path, sizeof path, "%s/hnn_fuzz_csv_%ld.csv",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    if ((f = fopen(path, "wb")) == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    st = hnn_dataset_load_csv(path, NULL, &ds, &err);
    if (st == HNN_OK) {
        /* a loaded dataset is consistent: finite numbers, as many as it says */
        const size_t n = hnn_dataset_count(ds) * 2 * hnn_dataset_dof(ds);
        const double *x = hnn_dataset_states(ds), *y = hnn_dataset_derivatives(ds);
        size_t i;
        for (i = 0; i < n; i++)
            if (!(x[i] - x[i] == 0.0) || !(y[i] - y[i] == 0.0))
                abort();
        hnn_dataset_destroy(ds);
    } else if (ds != NULL || err.message[0] == '\0') {
        abort(); /* a refusal creates nothing and says why */
    }
    return 0;
}

/* libFuzzer target for the trajectory CSV loader: any bytes, as a file, must load or be
 * refused with a status and a message; never a crash, a leak or an out-of-bounds read. A
 * loaded set is consistent (finite values, lengths that add up, times increasing), and its
 * splits and difference rules run on it without a crash. Each input is written to a file of
 * this process's own (in /dev/shm when there is one), as in fuzz_csv.c. */
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
    hnn_trajectories *tr = NULL, *x = NULL, *y = NULL;
    hnn_dataset *ds = NULL;
    hnn_error err;
    hnn_status st;
    FILE *f;
    if (path[0] == '\0')
        snprintf(path, sizeof path, "%s/hnn_fuzz_traj_%ld.csv",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    if ((f = fopen(path, "wb")) == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    st = hnn_trajectories_load_csv(path, NULL, &tr, &err);
    if (st == HNN_OK) {
        const size_t dim = 2 * hnn_trajectories_dof(tr);
        size_t i, k, total = 0;
        for (i = 0; i < hnn_trajectories_count(tr); i++) {
            const size_t len = hnn_trajectories_length(tr, i);
            const double *t = hnn_trajectories_times(tr, i), *s = hnn_trajectories_states(tr, i);
            if (len == 0)
                abort();
            for (k = 0; k < len; k++) {
                if (!(t[k] - t[k] == 0.0) || (k > 0 && !(t[k] > t[k - 1])))
                    abort();
                for (size_t c = 0; c < dim; c++)
                    if (!(s[k * dim + c] - s[k * dim + c] == 0.0))
                        abort();
            }
            total += len;
        }
        if (total != hnn_trajectories_total(tr))
            abort();
        for (int rule = 0; rule < 3; rule++) {
            if (hnn_trajectories_to_dataset(tr, (hnn_difference)rule, NULL, &ds, &err) == HNN_OK)
                hnn_dataset_destroy(ds);
            else if (ds != NULL)
                abort();
        }
        for (int how = 0; how < 2; how++) {
            if (hnn_trajectories_split(tr, (hnn_split)how, 0.5, &x, &y, &err) == HNN_OK) {
                if (hnn_trajectories_total(x) + hnn_trajectories_total(y) >
                    hnn_trajectories_total(tr))
                    abort();
                hnn_trajectories_destroy(x);
                hnn_trajectories_destroy(y);
            } else if (x != NULL || y != NULL) {
                abort();
            }
        }
        hnn_trajectories_destroy(tr);
    } else if (tr != NULL || err.message[0] == '\0') {
        abort(); /* a refusal creates nothing and says why */
    }
    return 0;
}

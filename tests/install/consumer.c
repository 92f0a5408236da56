/* A program built against an installed libhnn (see run.sh). It must compile as C99 and
 * as C++ with strict warnings, and exits non-zero on any failure. */
#include <stdio.h>

#include <hnn/hnn.h>

/* True for finite v: v - v is NaN for NaN and for infinities (avoids needing libm). */
static int is_finite(double v) { return v - v == 0.0; }

int main(void)
{
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    hnn_error err;
    hnn_status st;
    double x[2] = {0.5, -0.25}; /* default dof is 1: x = [q, p] */
    double energy = 0.0;
    double grad[2] = {0.0, 0.0};

    printf("hnn %s\n", hnn_version_string());
    if (hnn_version_number() != HNN_VERSION_NUMBER) {
        fprintf(stderr, "library version %d, header version %d\n",
                hnn_version_number(), HNN_VERSION_NUMBER);
        return 1;
    }
    st = hnn_net_create(&def, &net, &err);
    if (st != HNN_OK || net == NULL) {
        fprintf(stderr, "hnn_net_create: %s (%s)\n", hnn_status_string(st), err.message);
        return 1;
    }
    if (hnn_net_dof(net) != 1) {
        fprintf(stderr, "expected the default dof of 1\n");
        hnn_net_destroy(net);
        return 1;
    }
    st = hnn_net_gradient(net, hnn_net_workspace(net), x, 1, &energy, grad);
    hnn_net_destroy(net);
    if (st != HNN_OK) {
        fprintf(stderr, "hnn_net_gradient: %s\n", hnn_status_string(st));
        return 1;
    }
    printf("H = %.17g, dH/dq = %.17g, dH/dp = %.17g\n", energy, grad[0], grad[1]);
    if (!is_finite(energy) || !is_finite(grad[0]) || !is_finite(grad[1])) {
        fprintf(stderr, "non-finite result\n");
        return 1;
    }
    return 0;
}

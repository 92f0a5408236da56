/* hello: the smallest libhnn program. Creates an (untrained) Hamiltonian net for one degree
 * of freedom and prints its energy H, its exact gradient and its field at a few states.
 *
 *   hello [seed]
 */
#include <stdio.h>
#include <stdlib.h>

#include <hnn/hnn.h>

int main(int argc, char **argv)
{
    /* four states x = (q, p), row-major */
    const double x[4][2] = {{1.0, 0.0}, {0.0, 1.0}, {-0.5, 0.5}, {2.0, -1.0}};
    double energy[4], grad[4][2], field[4][2];
    hnn_net_def def = hnn_net_def_default(); /* n = 1, two hidden tanh layers of 128 */
    hnn_net *net = NULL;
    hnn_error err;
    hnn_status st;
    int i;

    if (argc > 1)
        def.seed = strtoull(argv[1], NULL, 10);
    if (hnn_net_create(&def, &net, &err) != HNN_OK) {
        fprintf(stderr, "hello: %s\n", err.message);
        return 1;
    }
    /* One dual-number pass gives H and grad H together; the field is J grad H. */
    st = hnn_net_gradient(net, hnn_net_workspace(net), &x[0][0], 4, energy, &grad[0][0]);
    if (st == HNN_OK)
        st = hnn_net_field(net, hnn_net_workspace(net), &x[0][0], 4, &field[0][0]);
    if (st != HNN_OK) {
        fprintf(stderr, "hello: %s\n", hnn_status_string(st));
        hnn_net_destroy(net);
        return 1;
    }

    printf("libhnn %s: an untrained Hamiltonian net, n = 1, %zu parameters, seed %llu\n",
           hnn_version_string(), hnn_net_param_count(net), (unsigned long long)def.seed);
    printf("%8s %8s | %12s | %12s %12s | %12s %12s\n", "q", "p", "H", "dH/dq", "dH/dp",
           "dq/dt", "dp/dt");
    for (i = 0; i < 4; i++)
        printf("%8.3f %8.3f | %12.8f | %12.8f %12.8f | %12.8f %12.8f\n", x[i][0], x[i][1],
               energy[i], grad[i][0], grad[i][1], field[i][0], field[i][1]);
    printf("The field is the gradient turned a quarter turn: dq/dt = dH/dp, dp/dt = -dH/dq.\n");
    hnn_net_destroy(net);
    return 0;
}

/* Writes the fuzzer's seed corpus: a few small valid models covering each section and each
 * format version. Run from tests/fuzz:
 *   cc make_corpus.c -I../../include -L<build>/lib -lhnn -lm
 *   LD_LIBRARY_PATH=<build>/lib ./a.out */
#include <stdio.h>

#include <hnn/hnn.h>

static hnn_activation activation = HNN_ACTIVATION_TANH; /* the next net's */

static int make(const char *path, hnn_net_kind kind, size_t dof, size_t width, int with_opt,
                int with_meta, hnn_optimizer_kind ok, hnn_feature_map features, size_t bodies)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(ok);
    hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 42, 0.125, 0.25};
    hnn_net *net = NULL;
    hnn_optimizer *opt = NULL;
    hnn_error err;
    int fine;
    nd.kind = kind;
    nd.dof = dof;
    nd.depth = 1;
    nd.widths[0] = width;
    nd.features = features;
    nd.bodies = bodies;
    nd.activation = activation;
    od.amsgrad = ok != HNN_OPT_SGD;
    fine = hnn_net_create(&nd, &net, &err) == HNN_OK &&
           (!with_opt ||
            hnn_optimizer_create(&od, hnn_net_param_count(net), &opt, &err) == HNN_OK) &&
           hnn_model_save(path, net, opt, with_meta ? &meta : NULL, &err) == HNN_OK;
    if (!fine)
        fprintf(stderr, "%s: %s\n", path, err.message);
    hnn_optimizer_destroy(opt);
    hnn_net_destroy(net);
    return fine;
}

/* Version 3: a dissipative model (Helmholtz or port) of n = 1, widths 2, activation act. */
static int make_dissipative(const char *path, hnn_dissipation kind, hnn_activation act,
                            int with_opt_and_meta)
{
    hnn_net_def nd = hnn_net_def_default();
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 42, 0.125, 0.25};
    hnn_dissipative *m = NULL;
    hnn_optimizer *opt = NULL;
    hnn_error err;
    int fine;
    nd.depth = 1;
    nd.widths[0] = 2;
    nd.activation = act;
    fine = hnn_dissipative_create(kind, &nd, &m, &err) == HNN_OK &&
           (!with_opt_and_meta ||
            hnn_optimizer_create(&od, hnn_dissipative_param_count(m), &opt, &err) == HNN_OK) &&
           hnn_dissipative_save(path, m, opt, with_opt_and_meta ? &meta : NULL, &err) == HNN_OK;
    if (!fine)
        fprintf(stderr, "%s: %s\n", path, err.message);
    hnn_optimizer_destroy(opt);
    hnn_dissipative_destroy(m);
    return fine;
}

int main(void)
{
    if (!make_dissipative("corpus/v3_helmholtz_n1_w2_sine_adam_meta.hnn",
                          HNN_DISSIPATION_HELMHOLTZ, HNN_ACTIVATION_SINE, 1) ||
        !make_dissipative("corpus/v3_port_n1_w2.hnn", HNN_DISSIPATION_PORT,
                          HNN_ACTIVATION_TANH, 0))
        return 1;
    activation = HNN_ACTIVATION_SOFTPLUS; /* version 3: a net of another activation */
    if (!make("corpus/v3_hnn_n1_w2_softplus.hnn", HNN_NET_HAMILTONIAN, 1, 2, 0, 0, HNN_OPT_SGD,
              HNN_FEATURES_IDENTITY, 0))
        return 1;
    activation = HNN_ACTIVATION_TANH;
    {
    const hnn_feature_map id = HNN_FEATURES_IDENTITY;
    return make("corpus/hnn_n1_w2.hnn", HNN_NET_HAMILTONIAN, 1, 2, 0, 0, HNN_OPT_SGD, id, 0) &&
                   make("corpus/mlp_n2_w3_adam_meta.hnn", HNN_NET_FIELD, 2, 3, 1, 1, HNN_OPT_ADAM,
                        id, 0) &&
                   make("corpus/hnn_n1_w4_sgd.hnn", HNN_NET_HAMILTONIAN, 1, 4, 1, 0, HNN_OPT_SGD,
                        id, 0) &&
                   /* format version 2: feature maps */
                   make("corpus/hnn_translation_b2_n2_w2.hnn", HNN_NET_HAMILTONIAN, 2, 2, 0, 0,
                        HNN_OPT_SGD, HNN_FEATURES_TRANSLATION, 2) &&
                   make("corpus/mlp_rotation_b2_n4_w2_adam.hnn", HNN_NET_FIELD, 4, 2, 1, 0,
                        HNN_OPT_ADAM, HNN_FEATURES_ROTATION, 2)
               ? 0
               : 1;
    }
}

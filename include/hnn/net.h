/* libhnn networks: an MLP (tanh by default) read either as an energy H(q, p) or as a vector field,
 * with exact derivatives by forward-mode dual numbers. */
#ifndef HNN_NET_H
#define HNN_NET_H

#include "hnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How many hidden layers a net may have. */
#define HNN_MAX_HIDDEN 16
/* Caps that keep every size computation far from overflow. */
#define HNN_MAX_DOF 4096u        /* degrees of freedom n (the state has 2n entries) */
#define HNN_MAX_WIDTH 1048576u   /* neurons in one hidden layer */

typedef enum hnn_net_kind {
    /* One scalar output, the energy H(x); the field is J grad H = [dH/dp, -dH/dq]. */
    HNN_NET_HAMILTONIAN = 0,
    /* 2n outputs read directly as the field [dq/dt, dp/dt] (the baseline MLP). */
    HNN_NET_FIELD = 1
} hnn_net_kind;

/* What the first layer reads (docs/symmetry.md). With bodies B (n = B d: each body has d
 * coordinates), positions and momenta are laid out body by body: q = [q_1 (d numbers), ..,
 * q_B], p likewise. An invariant map makes H blind to a symmetry, and Noether's theorem then
 * makes the flow of J grad H conserve the matching quantity exactly. */
typedef enum hnn_feature_map {
    /* x itself (the default; bodies must be 0). */
    HNN_FEATURES_IDENTITY = 0,
    /* Positions only as differences q_j - q_i between bodies, for the pairs i < j in the
     * order (0,1), (0,2), .., (0,B-1), (1,2), .., each pair's d coordinates in turn, then the
     * momenta as they are: B(B-1)/2 d + n inputs. H cannot see where the system is, so
     * total momentum is conserved. */
    HNN_FEATURES_TRANSLATION = 1,
    /* Bodies in the plane (d = 2). Take the V = B(B-1)/2 + B plane vectors: the relative
     * positions q_j - q_i (pairs in the order above), then the momenta p_0..p_(B-1). The
     * inputs are, for every a <= b, the dot product of vectors a and b (for a relative
     * position with itself its length, the distance |q_j - q_i|, not its square), then for
     * every a < b their cross product: V(V+1)/2 + V(V-1)/2 = V^2 inputs (9 for two bodies,
     * 36 for three). H cannot see where the system is or which way it faces, so total
     * momentum and angular momentum are both conserved. */
    HNN_FEATURES_ROTATION = 2,
    /* The positions q only (bodies must be 0): with kinetic_mass > 0 the net is separable,
     * H = |p|^2 / (2 m) + V(q) with V the MLP, and explicit leapfrog applies. */
    HNN_FEATURES_POSITIONS = 3
} hnn_feature_map;

/* How a Hamiltonian net computes grad H and the training gradient (docs/performance.md,
 * "Two engines"). Both give the same results to rounding; they differ in cost and memory. */
typedef enum hnn_gradient_path {
    /* The cheaper of the two for this net's shape, by the cost model of docs/performance.md,
     * chosen once when the net is created (so a batch still gives the bits of its states one
     * by one). The default. */
    HNN_PATH_AUTO = 0,
    /* Forward-mode dual numbers: every state carries 2n tangents through the layers. One
     * sweep over the weights gives H and all of grad H: fastest for the smallest states,
     * but cost and memory grow with n. */
    HNN_PATH_DUAL = 1,
    /* Reverse mode: grad H by one backward sweep, the training gradient by reverse over
     * that sweep. Cost and memory per state do not grow with n. */
    HNN_PATH_ADJOINT = 2
} hnn_gradient_path;

/* The hidden layers' activation sigma (docs/api.md "Activations"). A Hamiltonian net's
 * field is J grad H and its training loss depends on that gradient, so the engines use
 * sigma, sigma' and sigma'' (the Hessian and the training gradient: sigma'' too), each
 * exact to rounding. */
typedef enum hnn_activation {
    HNN_ACTIVATION_TANH = 0,     /* tanh(z), the default */
    HNN_ACTIVATION_SOFTPLUS = 1, /* log(1 + e^z), PyTorch's nn.Softplus() (beta 1) */
    HNN_ACTIVATION_SINE = 2,     /* sin(z), as in SIREN-style and latent HNNs */
    HNN_ACTIVATION_SILU = 3,     /* z / (1 + e^-z), PyTorch's nn.SiLU() */
    /* max(0, z): direct-field nets only. A Hamiltonian net refuses it: sigma'' = 0, so its
     * field J grad H is piecewise constant in the state and the loss gives the biases no
     * gradient. */
    HNN_ACTIVATION_RELU = 4
} hnn_activation;

/* What a net is made of. Get one from hnn_net_def_default(), then change fields.
 * struct_size lets the struct grow in later versions without breaking old programs:
 * leave it as hnn_net_def_default() set it. */
typedef struct hnn_net_def {
    size_t struct_size;
    hnn_net_kind kind;            /* default HNN_NET_HAMILTONIAN */
    size_t dof;                   /* n >= 1: the state is x = [q_1..q_n, p_1..p_n]; default 1 */
    size_t depth;                 /* hidden layers, 1..HNN_MAX_HIDDEN; default 2 */
    size_t widths[HNN_MAX_HIDDEN];/* widths[0..depth-1], each 1..HNN_MAX_WIDTH; default 128 */
    uint64_t seed;                /* initialisation seed (docs/api.md: "Initialisation"); default 0 */
    hnn_allocator allocator;      /* memory for this net and its workspaces; default malloc */
    hnn_feature_map features;     /* what the first layer reads; default HNN_FEATURES_IDENTITY */
    size_t bodies;                /* B for an invariant map (n must be a multiple); default 0 */
    double kinetic_mass;          /* m in [1e-100, 1e100] adds a known kinetic energy
                                     |p|^2 / (2 m) to a Hamiltonian net's H; 0: none (default) */
    hnn_gradient_path path;       /* how grad H is computed; default HNN_PATH_AUTO */
    unsigned reserved;            /* ignored: 0.3-0.5 ended after path with these 4 bytes as
                                     padding; naming them gives 0.6's def its own size (224) */
    hnn_activation activation;    /* the hidden layers'; default HNN_ACTIVATION_TANH (0.6) */
} hnn_net_def;

/* Fills the first struct_size bytes of *def with the defaults and sets def->struct_size.
 * Prefer hnn_net_def_default(), which calls it with the size this header was compiled with. */
HNN_API void hnn_net_def_init(hnn_net_def *def, size_t struct_size);

static inline hnn_net_def hnn_net_def_default(void)
{
    hnn_net_def def;
    hnn_net_def_init(&def, sizeof def);
    return def;
}

typedef struct hnn_net hnn_net;

/* Per-thread scratch memory for evaluating a net. Every evaluation function takes one and
 * refuses NULL with HNN_ERR_NULL: a function that takes a `const hnn_net *` never writes the
 * net, so any number of threads may evaluate one net, each with a workspace of its own
 * (hnn_workspace_create). A net also owns one workspace, hnn_net_workspace(net), for the
 * single-threaded one-liner: hnn_net_field(net, hnn_net_workspace(net), x, 1, f). */
typedef struct hnn_workspace hnn_workspace;

/* Creates a net from *def with parameters initialised from def->seed.
 * On failure *out is NULL and err (if not NULL) says why. */
HNN_API hnn_status hnn_net_create(const hnn_net_def *def, hnn_net **out, hnn_error *err);

/* The bytes hnn_net_create(def) would ask the allocator for (the net, its parameters and
 * their transposed copy, its own workspace) into *net_bytes and, if workspace is not NULL,
 * what each hnn_workspace_create for it asks for, without allocating anything. def is
 * checked as hnn_net_create checks it (same status codes and messages). */
HNN_API hnn_status hnn_net_def_bytes(const hnn_net_def *def, size_t *net_bytes,
                                     size_t *workspace, hnn_error *err);

/* Frees the net. NULL is harmless. Workspaces created for it must be destroyed separately. */
HNN_API void hnn_net_destroy(hnn_net *net);

/* Copies the definition the net was created from into *def (def->struct_size must be set,
 * e.g. by hnn_net_def_default()). */
HNN_API hnn_status hnn_net_get_def(const hnn_net *net, hnn_net_def *def);

/* Degrees of freedom n (the state has 2n entries); 0 for NULL. */
HNN_API size_t hnn_net_dof(const hnn_net *net);

/* The path this net evaluates grad H on (training = 0: hnn_net_gradient, hnn_net_field) or
 * computes its training gradient on (training = 1: hnn_loss_mse and the trainers):
 * HNN_PATH_DUAL or HNN_PATH_ADJOINT, never AUTO; def.path when that was not AUTO, else the
 * cost model's choice. Direct-field nets have no grad H: HNN_PATH_DUAL (plain passes).
 * HNN_PATH_AUTO for NULL. */
HNN_API hnn_gradient_path hnn_net_gradient_path(const hnn_net *net, int training);

/* Number of parameters; 0 for NULL. */
HNN_API size_t hnn_net_param_count(const hnn_net *net);

/* Copies all parameters, in PyTorch nn.Linear order (for each layer: weight row-major
 * [out][in], then bias), into params[0..count-1]. count must equal hnn_net_param_count. */
HNN_API hnn_status hnn_net_params_get(const hnn_net *net, double *params, size_t count);

/* Replaces all parameters (same order and count as hnn_net_params_get). Non-finite values
 * are rejected and leave the net unchanged. Not safe while other threads evaluate the net. */
HNN_API hnn_status hnn_net_params_set(hnn_net *net, const double *params, size_t count);

/* Why the last hnn_net_params_set on this net failed ("params[17] is NaN or infinite; ..."),
 * or "" (also for NULL). Calls that take a const net write nothing into it: an evaluation's
 * message is in its workspace (hnn_workspace_last_error). */
HNN_API const char *hnn_net_last_error(const hnn_net *net);

/* Creates a workspace for evaluating `net` (or any net of the same shape) from one thread. */
HNN_API hnn_status hnn_workspace_create(const hnn_net *net, hnn_workspace **out, hnn_error *err);

/* Frees a workspace. NULL is harmless. */
HNN_API void hnn_workspace_destroy(hnn_workspace *ws);

/* Why the last evaluation with this workspace failed ("state 3 holds NaN or infinity (number
 * 1 of it)"), or "" after one that succeeded (also for NULL). Each thread reads its own
 * workspace's: the net is shared and const. */
HNN_API const char *hnn_workspace_last_error(const hnn_workspace *ws);

/* The workspace the net owns (NULL for a NULL net): for one thread at a time, which the
 * non-const argument says (a thread that holds only a const net cannot reach it). It lives
 * and dies with the net; do not destroy it. */
HNN_API hnn_workspace *hnn_net_workspace(hnn_net *net);

/* The batched evaluation functions below take a workspace (not NULL) for this net or one of
 * the same shape and `count` >= 1 states, row-major (x[s * 2n + i] is component i of state
 * s), reject NaN or infinite states with HNN_ERR_NONFINITE before writing anything, and
 * never allocate. A batch gives the same bits as evaluating its states one at a time. */

/* Energy H(x) of each state into energy[0..count-1]. Hamiltonian nets only. */
HNN_API hnn_status hnn_net_energy(const hnn_net *net, hnn_workspace *ws,
                                  const double *x, size_t count, double *energy);

/* Exact gradient [dH/dq_1..dH/dq_n, dH/dp_1..dH/dp_n] of each state into
 * grad[s * 2n + i], on the net's gradient path (hnn_net_gradient_path). energy may be NULL;
 * otherwise it receives H as well, at no extra cost. Hamiltonian nets only. */
HNN_API hnn_status hnn_net_gradient(const hnn_net *net, hnn_workspace *ws,
                                    const double *x, size_t count,
                                    double *energy, double *grad);

/* The vector field [dq/dt, dp/dt] at each state into field[s * 2n + i]: J grad H =
 * [dH/dp, -dH/dq] for a Hamiltonian net, the raw outputs for a direct-field net. */
HNN_API hnn_status hnn_net_field(const hnn_net *net, hnn_workspace *ws,
                                 const double *x, size_t count, double *field);

/* The Hessian of H at each state into hess[s * 4n^2 + i * 2n + k] = d2H / dx_i dx_k, exact to
 * rounding: forward-mode tangents carried through the reverse pass of the gradient, eight
 * directions at a time, written column by column into hess. Hamiltonian nets only. */
HNN_API hnn_status hnn_net_hessian(const hnn_net *net, hnn_workspace *ws, const double *x,
                                   size_t count, double *hess);

/* The Jacobian of the field at each state, jac[s * 4n^2 + i * 2n + k] = df_i / dx_k, exact to
 * rounding: J times the Hessian for a Hamiltonian net, one dual pass for a direct-field net.
 * Its trace is the field's divergence (0 to rounding for Hamiltonian nets). */
HNN_API hnn_status hnn_net_field_jacobian(const hnn_net *net, hnn_workspace *ws,
                                          const double *x, size_t count, double *jac);

/* ---- single precision (0.6): float states in, float results out ------------------------ */

/* hnn_net_energy, hnn_net_gradient and hnn_net_field on float arrays, for programs that keep
 * their states in float (game engines): the same arguments, rules and errors (a workspace
 * for the net, NaN or infinite states refused before anything is written, never allocates),
 * and a batch gives the bits of its states one by one on every CPU. They run on a float copy
 * of the weights that the net keeps in step with its parameters (made when it is created or
 * loaded and whenever its parameters change), always by the adjoint sweeps, with float
 * products and a float tanh; a feature map, the kinetic term and activations other than tanh
 * are computed in double and rounded. How close they come to the double results: docs/api.md
 * "Single precision". Hessians and field Jacobians are double only. One error more: a net
 * with a parameter beyond float's range has no float path (HNN_ERR_NONFINITE). */
HNN_API hnn_status hnn_net_energy_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                                      size_t count, float *energy);
HNN_API hnn_status hnn_net_gradient_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                                        size_t count, float *energy, float *grad);
HNN_API hnn_status hnn_net_field_f32(const hnn_net *net, hnn_workspace *ws, const float *x,
                                     size_t count, float *field);

#ifdef __cplusplus
}
#endif

#endif /* HNN_NET_H */

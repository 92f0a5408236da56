/* Evaluation: H, grad H and the field of a batch of states, chunk by chunk on the engine the
 * net picked (the dual pass of forward.c or the adjoint sweeps of adjoint.c), with the argument
 * rule every evaluation shares (hnni_begin_eval). */
#include "net_impl.h"

#include "adjoint.h"
#include "alloc.h"
#include "core.h"
#include "dual.h"
#include "kernels.h"

/* The rule both precisions share; the states' element size is `elem` (8 or 4 bytes) and the
 * workspace must hold the layout `f32` says. Then the caller scans for NaN and infinity. */
static hnn_status begin(const hnn_net *net, hnn_workspace **ws, const void *x, size_t count,
                        const void *result, size_t out_per_state, int f32)
{
    const size_t elem = f32 ? sizeof(float) : sizeof(double);
    size_t elems, out_elems, need[2];
    if (*ws == NULL) /* never the net's own: a const net is not written (hnn_net_workspace) */
        return HNN_ERR_NULL;
    (*ws)->message[0] = '\0';
    if (net == NULL || x == NULL || result == NULL)
        return hnni_refuse((*ws)->message, HNN_ERR_NULL,
                           "the net, the states and the output must not be NULL");
    if (count == 0)
        return hnni_refuse((*ws)->message, HNN_ERR_INVALID_ARG, "count is 0: pass >= 1 state");
    /* a workspace serves any net of the same n whose buffers it can hold */
    if ((*ws)->dim != net->dim || (*ws)->max_rows < net->max_rows ||
        !(f32 ? hnni_f32_doubles(net, (*ws)->chunk, need)
              : hnni_eval_doubles(net, (*ws)->chunk, need)) ||
        !hnni_fits(need, (*ws)->block))
        return hnni_refuse((*ws)->message, HNN_ERR_SIZE_MISMATCH,
                           "the workspace was made for states of %zu numbers and smaller "
                           "buffers; this net takes %zu: hnn_workspace_create(net)",
                           (*ws)->dim, net->dim);
    if (!hnni_mul_size(count, net->dim, &elems) || !hnni_mul_size(elems, elem, &elems) ||
        !hnni_mul_size(count, out_per_state, &out_elems) ||
        !hnni_mul_size(out_elems, elem, &out_elems))
        return hnni_refuse((*ws)->message, HNN_ERR_TOO_LARGE,
                           "count %zu: the arrays' sizes overflow size_t", count);
    return HNN_OK;
}

static hnn_status refuse_nonfinite(const hnn_net *net, hnn_workspace *ws, size_t bad)
{
    return hnni_refuse(ws->message, HNN_ERR_NONFINITE,
                       "state %zu holds NaN or infinity (number %zu of it)", bad / net->dim,
                       bad % net->dim);
}

hnn_status hnni_begin_eval(const hnn_net *net, hnn_workspace **ws, const double *x,
                           size_t count, const void *result, size_t out_per_state)
{
    hnn_status st = begin(net, ws, x, count, result, out_per_state, 0);
    size_t bad;
    if (st == HNN_OK && (bad = hnni_first_nonfinite(x, count * net->dim)) != count * net->dim)
        return refuse_nonfinite(net, *ws, bad);
    return st;
}

hnn_status hnni_begin_eval_f32(const hnn_net *net, hnn_workspace **ws, const float *x,
                               size_t count, const void *result, size_t out_per_state)
{
    hnn_status st = begin(net, ws, x, count, result, out_per_state, 1);
    size_t bad;
    if (st == HNN_OK && net->f32_overflow < net->param_count)
        return hnni_refuse((*ws)->message, HNN_ERR_NONFINITE, "parameter %zu (%g) is beyond "
                           "float's range: this net has no float path", net->f32_overflow,
                           net->params[net->f32_overflow]);
    if (st == HNN_OK && (bad = hnni_first_nonfinite_f32(x, count * net->dim)) != count * net->dim)
        return refuse_nonfinite(net, *ws, bad);
    return st;
}

/* The refusal of an evaluation for a net of the wrong kind. */
hnn_status hnni_wrong_kind(hnn_workspace *ws, const char *what)
{
    return hnni_refuse(ws->message, HNN_ERR_WRONG_KIND, "a direct-field net has no %s (it "
                       "outputs the field: hnn_net_field)", what);
}

const double *hnni_hidden_pass(const hnn_net *net, hnn_workspace *ws, const double *x,
                               size_t bc, size_t ntan)
{
    double *Z[HNN_MAX_HIDDEN], *A[HNN_MAX_HIDDEN];
    size_t l;
    for (l = 0; l + 1 < net->layers; l++) {
        Z[l] = ws->buf[1];
        A[l] = ws->buf[0];
    }
    hnni_net_forward(net, x, bc, 0, ntan, ws->buf[0], Z, A);
    return ws->buf[0];
}

void hnni_kinetic_add(const hnn_net *net, const double *x, double *energy, double *grad_p)
{
    const size_t n = net->def.dof;
    const double m = net->def.kinetic_mass;
    double sum = 0.0;
    size_t i;
    for (i = 0; i < n; i++)
        sum += x[n + i] * x[n + i];
    if (energy != NULL)
        *energy += sum / (2.0 * m);
    if (grad_p != NULL)
        for (i = 0; i < n; i++)
            grad_p[i] += x[n + i] / m;
}

/* The output layer of a Hamiltonian net on a dual block: H = w . a + b and
 * dH/dx_t = w . da_t, one row-vector product over all columns; plus the kinetic term, if any,
 * of the states x. */
static void energy_head(const hnn_net *net, hnn_workspace *ws, const double *hidden,
                        const double *x, size_t bc, size_t ntan, double *energy, double *grad)
{
    const size_t L = net->layers - 1;
    const size_t ld = (1 + ntan) * bc;
    const double *w = net->params + net->w_off[L];
    const double bias = net->params[net->b_off[L]];
    double *row = hidden == ws->buf[0] ? ws->buf[1] : ws->buf[0];
    size_t s, t;
    hnni_gemm(1, net->in[L], ld, w, net->in[L], hidden, ld, row, ld);
    if (energy != NULL)
        for (s = 0; s < bc; s++)
            energy[s] = row[s] + bias;
    for (t = 0; t < ntan; t++)
        for (s = 0; s < bc; s++)
            grad[s * net->dim + t] = row[(1 + t) * bc + s];
    if (net->def.kinetic_mass > 0.0)
        for (s = 0; s < bc; s++)
            hnni_kinetic_add(net, x + s * net->dim, energy != NULL ? energy + s : NULL,
                             ntan > 0 ? grad + s * net->dim + net->def.dof : NULL);
}

hnn_status hnn_net_energy(const hnn_net *net, hnn_workspace *ws, const double *x, size_t count,
                          double *energy)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, energy, 1);
    size_t done;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "energy H");
    for (done = 0; done < count; done += ws->chunk) {
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, 0);
        energy_head(net, ws, h, x + done * net->dim, bc, 0, energy + done, NULL);
    }
    return HNN_OK;
}

/* One chunk of hnn_net_gradient on the adjoint path: the sweeps, then each state's gradient
 * straight into the caller's array. */
static void adjoint_gradient(const hnn_net *net, hnn_workspace *ws, const double *x, size_t bc,
                             double *energy, double *grad)
{
    const double bias = net->params[net->b_off[net->layers - 1]];
    hnni_adjoint b;
    size_t s;
    hnni_adjoint_layout(net, ws->chunk, 0, ws->buf[0], ws->buf[1], &b);
    hnni_adjoint_forward(net, &b, x, bc, energy != NULL);
    for (s = 0; s < bc; s++)
        hnni_adjoint_state_gradient(net, &b, x, bc, s, grad + s * net->dim);
    if (energy == NULL)
        return;
    for (s = 0; s < bc; s++) {
        energy[s] = b.row[s] + bias;
        if (net->def.kinetic_mass > 0.0)
            hnni_kinetic_add(net, x + s * net->dim, energy + s, NULL);
    }
}

hnn_status hnn_net_gradient(const hnn_net *net, hnn_workspace *ws, const double *x,
                            size_t count, double *energy, double *grad)
{
    hnn_status st = hnni_begin_eval(net, &ws, x, count, grad, net != NULL ? net->dim : 0);
    size_t done;
    if (st != HNN_OK)
        return st;
    if (net->def.kind != HNN_NET_HAMILTONIAN)
        return hnni_wrong_kind(ws, "gradient of H");
    for (done = 0; done < count; done += ws->chunk) {
        if (net->eval_path == HNN_PATH_ADJOINT) {
            size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
            adjoint_gradient(net, ws, x + done * net->dim, bc, energy ? energy + done : NULL,
                             grad + done * net->dim);
            continue;
        }
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, net->dim);
        energy_head(net, ws, h, x + done * net->dim, bc, net->dim, energy ? energy + done : NULL,
                    grad + done * net->dim);
    }
    return HNN_OK;
}

/* Rotates gradients into Hamiltonian fields in place: [gq, gp] -> [gp, -gq]. */
static void apply_symplectic_j(double *v, size_t count, size_t n)
{
    size_t s, i;
    for (s = 0; s < count; s++) {
        double *q = v + s * 2 * n, *p = q + n;
        for (i = 0; i < n; i++) {
            double gq = q[i];
            q[i] = p[i];
            p[i] = -gq;
        }
    }
}

/* The output layer of a direct-field net on plain values: f = W a + b. */
static void field_head(const hnn_net *net, hnn_workspace *ws, const double *hidden, size_t bc,
                       double *field)
{
    const size_t L = net->layers - 1;
    const double *bias = net->params + net->b_off[L];
    double *out = hidden == ws->buf[0] ? ws->buf[1] : ws->buf[0];
    size_t r, s;
    hnni_gemm(net->dim, net->in[L], bc, net->params + net->w_off[L], net->in[L], hidden, bc, out,
              bc);
    for (r = 0; r < net->dim; r++)
        for (s = 0; s < bc; s++)
            field[s * net->dim + r] = out[r * bc + s] + bias[r];
}

hnn_status hnn_net_field(const hnn_net *net, hnn_workspace *ws, const double *x, size_t count,
                         double *field)
{
    hnn_status st;
    size_t done;
    if (net != NULL && net->def.kind == HNN_NET_HAMILTONIAN) {
        st = hnn_net_gradient(net, ws, x, count, NULL, field);
        if (st == HNN_OK)
            apply_symplectic_j(field, count, net->def.dof);
        return st;
    }
    if ((st = hnni_begin_eval(net, &ws, x, count, field, net != NULL ? net->dim : 0)) != HNN_OK)
        return st;
    for (done = 0; done < count; done += ws->chunk) {
        size_t bc = count - done < ws->chunk ? count - done : ws->chunk;
        const double *h = hnni_hidden_pass(net, ws, x + done * net->dim, bc, 0);
        field_head(net, ws, h, bc, field + done * net->dim);
    }
    return HNN_OK;
}

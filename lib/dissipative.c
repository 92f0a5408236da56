/* Dissipative models: f = J grad H + grad D (two scalar nets), or f = (J - R) grad H with
 * R = L L^T learned. The loss gradient reuses the Hamiltonian dual pass of each net
 * (loss_impl.h): forward both, form the residual, send each net its adjoint, go back. */
#include "hnn/dissipative.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "loss_impl.h"
#include "net_access.h"
#include "train_impl.h"
#include "dissipative_access.h"

enum { FIELD_CHUNK = 64 }; /* states per chunk of hnn_dissipative_field */

struct hnn_dissipative {
    hnn_allocator alloc;
    hnn_dissipation kind;
    hnn_net *h, *d;                 /* d: Helmholtz only */
    hnn_loss_workspace *lw_h, *lw_d;
    size_t n, dim, count_h, param_count;
    double *params;                 /* flat: H's, then D's or L's lower triangle */
    double *R;                      /* port: L L^T (dim x dim), refreshed by sync */
    double *gh, *gd;                /* FIELD_CHUNK x dim each: gradients of a chunk */
    double *scratch;                /* 5 x dim: one state's vectors in the loss */
    char message[HNN_ERROR_MESSAGE_SIZE]; /* the last failure of a call on the model */
};

static size_t extra_count(const hnn_dissipative *m)
{
    return m->kind == HNN_DISSIPATION_PORT ? hnni_dissipative_l_count(m->n)
                                           : hnn_net_param_count(m->d);
}

/* L's entry (a, b), b <= a, in the packed lower triangle after H's parameters. */
static double *L_at(const hnn_dissipative *m, size_t a, size_t b)
{
    return m->params + m->count_h + a * (a + 1) / 2 + b;
}

/* Copies the flat parameters into the nets and rebuilds R. */
static void sync(void *self)
{
    hnn_dissipative *m = (hnn_dissipative *)self;
    size_t a, b, c;
    memcpy(hnni_net_params_for_update(m->h), m->params, m->count_h * sizeof(double));
    hnni_net_params_changed(m->h);
    if (m->kind == HNN_DISSIPATION_HELMHOLTZ) {
        memcpy(hnni_net_params_for_update(m->d), m->params + m->count_h,
               hnn_net_param_count(m->d) * sizeof(double));
        hnni_net_params_changed(m->d);
        return;
    }
    for (a = 0; a < m->dim; a++)
        for (b = 0; b < m->dim; b++) {
            double sum = 0.0;
            for (c = 0; c <= (a < b ? a : b); c++)
                sum += *L_at(m, a, c) * *L_at(m, b, c);
            m->R[a * m->dim + b] = sum;
        }
}

void hnn_dissipative_destroy(hnn_dissipative *m)
{
    hnn_allocator alloc;
    if (m == NULL)
        return;
    alloc = m->alloc;
    hnn_loss_workspace_destroy(m->lw_h);
    hnn_loss_workspace_destroy(m->lw_d);
    hnn_net_destroy(m->h);
    hnn_net_destroy(m->d);
    hnni_free_aligned(&alloc, m->params, m->param_count * sizeof(double));
    hnni_free(&alloc, m->R, m->dim * m->dim * sizeof(double));
    hnni_free(&alloc, m->gh, FIELD_CHUNK * m->dim * sizeof(double));
    hnni_free(&alloc, m->gd, FIELD_CHUNK * m->dim * sizeof(double));
    hnni_free(&alloc, m->scratch, 5 * m->dim * sizeof(double));
    hnni_free(&alloc, m, sizeof *m);
}

/* D's definition when the caller gives none: H's shape over the full state (a feature map
 * of H's, positions only say, would leave D blind to p and unable to damp dp/dt), no
 * kinetic term, the next seed. */
static hnn_net_def default_d_def(const hnn_net_def *h)
{
    hnn_net_def d = *h;
    d.features = HNN_FEATURES_IDENTITY;
    d.bodies = 0;
    d.kinetic_mass = 0.0;
    d.seed = h->seed + 1;
    return d;
}

hnn_status hnni_dissipative_check(hnn_dissipation kind, const hnn_net_def *h,
                                  const hnn_net_def *d, hnn_error *err)
{
    if (h->kind != HNN_NET_HAMILTONIAN)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a dissipative model's H must be a "
                         "Hamiltonian net (got kind %d)", (int)h->kind);
    if (kind != HNN_DISSIPATION_HELMHOLTZ)
        return d == NULL ? HNN_OK
                         : hnni_fail(err, HNN_ERR_INVALID_ARG, "a port-Hamiltonian model has "
                                     "no D net: d_def must be NULL");
    if (d == NULL || d->kind != HNN_NET_HAMILTONIAN || d->dof != h->dof)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "D must be a scalar (Hamiltonian-kind) net "
                         "of H's n = %zu (got kind %d, n = %zu)", h->dof,
                         d != NULL ? (int)d->kind : -1, d != NULL ? d->dof : 0);
    if (d->kinetic_mass != 0.0)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "D takes no kinetic term (kinetic_mass %g)",
                         d->kinetic_mass);
    return HNN_OK;
}

size_t hnni_dissipative_l_count(size_t dof)
{
    return 2 * dof * (2 * dof + 1) / 2;
}

hnn_status hnni_dissipative_bytes(hnn_dissipation kind, const hnn_net_def *h,
                                  const hnn_net_def *d, size_t *bytes, size_t *workspace,
                                  hnn_error *err)
{
    size_t h_bytes, d_bytes = 0, h_params, d_params = 0, count, total;
    const size_t dim = 2 * h->dof; /* dof <= HNN_MAX_DOF: the arrays below cannot overflow */
    hnn_status st;
    size_t h_loss, d_loss = 0;
    if ((st = hnni_net_def_check(h, &h_params, err)) != HNN_OK ||
        (st = hnn_net_def_bytes(h, &h_bytes, workspace, err)) != HNN_OK ||
        (st = hnn_loss_workspace_def_bytes(h, &h_loss, err)) != HNN_OK)
        return st;
    if (kind == HNN_DISSIPATION_HELMHOLTZ &&
        ((st = hnni_net_def_check(d, &d_params, err)) != HNN_OK ||
         (st = hnn_net_def_bytes(d, &d_bytes, NULL, err)) != HNN_OK ||
         (st = hnn_loss_workspace_def_bytes(d, &d_loss, err)) != HNN_OK))
        return st;
    h_bytes += h_loss; /* each well under SIZE_MAX / 4: the sums below are checked anyway */
    d_bytes += d_loss;
    count = h_params + (kind == HNN_DISSIPATION_HELMHOLTZ ? d_params
                                                          : hnni_dissipative_l_count(h->dof));
    total = sizeof(hnn_dissipative) + HNNI_ALIGN_EXTRA +
            (count + dim * dim + 2 * FIELD_CHUNK * dim + 5 * dim) * sizeof(double);
    if (!hnni_add_size(h_bytes, d_bytes, bytes) || !hnni_add_size(*bytes, total, bytes))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "the model's size overflows size_t");
    return HNN_OK;
}

const double *hnni_dissipative_params(const hnn_dissipative *m)
{
    return m->params;
}

hnn_status hnni_dissipative_fill_params(hnn_dissipative *m,
                                        double (*value)(const void *ctx, size_t i),
                                        const void *ctx, size_t *bad)
{
    size_t i;
    for (i = 0; i < m->param_count; i++) {
        m->params[i] = value(ctx, i);
        if (!isfinite(m->params[i])) {
            *bad = i;
            return HNN_ERR_NONFINITE;
        }
    }
    sync(m);
    return HNN_OK;
}

hnn_status hnn_dissipative_create(hnn_dissipation kind, const hnn_net_def *net_def,
                                  hnn_dissipative **out, hnn_error *err)
{
    return hnn_dissipative_create_with(kind, net_def, NULL, out, err);
}

hnn_status hnn_dissipative_create_with(hnn_dissipation kind, const hnn_net_def *h_def,
                                       const hnn_net_def *d_def, hnn_dissipative **out,
                                       hnn_error *err)
{
    hnn_net_def h_full, d_full;
    hnn_allocator alloc;
    hnn_dissipative *m;
    hnn_status st;
    size_t a;
    if (out != NULL)
        *out = NULL;
    if (h_def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_create: net_def and out must not be NULL");
    if (kind != HNN_DISSIPATION_HELMHOLTZ && kind != HNN_DISSIPATION_PORT)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "unknown dissipation kind %d", (int)kind);
    /* only the first struct_size bytes of each def are the caller's */
    if ((st = hnni_net_read_def(h_def, &h_full, err)) != HNN_OK)
        return st;
    if (d_def != NULL && kind != HNN_DISSIPATION_HELMHOLTZ)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "a port-Hamiltonian model has no D net: "
                         "d_def must be NULL");
    if (d_def == NULL)
        d_full = default_d_def(&h_full);
    else if ((st = hnni_net_read_def(d_def, &d_full, err)) != HNN_OK)
        return st;
    if ((st = hnni_dissipative_check(kind, &h_full, kind == HNN_DISSIPATION_HELMHOLTZ ? &d_full
                                                                                : NULL,
                                     err)) != HNN_OK)
        return st;
    d_full.allocator = h_full.allocator; /* one model, one allocator */
    alloc = hnni_allocator_resolve(h_full.allocator);
    if ((m = (hnn_dissipative *)hnni_alloc(&alloc, sizeof *m)) == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a dissipative model");
    m->alloc = alloc;
    m->kind = kind;
    if ((st = hnn_net_create(&h_full, &m->h, err)) != HNN_OK)
        goto fail;
    m->n = hnn_net_dof(m->h);
    m->dim = 2 * m->n;
    m->count_h = hnn_net_param_count(m->h);
    if (kind == HNN_DISSIPATION_HELMHOLTZ) {
        if ((st = hnn_net_create(&d_full, &m->d, err)) != HNN_OK ||
            (st = hnn_loss_workspace_create(m->d, &m->lw_d, err)) != HNN_OK)
            goto fail;
    }
    if ((st = hnn_loss_workspace_create(m->h, &m->lw_h, err)) != HNN_OK)
        goto fail;
    m->param_count = m->count_h + extra_count(m);
    m->params = (double *)hnni_alloc_aligned(&alloc, m->param_count * sizeof(double));
    m->R = (double *)hnni_alloc(&alloc, m->dim * m->dim * sizeof(double));
    m->gh = (double *)hnni_alloc(&alloc, FIELD_CHUNK * m->dim * sizeof(double));
    m->gd = (double *)hnni_alloc(&alloc, FIELD_CHUNK * m->dim * sizeof(double));
    m->scratch = (double *)hnni_alloc(&alloc, 5 * m->dim * sizeof(double));
    if (m->params == NULL || m->R == NULL || m->gh == NULL || m->gd == NULL || m->scratch == NULL) {
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate the model's parameters");
        goto fail;
    }
    memcpy(m->params, hnni_net_params(m->h), m->count_h * sizeof(double));
    if (kind == HNN_DISSIPATION_HELMHOLTZ)
        memcpy(m->params + m->count_h, hnni_net_params(m->d),
               hnn_net_param_count(m->d) * sizeof(double));
    else
        for (a = 0; a < m->dim; a++) /* L = 0.1 I (hnni_alloc zeroed the rest): R = 0.01 I */
            *L_at(m, a, a) = 0.1;
    sync(m);
    *out = m;
    return hnni_ok(err);
fail:
    hnn_dissipative_destroy(m);
    return st;
}

hnn_dissipation hnn_dissipative_kind(const hnn_dissipative *m)
{
    return m == NULL ? HNN_DISSIPATION_HELMHOLTZ : m->kind;
}

size_t hnn_dissipative_param_count(const hnn_dissipative *m)
{
    return m == NULL ? 0 : m->param_count;
}

hnn_status hnn_dissipative_params_get(const hnn_dissipative *m, double *params, size_t count)
{
    if (m == NULL || params == NULL)
        return HNN_ERR_NULL;
    if (count != m->param_count)
        return HNN_ERR_SIZE_MISMATCH;
    memcpy(params, m->params, count * sizeof(double));
    return HNN_OK;
}

hnn_status hnn_dissipative_params_set(hnn_dissipative *m, const double *params, size_t count)
{
    size_t bad;
    if (m == NULL)
        return HNN_ERR_NULL;
    m->message[0] = '\0';
    if (params == NULL)
        return hnni_refuse(m->message, HNN_ERR_NULL, "params must not be NULL");
    if (count != m->param_count)
        return hnni_refuse(m->message, HNN_ERR_SIZE_MISMATCH, "count %zu: the model has %zu "
                           "parameters", count, m->param_count);
    if ((bad = hnni_first_nonfinite(params, count)) != count)
        return hnni_refuse(m->message, HNN_ERR_NONFINITE, "params[%zu] is NaN or infinite; "
                           "the model keeps its parameters", bad);
    memcpy(m->params, params, count * sizeof(double));
    sync(m);
    return HNN_OK;
}

const hnn_net *hnn_dissipative_energy_net(const hnn_dissipative *m)
{
    return m == NULL ? NULL : m->h;
}

const hnn_net *hnn_dissipative_dissipation_net(const hnn_dissipative *m)
{
    return m == NULL ? NULL : m->d;
}

hnn_status hnn_dissipative_damping(const hnn_dissipative *m, double *R)
{
    if (m == NULL || R == NULL)
        return HNN_ERR_NULL;
    if (m->kind != HNN_DISSIPATION_PORT)
        return HNN_ERR_WRONG_KIND;
    memcpy(R, m->R, m->dim * m->dim * sizeof(double));
    return HNN_OK;
}

/* f at one state from grad H (gh) and grad D (gd, Helmholtz) or R (port). */
static void combine(const hnn_dissipative *m, const double *gh, const double *gd, double *f)
{
    const size_t n = m->n, dim = m->dim;
    size_t i, c;
    for (i = 0; i < n; i++) {
        f[i] = gh[n + i];      /* J grad H */
        f[n + i] = -gh[i];
    }
    if (m->kind == HNN_DISSIPATION_HELMHOLTZ) {
        for (i = 0; i < dim; i++)
            f[i] += gd[i];
        return;
    }
    for (i = 0; i < dim; i++) {
        double rg = 0.0;
        for (c = 0; c < dim; c++)
            rg += m->R[i * dim + c] * gh[c];
        f[i] -= rg;
    }
}

const char *hnn_dissipative_last_error(const hnn_dissipative *m)
{
    return m == NULL ? "" : m->message;
}

/* The checks a batch of count states x (and observed derivatives y, if not NULL) must pass
 * before anything is written to out, with the message on failure. */
static hnn_status begin_batch(hnn_dissipative *m, const double *x, const double *y,
                              const void *out, size_t count)
{
    size_t elems, bytes, bad;
    if (m == NULL)
        return HNN_ERR_NULL;
    m->message[0] = '\0';
    if (x == NULL || out == NULL)
        return hnni_refuse(m->message, HNN_ERR_NULL, "the states and the output must not be "
                           "NULL");
    if (count == 0)
        return hnni_refuse(m->message, HNN_ERR_INVALID_ARG, "count is 0: pass >= 1 state");
    if (!hnni_mul_size(count, m->dim, &elems) || !hnni_mul_size(elems, sizeof(double), &bytes))
        return hnni_refuse(m->message, HNN_ERR_TOO_LARGE, "count %zu: the arrays' sizes "
                           "overflow size_t", count);
    if ((bad = hnni_first_nonfinite(x, elems)) != elems ||
        (y != NULL && (bad = elems + hnni_first_nonfinite(y, elems)) != 2 * elems))
        return hnni_refuse(m->message, HNN_ERR_NONFINITE, "%s of state %zu holds NaN or "
                           "infinity (number %zu)", bad < elems ? "x" : "y",
                           bad % elems / m->dim, bad % elems % m->dim);
    return HNN_OK;
}

hnn_status hnn_dissipative_field(hnn_dissipative *m, const double *x, size_t count,
                                 double *field)
{
    size_t done, s;
    hnn_status st;
    if ((st = begin_batch(m, x, NULL, field, count)) != HNN_OK)
        return st;
    for (done = 0; done < count; done += FIELD_CHUNK) {
        const size_t bc = count - done < FIELD_CHUNK ? count - done : FIELD_CHUNK;
        const double *xc = x + done * m->dim;
        if ((st = hnn_net_gradient(m->h, hnn_net_workspace(m->h), xc, bc, NULL, m->gh)) != HNN_OK ||
            (m->d != NULL && (st = hnn_net_gradient(m->d, hnn_net_workspace(m->d), xc, bc, NULL,
                                                    m->gd)) != HNN_OK))
            return hnni_refuse(m->message, st, "a net of the model failed: %s",
                               hnn_status_string(st));
        for (s = 0; s < bc; s++)
            combine(m, m->gh + s * m->dim, m->gd + s * m->dim, field + (done + s) * m->dim);
    }
    return HNN_OK;
}

/* u = J^T v - R v (R for port only): what an adjoint v of the field sends to grad H, since
 * f = J grad H (- R grad H) and R is symmetric. */
static void to_grad_h(const hnn_dissipative *m, const double *v, double *u)
{
    const size_t n = m->n, dim = m->dim;
    size_t i, c;
    for (i = 0; i < dim; i++) {
        u[i] = i < n ? -v[n + i] : v[i - n];
        if (m->kind == HNN_DISSIPATION_PORT)
            for (c = 0; c < dim; c++)
                u[i] -= m->R[i * dim + c] * v[c];
    }
}

/* Sends the adjoint scale v of the field at state s of a chunk of bc (grad H there: g) back
 * to the nets' gradient rows: dL/d(grad H) = J^T v (- R v for port), dL/d(grad D) = v; and,
 * for port with grad_L, adds L's share: f = ... - L L^T g gives -(v g^T + g v^T) L. */
static void send_adjoint(hnn_dissipative *m, const double *g, const double *v, size_t s,
                         size_t bc, double scale, double *grad_L)
{
    const size_t dim = m->dim;
    double *bh = hnni_gradient_adjoint(m->lw_h);
    double *bd = m->d != NULL ? hnni_gradient_adjoint(m->lw_d) : NULL;
    double *u = m->scratch + 4 * dim;
    size_t i, a, b, c;
    to_grad_h(m, v, u);
    for (i = 0; i < dim; i++)
        bh[(1 + i) * bc + s] = scale * u[i];
    if (bd != NULL)
        for (i = 0; i < dim; i++)
            bd[(1 + i) * bc + s] = scale * v[i];
    if (grad_L != NULL)
        for (a = 0; a < dim; a++)
            for (b = 0; b <= a; b++) {
                double sum_c = 0.0;
                for (c = b; c < dim; c++) /* L[c][b] is 0 above the diagonal */
                    sum_c += (v[a] * g[c] + g[a] * v[c]) * *L_at(m, c, b);
                grad_L[a * (a + 1) / 2 + b] -= scale * sum_c;
            }
}

/* One chunk of the loss: residuals of f against y, each net's adjoint, and (port) L's
 * gradient. Returns the chunk's sum of squares. */
static double chunk_residual(hnn_dissipative *m, const double *rh, const double *rd,
                             const double *y, size_t bc, double scale, double *grad_L)
{
    const size_t dim = m->dim;
    double *g = m->scratch, *gd = g + dim, *f = gd + dim, *r = f + dim;
    double sum = 0.0;
    size_t s, i;
    for (s = 0; s < bc; s++) {
        for (i = 0; i < dim; i++) {
            g[i] = rh[(1 + i) * bc + s];
            gd[i] = rd != NULL ? rd[(1 + i) * bc + s] : 0.0;
        }
        combine(m, g, gd, f);
        for (i = 0; i < dim; i++) {
            r[i] = f[i] - y[s * dim + i];
            sum += r[i] * r[i];
        }
        send_adjoint(m, g, r, s, bc, scale, grad_L);
    }
    return sum;
}

hnn_status hnn_dissipative_loss_mse(hnn_dissipative *m, const double *x, const double *y,
                                    size_t count, double *loss, double *grad)
{
    size_t elems, done, chunk;
    double sum = 0.0, scale;
    hnn_status st;
    if ((st = begin_batch(m, x, y, y, count)) != HNN_OK)
        return st;
    elems = count * m->dim;
    scale = 2.0 / (double)elems;
    chunk = hnni_loss_chunk(m->lw_h);
    if (grad != NULL)
        memset(grad, 0, m->param_count * sizeof *grad);
    for (done = 0; done < count; done += chunk) {
        const size_t bc = count - done < chunk ? count - done : chunk;
        const double *xc = x + done * m->dim;
        const double *rh = hnni_gradient_forward(m->h, m->lw_h, xc, bc);
        const double *rd = m->d != NULL ? hnni_gradient_forward(m->d, m->lw_d, xc, bc) : NULL;
        double *grad_L = grad != NULL && m->kind == HNN_DISSIPATION_PORT ? grad + m->count_h : NULL;
        sum += chunk_residual(m, rh, rd, y + done * m->dim, bc, scale, grad_L);
        if (grad != NULL) {
            hnni_gradient_backward(m->h, m->lw_h, xc, bc, grad);
            if (m->d != NULL)
                hnni_gradient_backward(m->d, m->lw_d, xc, bc, grad + m->count_h);
        }
    }
    if (loss != NULL)
        *loss = sum / (double)elems;
    return HNN_OK;
}

/* ---- for the rollout loss (rollout.c, through dissipative_access.h) ------------------- */

const hnn_allocator *hnni_dissipative_allocator(const hnn_dissipative *m)
{
    return &m->alloc;
}

char *hnni_dissipative_message(hnn_dissipative *m)
{
    return m->message;
}

double *hnni_dissipative_params_for_update(hnn_dissipative *m)
{
    return m->params;
}

void hnni_dissipative_params_changed(hnn_dissipative *m)
{
    sync(m);
}

/* out_s = J_f(x_s)^T v_s. f = J grad H + grad D has J_f = J Hess H + Hess D, and f =
 * (J - R) grad H has J_f = (J - R) Hess H; the Hessians and R are symmetric, so J_f^T v =
 * Hess H (J^T v - R v) + Hess D v (the last for Helmholtz only). */
hnn_status hnni_dissipative_field_t(hnn_dissipative *m, const double *x, const double *v,
                                    size_t count, double *jac, double *out)
{
    const size_t dim = m->dim;
    double *u = m->scratch;
    size_t s, i, c;
    hnn_status st;
    if ((st = hnn_net_hessian(m->h, hnn_net_workspace(m->h), x, count, jac)) != HNN_OK)
        return hnni_refuse(m->message, st, "the Hessian of H failed: %s",
                           hnn_status_string(st));
    for (s = 0; s < count; s++) {
        const double *Hs = jac + s * dim * dim;
        to_grad_h(m, v + s * dim, u);
        for (i = 0; i < dim; i++) {
            double sum = 0.0;
            for (c = 0; c < dim; c++)
                sum += Hs[i * dim + c] * u[c];
            out[s * dim + i] = sum;
        }
    }
    if (m->d == NULL)
        return HNN_OK;
    if ((st = hnn_net_hessian(m->d, hnn_net_workspace(m->d), x, count, jac)) != HNN_OK)
        return hnni_refuse(m->message, st, "the Hessian of D failed: %s",
                           hnn_status_string(st));
    for (s = 0; s < count; s++)
        for (i = 0; i < dim; i++) {
            double sum = 0.0;
            for (c = 0; c < dim; c++)
                sum += jac[s * dim * dim + i * dim + c] * v[s * dim + c];
            out[s * dim + i] += sum;
        }
    return HNN_OK;
}

void hnni_dissipative_field_vjp(hnn_dissipative *m, const double *x, const double *v,
                                size_t count, double *grad)
{
    const size_t chunk = hnni_loss_chunk(m->lw_h), dim = m->dim;
    double *g = m->scratch;
    size_t done, s, i;
    for (done = 0; done < count; done += chunk) {
        const size_t bc = count - done < chunk ? count - done : chunk;
        const double *xc = x + done * dim;
        const double *rh = hnni_gradient_forward(m->h, m->lw_h, xc, bc);
        if (m->d != NULL)
            hnni_gradient_forward(m->d, m->lw_d, xc, bc);
        for (s = 0; s < bc; s++) {
            for (i = 0; i < dim; i++)
                g[i] = rh[(1 + i) * bc + s];
            send_adjoint(m, g, v + (done + s) * dim, s, bc, 1.0,
                         m->kind == HNN_DISSIPATION_PORT ? grad + m->count_h : NULL);
        }
        hnni_gradient_backward(m->h, m->lw_h, xc, bc, grad);
        if (m->d != NULL)
            hnni_gradient_backward(m->d, m->lw_d, xc, bc, grad + m->count_h);
    }
}

static hnn_status trainable_loss(void *self, const double *x, const double *y, size_t count,
                                 double *loss, double *grad)
{
    return hnn_dissipative_loss_mse((hnn_dissipative *)self, x, y, count, loss, grad);
}

hnn_status hnn_dissipative_train(hnn_dissipative *m, hnn_optimizer *opt,
                                 const hnn_dataset *train, const hnn_dataset *val,
                                 const hnn_train_def *def, hnn_train_result *result,
                                 hnn_error *err)
{
    hnni_trainable t;
    if (m == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_dissipative_train: m must not be NULL");
    t.self = m;
    t.alloc = &m->alloc;
    t.dof = m->n;
    t.param_count = m->param_count;
    t.params = m->params;
    t.loss = trainable_loss;
    t.sync = sync;
    return hnni_train(&t, opt, train, val, def, result, err);
}

/* Field sources and quantities: the adapters that present a net, an analytic system or a
 * dissipative model as the callbacks integrators and diagnostics take, and the conserved
 * quantities (energies, momenta) those measure. Every constructor fills a value struct whose
 * struct_size the caller set (core.h). */
#include "hnn/diag.h"
#include "hnn/dissipative.h"
#include "hnn/field.h"

#include <string.h>

#include "core.h"
#include "net_access.h"
#include "systems.h"

/* Writes *src into the caller's *out, whose struct_size must be a released size. */
static hnn_status publish_source(hnn_field_source *out, const hnn_field_source *src)
{
    return hnni_copy_def_out(out, src, sizeof *src, NULL);
}

static hnn_status publish_quantity(hnn_quantity *out, const hnn_quantity *q)
{
    return hnni_copy_def_out(out, q, sizeof *q, NULL);
}

/* ---- nets ------------------------------------------------------------------------------ */

/* A net source's context is the workspace: it knows its net (hnni_workspace_net). Every
 * callback first checks that the caller's arrays (dim numbers) are the net's state: a
 * source whose dim was edited is refused, never read or written past. */
static const hnn_net *net_for(void *ctx, size_t dim)
{
    const hnn_net *net = hnni_workspace_net((hnn_workspace *)ctx);
    return dim == 2 * hnn_net_dof(net) ? net : NULL;
}

static hnn_status net_source_field(void *ctx, size_t dim, const double *x, double *f)
{
    const hnn_net *net = net_for(ctx, dim);
    return net == NULL ? HNN_ERR_SIZE_MISMATCH : hnn_net_field(net, ctx, x, 1, f);
}

static hnn_status net_source_energy(void *ctx, size_t dim, const double *x, double *energy)
{
    const hnn_net *net = net_for(ctx, dim);
    return net == NULL ? HNN_ERR_SIZE_MISMATCH : hnn_net_energy(net, ctx, x, 1, energy);
}

static hnn_status net_source_jacobian(void *ctx, size_t dim, const double *x, double *jac)
{
    const hnn_net *net = net_for(ctx, dim);
    return net == NULL ? HNN_ERR_SIZE_MISMATCH : hnn_net_field_jacobian(net, ctx, x, 1, jac);
}

hnn_status hnn_field_source_net(const hnn_net *net, hnn_workspace *ws, hnn_field_source *out)
{
    hnn_field_source src;
    if (net == NULL || out == NULL || ws == NULL)
        return HNN_ERR_NULL;
    if (hnni_workspace_net(ws) != net)
        return HNN_ERR_SIZE_MISMATCH;
    src.struct_size = sizeof src;
    src.dim = 2 * hnn_net_dof(net);
    src.field = net_source_field;
    src.energy = hnni_net_kind(net) == HNN_NET_HAMILTONIAN ? net_source_energy : NULL;
    src.ctx = ws;
    src.separable = hnni_net_separable(net);
    src.jacobian = net_source_jacobian;
    return publish_source(out, &src);
}

static hnn_status net_energy_quantity(void *ctx, size_t dim, const double *x, double *value,
                                      double *grad)
{
    const hnn_net *net = net_for(ctx, dim);
    if (net == NULL)
        return HNN_ERR_SIZE_MISMATCH;
    if (grad != NULL)
        return hnn_net_gradient(net, ctx, x, 1, value, grad);
    return hnn_net_energy(net, ctx, x, 1, value);
}

hnn_status hnn_quantity_net_energy(const hnn_net *net, hnn_workspace *ws, hnn_quantity *out)
{
    hnn_quantity q;
    if (net == NULL || out == NULL)
        return HNN_ERR_NULL;
    if (hnni_net_kind(net) != HNN_NET_HAMILTONIAN)
        return HNN_ERR_WRONG_KIND;
    if (ws == NULL)
        return HNN_ERR_NULL;
    if (hnni_workspace_net(ws) != net)
        return HNN_ERR_SIZE_MISMATCH;
    q.struct_size = sizeof q;
    q.dim = 2 * hnn_net_dof(net);
    q.fn = net_energy_quantity;
    q.ctx = ws;
    return publish_quantity(out, &q);
}

/* ---- analytic systems ------------------------------------------------------------------ */

/* The context of a system source names the system; these constants are never written. */
static const hnn_system system_ids[] = {HNN_SYSTEM_SPRING, HNN_SYSTEM_GREYDANUS_SPRING,
                                        HNN_SYSTEM_PENDULUM, HNN_SYSTEM_TWO_BODY,
                                        HNN_SYSTEM_THREE_BODY, HNN_SYSTEM_CHAIN};

static hnn_status check_system(hnn_system system, const void *out)
{
    if (out == NULL)
        return HNN_ERR_NULL;
    return hnni_system_known(system) ? HNN_OK : HNN_ERR_INVALID_ARG;
}

/* 1 if the caller's arrays (dim numbers) are the system's state */
static int system_fits(void *ctx, size_t dim)
{
    return dim == 2 * hnn_system_dof(*(const hnn_system *)ctx);
}

static hnn_status system_field(void *ctx, size_t dim, const double *x, double *f)
{
    if (!system_fits(ctx, dim))
        return HNN_ERR_SIZE_MISMATCH;
    hnni_system_field(*(const hnn_system *)ctx, x, f);
    return HNN_OK;
}

static hnn_status system_energy(void *ctx, size_t dim, const double *x, double *energy)
{
    if (!system_fits(ctx, dim))
        return HNN_ERR_SIZE_MISMATCH;
    *energy = hnn_system_energy(*(const hnn_system *)ctx, x);
    return HNN_OK;
}

hnn_status hnn_field_source_system(hnn_system system, hnn_field_source *out)
{
    hnn_field_source src;
    hnn_status st = check_system(system, out);
    if (st != HNN_OK)
        return st;
    src.struct_size = sizeof src;
    src.dim = 2 * hnn_system_dof(system);
    src.field = system_field;
    src.energy = system_energy;
    src.ctx = (void *)&system_ids[system];
    src.separable = 1;
    src.jacobian = NULL;
    return publish_source(out, &src);
}

static hnn_status system_energy_quantity(void *ctx, size_t dim, const double *x, double *value,
                                         double *grad)
{
    const hnn_system sys = *(const hnn_system *)ctx;
    if (!system_fits(ctx, dim))
        return HNN_ERR_SIZE_MISMATCH;
    *value = hnn_system_energy(sys, x);
    if (grad != NULL) { /* f = J grad H, so grad H = (-f_p, f_q) */
        const size_t n = hnn_system_dof(sys);
        double f[HNNI_SYSTEM_MAX_DIM];
        size_t i;
        hnni_system_field(sys, x, f);
        for (i = 0; i < n; i++) {
            grad[i] = -f[n + i];
            grad[n + i] = f[i];
        }
    }
    return HNN_OK;
}

hnn_status hnn_quantity_system_energy(hnn_system system, hnn_quantity *out)
{
    hnn_quantity q;
    hnn_status st = check_system(system, out);
    if (st != HNN_OK)
        return st;
    q.struct_size = sizeof q;
    q.dim = 2 * hnn_system_dof(system);
    q.fn = system_energy_quantity;
    q.ctx = (void *)&system_ids[system];
    return publish_quantity(out, &q);
}

/* ---- dissipative models ---------------------------------------------------------------- */

static hnn_status dissipative_field(void *ctx, size_t dim, const double *x, double *f)
{
    hnn_dissipative *m = (hnn_dissipative *)ctx;
    if (dim != 2 * hnn_net_dof(hnn_dissipative_energy_net(m)))
        return HNN_ERR_SIZE_MISMATCH;
    return hnn_dissipative_field(m, x, 1, f);
}

hnn_status hnn_field_source_dissipative(hnn_dissipative *m, hnn_field_source *out)
{
    hnn_field_source src;
    if (m == NULL || out == NULL)
        return HNN_ERR_NULL;
    src.struct_size = sizeof src;
    src.dim = 2 * hnn_net_dof(hnn_dissipative_energy_net(m));
    src.field = dissipative_field;
    src.energy = NULL;
    src.ctx = m;
    src.separable = 0;
    src.jacobian = NULL;
    return publish_source(out, &src);
}

/* ---- momenta of bodies ----------------------------------------------------------------- */

static hnn_status momentum_quantity(void *ctx, size_t dim, const double *x, double *value,
                                   double *grad)
{
    const hnn_bodies *b = (const hnn_bodies *)ctx;
    const size_t n = b->dof, d = n / b->bodies;
    size_t k;
    if (dim != 2 * n)
        return HNN_ERR_SIZE_MISMATCH;
    *value = 0.0;
    for (k = 0; k < b->bodies; k++)
        *value += x[n + k * d + b->axis];
    if (grad != NULL) {
        memset(grad, 0, 2 * n * sizeof *grad);
        for (k = 0; k < b->bodies; k++)
            grad[n + k * d + b->axis] = 1.0;
    }
    return HNN_OK;
}

static hnn_status angular_momentum_quantity(void *ctx, size_t dim, const double *x,
                                            double *value, double *grad)
{
    const hnn_bodies *b = (const hnn_bodies *)ctx;
    const size_t n = b->dof;
    size_t k;
    if (dim != 2 * n)
        return HNN_ERR_SIZE_MISMATCH;
    *value = 0.0;
    for (k = 0; k < b->bodies; k++) {
        const double *q = x + 2 * k, *p = x + n + 2 * k;
        *value += q[0] * p[1] - q[1] * p[0];
        if (grad != NULL) {
            grad[2 * k] = p[1], grad[2 * k + 1] = -p[0];
            grad[n + 2 * k] = -q[1], grad[n + 2 * k + 1] = q[0];
        }
    }
    return HNN_OK;
}

static int bodies_fit(const hnn_bodies *b)
{
    return hnni_value_ok(b, sizeof *b) && b->dof >= 1 && b->dof <= HNN_MAX_DOF &&
           b->bodies >= 1 && b->dof % b->bodies == 0;
}

static hnn_status bodies_quantity(const hnn_bodies *spec, hnn_quantity_fn fn, hnn_quantity *out)
{
    hnn_quantity q;
    q.struct_size = sizeof q;
    q.dim = 2 * spec->dof;
    q.fn = fn;
    q.ctx = (void *)spec;
    return publish_quantity(out, &q);
}

hnn_status hnn_quantity_momentum(const hnn_bodies *spec, hnn_quantity *out)
{
    if (spec == NULL || out == NULL)
        return HNN_ERR_NULL;
    if (!bodies_fit(spec) || spec->axis >= spec->dof / spec->bodies)
        return HNN_ERR_INVALID_ARG;
    return bodies_quantity(spec, momentum_quantity, out);
}

hnn_status hnn_quantity_angular_momentum(const hnn_bodies *spec, hnn_quantity *out)
{
    if (spec == NULL || out == NULL)
        return HNN_ERR_NULL;
    if (!bodies_fit(spec) || spec->dof != 2 * spec->bodies)
        return HNN_ERR_INVALID_ARG;
    return bodies_quantity(spec, angular_momentum_quantity, out);
}

/* Batched steppers: one step of leapfrog, symplectic Euler or implicit midpoint for many
 * independent states, in double or in float, with every buffer made at creation. The method
 * is written once (stepper_tmpl.h) and compiled for both precisions. Works through the public
 * evaluation calls, so each state is stepped exactly as it would be alone. */
#include "hnn/stepper.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "net_access.h"

#define MAX_COUNT ((size_t)1 << 20)
#define MAX_ITERATIONS 1000

struct hnn_stepper {
    hnn_allocator alloc;
    hnn_method method;
    size_t dim, max_count, max_iterations;
    double mass;             /* the net's kinetic mass (explicit methods) */
    hnn_workspace *ws;
    double *d[3];            /* max_count x dim each: the double step's y and scratch */
    float *f[3];             /* the float step's */
    unsigned char *done;     /* max_count: the midpoint's converged states */
    char message[HNN_ERROR_MESSAGE_SIZE];
};

void hnn_stepper_def_init(hnn_stepper_def *def, size_t struct_size)
{
    hnn_stepper_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.method = HNN_METHOD_LEAPFROG;
    d.max_count = 1024;
    d.max_iterations = 100;
    d.allocator.fn = NULL;
    d.allocator.user = NULL;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

static int explicit_method(hnn_method m)
{
    return m == HNN_METHOD_LEAPFROG || m == HNN_METHOD_SYMPLECTIC_EULER;
}

/* The method against the net: explicit methods need H = |p|^2 / (2m) + V(q). */
static hnn_status check_method(hnn_method method, const hnn_net *net, char *message)
{
    if (!explicit_method(method) && method != HNN_METHOD_IMPLICIT_MIDPOINT)
        return hnni_refuse(message, HNN_ERR_INVALID_ARG, "method %s: a stepper takes "
                           "leapfrog, symplectic-euler or implicit-midpoint",
                           hnn_method_name(method) ? hnn_method_name(method) : "(unknown)");
    if (explicit_method(method) && !hnni_net_separable(net))
        return hnni_refuse(message, HNN_ERR_INVALID_ARG, "method %s is explicit only for a "
                           "separable net (positions features with a kinetic mass); this net "
                           "is not: use implicit-midpoint", hnn_method_name(method));
    return HNN_OK;
}

void hnn_stepper_destroy(hnn_stepper *s)
{
    hnn_allocator alloc;
    size_t k, cells;
    if (s == NULL)
        return;
    alloc = s->alloc;
    cells = s->max_count * s->dim;
    hnn_workspace_destroy(s->ws);
    for (k = 0; k < 3; k++) {
        hnni_free_aligned(&alloc, s->d[k], cells * sizeof(double));
        hnni_free_aligned(&alloc, s->f[k], cells * sizeof(float));
    }
    hnni_free(&alloc, s->done, s->max_count);
    hnni_free(&alloc, s, sizeof *s);
}

hnn_status hnn_stepper_create(const hnn_net *net, const hnn_stepper_def *def,
                              hnn_stepper **out, hnn_error *err)
{
    hnn_stepper_def d;
    hnn_net_def nd = hnn_net_def_default();
    hnn_allocator alloc;
    hnn_stepper *s;
    char why[HNN_ERROR_MESSAGE_SIZE];
    size_t cells, k;
    hnn_status st;
    if (out != NULL)
        *out = NULL;
    if (net == NULL || def == NULL || out == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_stepper_create: net, def and out must not be "
                         "NULL");
    hnn_stepper_def_init(&d, sizeof d);
    if ((st = hnni_read_def(def, &d, sizeof d, NULL, "hnn_stepper_def", err)) != HNN_OK)
        return st;
    if (d.max_count == 0 || d.max_count > MAX_COUNT)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "max_count %zu: 1 to %zu states per call",
                         d.max_count, MAX_COUNT);
    if (d.max_iterations == 0 || d.max_iterations > MAX_ITERATIONS)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "max_iterations %zu: 1 to %d", d.max_iterations,
                         MAX_ITERATIONS);
    if (check_method(d.method, net, why) != HNN_OK)
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "%s", why);
    hnn_net_get_def(net, &nd);
    alloc = hnni_allocator_resolve(d.allocator);
    s = (hnn_stepper *)hnni_alloc(&alloc, sizeof *s);
    if (s == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a stepper");
    memset(s, 0, sizeof *s);
    s->alloc = alloc;
    s->method = d.method;
    s->dim = 2 * nd.dof;
    s->max_count = d.max_count;
    s->max_iterations = d.max_iterations;
    s->mass = nd.kinetic_mass;
    if (!hnni_mul_size(d.max_count, s->dim, &cells) ||
        !hnni_mul_size(cells, sizeof(double), &k)) { /* 2^33 doubles overflow a 32-bit size_t */
        hnn_stepper_destroy(s);
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "max_count %zu states of %zu numbers: the "
                         "buffers' size overflows size_t", d.max_count, 2 * nd.dof);
    }
    for (k = 0; k < 3; k++) {
        s->d[k] = (double *)hnni_alloc_aligned(&alloc, cells * sizeof(double));
        s->f[k] = (float *)hnni_alloc_aligned(&alloc, cells * sizeof(float));
        if (s->d[k] == NULL || s->f[k] == NULL)
            goto no_memory;
    }
    if ((s->done = (unsigned char *)hnni_alloc(&alloc, d.max_count)) == NULL)
        goto no_memory;
    if ((st = hnn_workspace_create(net, &s->ws, err)) != HNN_OK) {
        hnn_stepper_destroy(s);
        return st;
    }
    *out = s;
    return hnni_ok(err);
no_memory:
    hnn_stepper_destroy(s);
    return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate a stepper's buffers for %zu "
                     "states", d.max_count);
}

const char *hnn_stepper_last_error(const hnn_stepper *s)
{
    return s == NULL ? "" : s->message;
}

/* The arguments every step checks, before anything is read. */
static hnn_status check_call(hnn_stepper *s, const hnn_net *net, const void *x, size_t count,
                             double h)
{
    s->message[0] = '\0';
    if (net == NULL || x == NULL)
        return hnni_refuse(s->message, HNN_ERR_NULL, "the net and the states must not be NULL");
    if (count == 0 || count > s->max_count)
        return hnni_refuse(s->message, HNN_ERR_INVALID_ARG, "count %zu: this stepper takes 1 "
                           "to %zu states (hnn_stepper_def.max_count)", count, s->max_count);
    if (!isfinite(h) || h == 0.0)
        return hnni_refuse(s->message, HNN_ERR_INVALID_ARG, "step %g: h must be finite and "
                           "non-zero", h);
    hnn_net_def nd = hnn_net_def_default();
    if (2 * hnn_net_dof(net) != s->dim)
        return hnni_refuse(s->message, HNN_ERR_SIZE_MISMATCH, "the stepper was made for states "
                           "of %zu numbers; this net's have %zu", s->dim, 2 * hnn_net_dof(net));
    hnn_net_get_def(net, &nd);
    s->mass = nd.kinetic_mass; /* the net's own: a stepper serves any net of its shape */
    return check_method(s->method, net, s->message);
}

static double abs_double(double v)
{
    return fabs(v);
}

static float abs_float(float v)
{
    return fabsf(v);
}

static hnn_status gradient_double(const hnn_net *net, hnn_workspace *ws, const double *x,
                                  size_t count, double *g)
{
    return hnn_net_gradient(net, ws, x, count, NULL, g);
}

static hnn_status gradient_float(const hnn_net *net, hnn_workspace *ws, const float *x,
                                 size_t count, float *g)
{
    return hnn_net_gradient_f32(net, ws, x, count, NULL, g);
}

#define REAL double
#define SN(name) name##_double
#define EPS DBL_EPSILON
#define GRADIENT gradient_double
#define FIELD hnn_net_field
#include "stepper_tmpl.h"
#undef REAL
#undef SN
#undef EPS
#undef GRADIENT
#undef FIELD

#define REAL float
#define SN(name) name##_float
#define EPS FLT_EPSILON
#define GRADIENT gradient_float
#define FIELD hnn_net_field_f32
#include "stepper_tmpl.h"

hnn_status hnn_stepper_step(hnn_stepper *s, const hnn_net *net, double *x, size_t count,
                            double h)
{
    return step_double(s, net, x, count, h, s != NULL ? s->d : NULL);
}

hnn_status hnn_stepper_step_f32(hnn_stepper *s, const hnn_net *net, float *x, size_t count,
                                float h)
{
    return step_float(s, net, x, count, h, s != NULL ? s->f : NULL);
}

/* Symplectic splitting-type methods: symplectic Euler, Stormer-Verlet (leapfrog) and its
 * Yoshida composition, and Tao's explicit method in an extended phase space.
 *
 * Written with the field f = J grad H, so dH/dp = f_q and -dH/dq = f_p. For a separable
 * source (f_q depends on p only, f_p on q only) leapfrog and symplectic Euler are explicit;
 * otherwise their implicit equations are solved by fixed-point iteration. */
#include <math.h>
#include <string.h>

#include "core.h"
#include "integrate_impl.h"

/* What a fixed-point map of the p or q half needs. */
typedef struct half_map {
    const double *q, *p;  /* the fixed other half (may point into a state) */
    const double *base;   /* the half the update starts from */
    const double *extra;  /* leapfrog's q update: f_q(q_n, p_half), else NULL */
    double coef;          /* step multiplier */
    double *state, *f;    /* scratch: assembled state and its field */
} half_map;

/* z -> base + coef * f_p(q, z): the implicit p update (p_new in symplectic Euler, p_half in
 * leapfrog); *terms = max |base| + |coef f_p|. */
static hnn_status map_p(hnn_integrator *in, const hnn_field_source *src, void *ctx,
                        const double *z, double *out, double *terms)
{
    half_map *m = (half_map *)ctx;
    const size_t n = in->n;
    size_t i;
    hnn_status st;
    *terms = 0.0;
    memcpy(m->state, m->q, n * sizeof *z);
    memcpy(m->state + n, z, n * sizeof *z);
    if ((st = hnni_eval(in, src, m->state, m->f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++) {
        const double step = m->coef * m->f[n + i];
        out[i] = m->base[i] + step;
        *terms = fmax(*terms, fabs(m->base[i]) + fabs(step));
    }
    return HNN_OK;
}

/* z -> base + coef * (extra + f_q(z, p)): leapfrog's implicit q update; *terms as map_p. */
static hnn_status map_q(hnn_integrator *in, const hnn_field_source *src, void *ctx,
                        const double *z, double *out, double *terms)
{
    half_map *m = (half_map *)ctx;
    const size_t n = in->n;
    size_t i;
    hnn_status st;
    *terms = 0.0;
    memcpy(m->state, z, n * sizeof *z);
    memcpy(m->state + n, m->p, n * sizeof *z);
    if ((st = hnni_eval(in, src, m->state, m->f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++) {
        out[i] = m->base[i] + m->coef * (m->extra[i] + m->f[i]);
        *terms = fmax(*terms, fabs(m->base[i]) + fabs(m->coef) * (fabs(m->extra[i]) + fabs(m->f[i])));
    }
    return HNN_OK;
}

/* Solves p' = p + c f_p(q, p') into pn (explicit if separable). Uses v[10..13]. */
static hnn_status implicit_p(hnn_integrator *in, const hnn_field_source *src, const double *q,
                             const double *p, double c, double *pn)
{
    const size_t n = in->n;
    half_map m;
    double terms;
    hnn_status st;
    m.q = q;
    m.p = NULL;
    m.base = p;
    m.extra = NULL;
    m.coef = c;
    m.state = in->v[10];
    m.f = in->v[11];
    /* the explicit update is the first iterate, and exact for a separable source */
    if ((st = map_p(in, src, &m, p, pn, &terms)) != HNN_OK || src->separable)
        return st;
    return hnni_fixed_point(in, src, map_p, &m, pn, in->v[12], n);
}

hnn_status hnni_step_symplectic_euler(hnn_integrator *in, const hnn_field_source *src,
                                      const double *x, double h, double *out)
{
    /* p' = p + h f_p(q, p'), then q' = q + h f_q(q, p') */
    const size_t n = in->n;
    double *state = in->v[0], *f = in->v[1];
    size_t i;
    hnn_status st;
    if ((st = implicit_p(in, src, x, x + n, h, out + n)) != HNN_OK)
        return st;
    memcpy(state, x, n * sizeof *x);
    memcpy(state + n, out + n, n * sizeof *x);
    if ((st = hnni_eval(in, src, state, f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++)
        out[i] = x[i] + h * f[i];
    return HNN_OK;
}

/* Stormer-Verlet from x into out (v[0..3], v[10..13]):
 *   p_half = p + h/2 f_p(q, p_half)
 *   q'     = q + h/2 (f_q(q, p_half) + f_q(q', p_half))
 *   p'     = p_half + h/2 f_p(q', p_half)                                               */
static hnn_status leapfrog(hnn_integrator *in, const hnn_field_source *src, const double *x,
                           double h, double *out)
{
    const size_t n = in->n;
    double *state = in->v[0], *f = in->v[1], *fq0 = in->v[2], *p_half = in->v[3];
    half_map m;
    size_t i;
    hnn_status st;
    if ((st = implicit_p(in, src, x, x + n, 0.5 * h, p_half)) != HNN_OK)
        return st;
    memcpy(state, x, n * sizeof *x);
    memcpy(state + n, p_half, n * sizeof *x);
    if ((st = hnni_eval(in, src, state, f)) != HNN_OK)
        return st;
    memcpy(fq0, f, n * sizeof *x);
    for (i = 0; i < n; i++) /* guess q' = q + h f_q(q, p_half); exact if separable */
        out[i] = x[i] + h * fq0[i];
    if (!src->separable) {
        m.q = NULL;
        m.p = p_half;
        m.base = x;
        m.extra = fq0;
        m.coef = 0.5 * h;
        m.state = in->v[10];
        m.f = in->v[11];
        if ((st = hnni_fixed_point(in, src, map_q, &m, out, in->v[12], n)) != HNN_OK)
            return st;
    }
    memcpy(state, out, n * sizeof *x);
    memcpy(state + n, p_half, n * sizeof *x);
    if ((st = hnni_eval(in, src, state, f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++)
        out[n + i] = p_half[i] + 0.5 * h * f[n + i];
    return HNN_OK;
}

hnn_status hnni_step_leapfrog(hnn_integrator *in, const hnn_field_source *src, const double *x,
                              double h, double *out)
{
    return leapfrog(in, src, x, h, out);
}

/* Yoshida (1990): the symmetric triple jump S(w1 h) S(w0 h) S(w1 h) of the order-2 leapfrog
 * S, with w1 = 1 / (2 - 2^(1/3)), w0 = 1 - 2 w1, has order 4. */
hnn_status hnni_step_yoshida4(hnn_integrator *in, const hnn_field_source *src, const double *x,
                              double h, double *out)
{
    const double cbrt2 = 1.2599210498948731647672106072782;
    const double w1 = 1.0 / (2.0 - cbrt2), w0 = 1.0 - 2.0 * w1;
    double *a = in->v[5], *b = in->v[6];
    hnn_status st;
    if ((st = leapfrog(in, src, x, w1 * h, a)) != HNN_OK ||
        (st = leapfrog(in, src, a, w0 * h, b)) != HNN_OK)
        return st;
    return leapfrog(in, src, b, w1 * h, out);
}

/* ---- Tao (2016) ------------------------------------------------------------------------- *
 * Extended phase space (q, p, x, y) with H(q, y) + H(x, p) + omega/2 (|q - x|^2 + |p - y|^2).
 * Each piece has an exact flow: A (H(q, y)) moves p and x; B (H(x, p)) moves q and y; C
 * rotates the differences (q - x, p - y) by the angle 2 omega delta. The symmetric
 * composition A B C B A (half steps around C) is explicit and of order 2. The copies (x, y)
 * persist across steps while the caller continues from the state the last step returned.   */

typedef struct tao_state {
    double *q, *p, *x, *y, *f, *tmp;
} tao_state;

/* A with time d: the field at (q, y) moves p and x. */
static hnn_status tao_a(hnn_integrator *in, const hnn_field_source *src, tao_state *s, double d)
{
    const size_t n = in->n;
    size_t i;
    hnn_status st;
    memcpy(s->tmp, s->q, n * sizeof *s->q);
    memcpy(s->tmp + n, s->y, n * sizeof *s->q);
    if ((st = hnni_eval(in, src, s->tmp, s->f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++) {
        s->p[i] += d * s->f[n + i];
        s->x[i] += d * s->f[i];
    }
    return HNN_OK;
}

/* B with time d: the field at (x, p) moves q and y. */
static hnn_status tao_b(hnn_integrator *in, const hnn_field_source *src, tao_state *s, double d)
{
    const size_t n = in->n;
    size_t i;
    hnn_status st;
    memcpy(s->tmp, s->x, n * sizeof *s->q);
    memcpy(s->tmp + n, s->p, n * sizeof *s->q);
    if ((st = hnni_eval(in, src, s->tmp, s->f)) != HNN_OK)
        return st;
    for (i = 0; i < n; i++) {
        s->q[i] += d * s->f[i];
        s->y[i] += d * s->f[n + i];
    }
    return HNN_OK;
}

/* C with time d: the exact rotation of the coupling term. */
static void tao_c(size_t n, tao_state *s, double omega, double d)
{
    const double c = cos(2.0 * omega * d), sn = sin(2.0 * omega * d);
    size_t i;
    for (i = 0; i < n; i++) {
        const double sq = s->q[i] + s->x[i], sp = s->p[i] + s->y[i];
        const double dq = s->q[i] - s->x[i], dp = s->p[i] - s->y[i];
        const double rq = c * dq + sn * dp, rp = -sn * dq + c * dp;
        s->q[i] = 0.5 * (sq + rq);
        s->x[i] = 0.5 * (sq - rq);
        s->p[i] = 0.5 * (sp + rp);
        s->y[i] = 0.5 * (sp - rp);
    }
}

hnn_status hnni_step_tao(hnn_integrator *in, const hnn_field_source *src, const double *x,
                         double h, double *out)
{
    const size_t n = in->n, dim = in->dim;
    double *copies = in->v[HNNI_WORK_VECTORS - 2]; /* committed by hnn_integrator_step */
    tao_state s;
    hnn_status st;
    memcpy(out, x, dim * sizeof *x);
    if (in->tao_valid && memcmp(x, in->tao_last, dim * sizeof *x) == 0)
        memcpy(copies, in->tao_copy, dim * sizeof *x); /* continuing: keep the copies */
    else
        memcpy(copies, x, dim * sizeof *x);            /* a new start: copies = state */
    s.q = out;
    s.p = out + n;
    s.x = copies;
    s.y = copies + n;
    s.f = in->v[0];
    s.tmp = in->v[1];
    if ((st = tao_a(in, src, &s, 0.5 * h)) != HNN_OK || (st = tao_b(in, src, &s, 0.5 * h)) != HNN_OK)
        return st;
    tao_c(n, &s, in->def.tao_omega, h);
    if ((st = tao_b(in, src, &s, 0.5 * h)) != HNN_OK)
        return st;
    return tao_a(in, src, &s, 0.5 * h);
}

/* Private: one step of the batched stepper (stepper.c) in one precision, compiled for double
 * and for float: stepper.c defines REAL, SN(name), EPS (the type's epsilon), GRADIENT and
 * FIELD (the evaluation calls of that precision) before including it. */

/* The explicit methods of a separable net, H = |p|^2 / (2m) + V(q): symplectic Euler
 * p' = p - h dV/dq(q), q' = q + h p' / m; leapfrog the kick-drift-kick p_half = p - h/2
 * dV/dq(q), q' = q + h p_half / m, p' = p_half - h/2 dV/dq(q'). x into y; g is scratch. */
static hnn_status SN(explicit_step)(hnn_stepper *s, const hnn_net *net, const REAL *x,
                                    size_t count, REAL h, REAL *y, REAL *g)
{
    const size_t dim = s->dim, n = dim / 2;
    const int leapfrog = s->method == HNN_METHOD_LEAPFROG;
    const REAL kick = leapfrog ? (REAL)0.5 * h : h;
    const double m = s->mass; /* p / m in double: a float mass could underflow or overflow */
    size_t st, i;
    hnn_status status;
    if ((status = GRADIENT(net, s->ws, x, count, g)) != HNN_OK)
        return status;
    for (st = 0; st < count; st++) {
        const REAL *xs = x + st * dim, *gs = g + st * dim;
        REAL *ys = y + st * dim;
        for (i = 0; i < n; i++) {
            ys[n + i] = xs[n + i] - kick * gs[i];
            ys[i] = xs[i] + h * (REAL)((double)ys[n + i] / m);
        }
    }
    if (!leapfrog)
        return HNN_OK;
    if ((status = GRADIENT(net, s->ws, y, count, g)) != HNN_OK)
        return status;
    for (st = 0; st < count; st++)
        for (i = 0; i < n; i++)
            y[st * dim + n + i] -= kick * g[st * dim + i];
    return HNN_OK;
}

/* Implicit midpoint, y = x + h f((x + y) / 2), by fixed-point iteration from y = x + h f(x).
 * A state is done when no component moved by more than 4 EPS (|x_i| + |h f_i|), the
 * round-off of the terms it is made of; a done state is never touched again, so its bits do
 * not depend on the other states of the batch. f and mid are scratch. */
static hnn_status SN(midpoint_step)(hnn_stepper *s, const hnn_net *net, const REAL *x,
                                    size_t count, REAL h, REAL *y, REAL *f, REAL *mid)
{
    const size_t dim = s->dim, total = count * dim;
    size_t it, st, i, left = count;
    REAL worst = 0;
    hnn_status status;
    if ((status = FIELD(net, s->ws, x, count, f)) != HNN_OK)
        return status;
    for (i = 0; i < total; i++) {
        y[i] = x[i] + h * f[i];
        mid[i] = (REAL)0.5 * (x[i] + y[i]);
    }
    memset(s->done, 0, count);
    for (it = 0; it < s->max_iterations && left > 0; it++) {
        if ((status = FIELD(net, s->ws, mid, count, f)) != HNN_OK)
            return status;
        for (st = 0; st < count; st++) {
            const REAL *xs = x + st * dim, *fs = f + st * dim;
            REAL *ys = y + st * dim, *ms = mid + st * dim;
            REAL change = 0;
            int moved = 0;
            if (s->done[st])
                continue;
            for (i = 0; i < dim; i++) {
                const REAL step = h * fs[i], next = xs[i] + step;
                const REAL bound = 4 * EPS * (SN(abs)(xs[i]) + SN(abs)(step));
                if (!(SN(abs)(next - ys[i]) <= bound)) /* NaN moves */
                    moved = 1;
                if (SN(abs)(next - ys[i]) > change)
                    change = SN(abs)(next - ys[i]);
                ys[i] = next;
                ms[i] = (REAL)0.5 * (xs[i] + next);
            }
            if (!moved) {
                s->done[st] = 1;
                left--;
            } else if (it + 1 == s->max_iterations && worst == 0) {
                worst = change; /* the first state left: its last correction */
            }
        }
    }
    if (left == 0)
        return HNN_OK;
    for (st = 0; st < count && s->done[st]; st++)
        ;
    return hnni_refuse(s->message, HNN_ERR_NO_CONVERGENCE, "implicit midpoint: state %zu did "
                       "not converge in %zu iterations (last correction %.3g): try a smaller "
                       "step", st, s->max_iterations, (double)worst);
}

static hnn_status SN(step)(hnn_stepper *s, const hnn_net *net, REAL *x, size_t count, REAL h,
                           REAL *const *buf)
{
    size_t bad, i;
    hnn_status st;
    if (s == NULL)
        return HNN_ERR_NULL;
    if ((st = check_call(s, net, x, count, (double)h)) != HNN_OK)
        return st;
    st = s->method == HNN_METHOD_IMPLICIT_MIDPOINT
             ? SN(midpoint_step)(s, net, x, count, h, buf[0], buf[1], buf[2])
             : SN(explicit_step)(s, net, x, count, h, buf[0], buf[1]);
    if (st != HNN_OK) {
        if (s->message[0] == '\0') /* the evaluation's reason, from its workspace */
            snprintf(s->message, sizeof s->message, "%s", hnn_workspace_last_error(s->ws));
        return st;
    }
    for (bad = 0; bad < count * s->dim && isfinite(buf[0][bad]); bad++)
        ;
    if (bad < count * s->dim)
        return hnni_refuse(s->message, HNN_ERR_NONFINITE, "the step took state %zu to NaN or "
                           "infinity (number %zu): try a smaller step", bad / s->dim,
                           bad % s->dim);
    for (i = 0; i < count * s->dim; i++)
        x[i] = buf[0][i];
    return HNN_OK;
}

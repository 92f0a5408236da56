/* Tests for the diagnostics, each on a case with a known answer: the spring's exact flow, a
 * field of known constant divergence, RK4's exact energy loss on the spring, hand-computed
 * Poisson brackets, and nets. */
#include "test_util.h"

#include <stdio.h>

static const double two_pi = 6.283185307179586476925286766559;

static hnn_diagnostics *make_diag(size_t dim)
{
    hnn_diagnostics_def def = hnn_diagnostics_def_default();
    hnn_diagnostics *d = NULL;
    def.dim = dim;
    assert_int_equal(hnn_diagnostics_create(&def, &d, NULL), HNN_OK);
    return d;
}

static hnn_integrator *make_integ(hnn_method m, size_t dim)
{
    hnn_integrator_def def = hnn_integrator_def_default();
    hnn_integrator *in = NULL;
    def.method = m;
    def.dim = dim;
    assert_int_equal(hnn_integrator_create(&def, &in, NULL), HNN_OK);
    return in;
}

/* f = J grad H + a x for the unit spring: divergence 2a everywhere, area grows as exp(2a t). */
static hnn_status spiral_field(void *ctx, size_t dim, const double *x, double *f)
{
    const double a = *(const double *)ctx;
    if (dim != 2)
        return HNN_ERR_SIZE_MISMATCH;
    f[0] = x[1] + a * x[0];
    f[1] = -x[0] + a * x[1];
    return HNN_OK;
}

static hnn_field_source spiral(const double *a)
{
    hnn_field_source src = {sizeof(hnn_field_source), 2, spiral_field, NULL, NULL, 0, NULL};
    src.ctx = (void *)a;
    return src;
}

/* A square of side `side` centred at c, as a polygon with `per_side` points per side. */
static void square(const double *c, double side, size_t per_side, double *poly)
{
    size_t s, k;
    const double corners[5][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}};
    for (s = 0; s < 4; s++)
        for (k = 0; k < per_side; k++) {
            const double t = (double)k / (double)per_side;
            double *v = poly + 2 * (s * per_side + k);
            v[0] = c[0] + 0.5 * side * (corners[s][0] + t * (corners[s + 1][0] - corners[s][0]));
            v[1] = c[1] + 0.5 * side * (corners[s][1] + t * (corners[s + 1][1] - corners[s][1]));
        }
}

/* The spring's exact flow is a rotation: energy exact, area ratio 1. */
static void test_spring_exact_flow(void **state)
{
    hnn_diagnostics *d = make_diag(2);
    hnn_quantity energy = {.struct_size = sizeof energy};
    hnn_drift drift = {.struct_size = sizeof drift};
    double traj[201 * 2], poly[64 * 2], rotated[64 * 2], a0, a1;
    const double c[2] = {1.0, 0.0};
    size_t k;
    (void)state;
    for (k = 0; k <= 200; k++) { /* q = cos t, p = -sin t */
        traj[2 * k] = cos(0.1 * (double)k);
        traj[2 * k + 1] = -sin(0.1 * (double)k);
    }
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &energy), HNN_OK);
    assert_int_equal(hnn_diagnostics_drift(d, &energy, traj, 201, &drift), HNN_OK);
    assert_true(drift.initial == 0.5);
    assert_true(drift.max_rel_err <= 4e-16);
    square(c, 0.2, 16, poly);
    for (k = 0; k < 64; k++) { /* the exact flow for t = 7.3 */
        const double t = 7.3, q = poly[2 * k], p = poly[2 * k + 1];
        rotated[2 * k] = q * cos(t) + p * sin(t);
        rotated[2 * k + 1] = -q * sin(t) + p * cos(t);
    }
    assert_int_equal(hnn_diagnostics_polygon_area(d, poly, 64, 0, &a0), HNN_OK);
    assert_int_equal(hnn_diagnostics_polygon_area(d, rotated, 64, 0, &a1), HNN_OK);
    assert_true(fabs(a0 - 0.04) <= 1e-15);
    assert_true(fabs(a1 / a0 - 1.0) <= 1e-13);
    hnn_diagnostics_destroy(d);
}

/* RK4 on the spring multiplies the energy by |R(ih)|^2 = 1 - h^6/72 + h^8/576 per step: the
 * drift is known exactly. Implicit midpoint keeps it and the area (a linear symplectic map). */
static void test_known_integrator_drift_and_area(void **state)
{
    hnn_diagnostics *d = make_diag(2);
    hnn_integrator *rk4 = make_integ(HNN_METHOD_RK4, 2), *mid = make_integ(HNN_METHOD_IMPLICIT_MIDPOINT, 2);
    hnn_field_source spring = {.struct_size = sizeof spring};
    hnn_quantity energy = {.struct_size = sizeof energy};
    hnn_drift drift = {.struct_size = sizeof drift};
    double x[2] = {1.0, 0.0}, *traj = malloc(1001 * 2 * sizeof *traj), poly[64 * 2], ratio;
    const double h = 0.1, c[2] = {1.0, 0.0};
    const double per_step = 1.0 - pow(h, 6) / 72.0 + pow(h, 8) / 576.0;
    const double want = 1.0 - pow(per_step, 1000);
    (void)state;
    assert_int_equal(hnn_field_source_system(HNN_SYSTEM_SPRING, &spring), HNN_OK);
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &energy), HNN_OK);
    assert_int_equal(hnn_integrator_rollout(rk4, &spring, x, h, 1000, traj, NULL, NULL, NULL), HNN_OK);
    assert_int_equal(hnn_diagnostics_drift(d, &energy, traj, 1001, &drift), HNN_OK);
    fprintf(stderr, "rk4 spring drift %.6e, predicted %.6e\n", drift.final_rel_err, want);
    assert_true(fabs(drift.final_rel_err - want) <= 1e-6 * want); /* round-off of 1000 steps */
    assert_true(drift.max_rel_err == drift.final_rel_err); /* monotone loss */
    square(c, 0.2, 16, poly);
    assert_int_equal(hnn_diagnostics_area_ratio(d, mid, &spring, poly, 64, 0, h, 500, &ratio, NULL), HNN_OK);
    assert_true(fabs(ratio - 1.0) <= 1e-12);
    assert_int_equal(hnn_diagnostics_area_ratio(d, rk4, &spring, poly, 64, 0, h, 500, &ratio, NULL), HNN_OK);
    assert_true(fabs(ratio - pow(per_step, 500)) <= 1e-12); /* det of RK4's linear map */
    free(traj);
    hnn_integrator_destroy(rk4);
    hnn_integrator_destroy(mid);
    hnn_diagnostics_destroy(d);
}

/* Constant divergence 2a: loop gap = 2a * pi r^2 (Green), area ratio = exp(2a t) (Liouville's
 * equation), flow determinant the same, divergence 2a. */
static void test_constant_divergence_field(void **state)
{
    const double a = -0.05;
    const hnn_field_source src = spiral(&a);
    hnn_diagnostics *d = make_diag(2);
    hnn_integrator *g6 = make_integ(HNN_METHOD_GAUSS6, 2);
    const double c[2] = {0.3, -0.2}, t = 4.0;
    double gap, ratio, det, div[2], poly[128 * 2];
    (void)state;
    assert_int_equal(hnn_diagnostics_loop_gap(d, &src, c, 0, 0.5, 64, &gap), HNN_OK);
    assert_true(fabs(gap - 2 * a * 0.5 * two_pi / 2 * 0.5) <= 1e-14);
    assert_int_equal(hnn_diagnostics_divergence(d, &src, c, 1, div), HNN_OK);
    assert_true(fabs(div[0] - 2 * a) <= 1e-9);
    square(c, 0.1, 32, poly);
    assert_int_equal(hnn_diagnostics_area_ratio(d, g6, &src, poly, 128, 0, 0.05, 80, &ratio, NULL), HNN_OK);
    assert_true(fabs(ratio - exp(2 * a * t)) <= 1e-10);
    assert_int_equal(hnn_diagnostics_flow_jacobian_det(d, g6, &src, c, 0.05, 80, &det), HNN_OK);
    assert_true(fabs(det - exp(2 * a * t)) <= 1e-9);
    hnn_integrator_destroy(g6);
    hnn_diagnostics_destroy(d);
}

/* The spiral's Jacobian [[a, 1], [-1, a]], exactly; counts its calls. */
static int spiral_jacobian_calls;

static hnn_status spiral_jacobian(void *ctx, size_t dim, const double *x, double *jac)
{
    const double a = *(const double *)ctx;
    (void)x;
    if (dim != 2)
        return HNN_ERR_SIZE_MISMATCH;
    spiral_jacobian_calls++;
    jac[0] = a, jac[1] = 1.0, jac[2] = -1.0, jac[3] = a;
    return HNN_OK;
}

static hnn_status failing_jacobian(void *ctx, size_t dim, const double *x, double *jac)
{
    (void)ctx, (void)dim, (void)x, (void)jac;
    return HNN_ERR_NONFINITE;
}

/* A source's optional Jacobian replaces the differences of the divergence: called once per
 * state, its trace exact (differences at |x| = 1e3 are off in the last digits), its failure
 * passed on. A net's source carries the net's exact Jacobian, a system's none. */
static void test_a_source_jacobian_is_used(void **state)
{
    const double a = -0.05, x[4] = {0.3, -0.2, 1e3, 7.0};
    hnn_field_source src = spiral(&a);
    hnn_field_source sys = {.struct_size = sizeof sys};
    hnn_field_source ns = {.struct_size = sizeof ns};
    hnn_diagnostics *d = make_diag(2);
    hnn_net_def def = hnn_net_def_default();
    hnn_net *net = NULL;
    double div[2] = {0.0, 0.0}, via_source[4], direct[4];
    (void)state;
    src.jacobian = spiral_jacobian;
    spiral_jacobian_calls = 0;
    assert_int_equal(hnn_diagnostics_divergence(d, &src, x, 2, div), HNN_OK);
    assert_int_equal(spiral_jacobian_calls, 2);
    assert_true(div[0] == 2 * a && div[1] == 2 * a);
    src.jacobian = failing_jacobian;
    assert_int_equal(hnn_diagnostics_divergence(d, &src, x, 1, div), HNN_ERR_NONFINITE);
    assert_non_null(strstr(hnn_diagnostics_last_error(d), "Jacobian"));
    assert_int_equal(hnn_field_source_system(HNN_SYSTEM_SPRING, &sys), HNN_OK);
    assert_null(sys.jacobian);
    def.widths[0] = def.widths[1] = 8;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &ns), HNN_OK);
    assert_non_null(ns.jacobian);
    assert_int_equal(ns.jacobian(ns.ctx, 2, x, via_source), HNN_OK);
    assert_int_equal(hnn_net_field_jacobian(net, hnn_net_workspace(net), x, 1, direct), HNN_OK);
    assert_memory_equal(via_source, direct, sizeof direct);
    assert_true(test_max_abs(direct, 4) > 0.0);
    hnn_net_destroy(net);
    /* a source whose dim was edited (the review's heap overflow): a net of n = 2 under a
     * dim-2 source is refused by its Jacobian, never written past the 2 x 2 matrix */
    def.dof = 2;
    assert_int_equal(hnn_net_create(&def, &net, NULL), HNN_OK);
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &ns), HNN_OK);
    assert_int_equal(ns.jacobian(ns.ctx, 2, x, via_source), HNN_ERR_SIZE_MISMATCH);
    ns.dim = 2;
    assert_int_equal(hnn_diagnostics_divergence(d, &ns, x, 1, div), HNN_ERR_SIZE_MISMATCH);
    { /* every callback of an edited source refuses: its field under an integrator of dim 2,
       * its net's energy as a quantity of dim 2 */
        hnn_integrator *rk4 = make_integ(HNN_METHOD_RK4, 2);
        hnn_quantity H = {.struct_size = sizeof H};
        double state_x[2] = {0.3, -0.2}, value;
        assert_int_equal(hnn_integrator_step(rk4, &ns, state_x, 0.1), HNN_ERR_SIZE_MISMATCH);
        assert_true(state_x[0] == 0.3 && state_x[1] == -0.2);
        assert_int_equal(hnn_quantity_net_energy(net, hnn_net_workspace(net), &H), HNN_OK);
        assert_int_equal(H.fn(H.ctx, 2, x, &value, NULL), HNN_ERR_SIZE_MISMATCH);
        assert_int_equal(H.fn(H.ctx, 4, x, &value, NULL), HNN_OK);
        hnn_integrator_destroy(rk4);
    }
    hnn_net_destroy(net);
    hnn_diagnostics_destroy(d);
}

/* Sizes no header had for a struct of `full` bytes: 0, one byte long, one word short. */
static size_t odd_size(size_t k, size_t full)
{
    return k == 0 ? 0 : k == 1 ? full + 1 : full - 8;
}

/* Every value struct carries its size: a constructor, an integrator, the diagnostics refuse
 * one whose struct_size is not sizeof (0, one byte long, one word short) with
 * HNN_ERR_INVALID_ARG and a message naming the field, and write nothing. */
static void test_value_structs_carry_their_size(void **state)
{
    const double x[2] = {1.0, 0.0};
    hnn_diagnostics *d = make_diag(2);
    hnn_integrator *in = make_integ(HNN_METHOD_LEAPFROG, 2);
    hnn_field_source good = {.struct_size = sizeof good};
    hnn_quantity energy = {.struct_size = sizeof energy};
    double div, state_x[2] = {1.0, 0.0};
    size_t k;
    (void)state;
    assert_int_equal(hnn_field_source_system(HNN_SYSTEM_SPRING, &good), HNN_OK);
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &energy), HNN_OK);
    for (k = 0; k < 3; k++) {
        hnn_field_source src = good, blank = {.struct_size = odd_size(k, sizeof blank)};
        hnn_quantity q = energy, made = {.struct_size = odd_size(k, sizeof made)};
        hnn_bodies b = {odd_size(k, sizeof b), 2, 1, 0};
        hnn_drift drift = {.struct_size = odd_size(k, sizeof drift)};
        src.struct_size = odd_size(k, sizeof src);
        q.struct_size = odd_size(k, sizeof q);
        assert_int_equal(hnn_field_source_system(HNN_SYSTEM_SPRING, &blank), HNN_ERR_INVALID_ARG);
        assert_true(blank.dim == 0 && blank.field == NULL);
        assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &made), HNN_ERR_INVALID_ARG);
        assert_true(made.fn == NULL);
        assert_int_equal(hnn_quantity_momentum(&b, &made), HNN_ERR_INVALID_ARG);
        assert_int_equal(hnn_integrator_step(in, &src, state_x, 0.1), HNN_ERR_INVALID_ARG);
        assert_non_null(strstr(hnn_integrator_last_error(in), "struct_size"));
        assert_true(state_x[0] == 1.0 && state_x[1] == 0.0);
        assert_int_equal(hnn_diagnostics_divergence(d, &src, x, 1, &div), HNN_ERR_INVALID_ARG);
        assert_non_null(strstr(hnn_diagnostics_last_error(d), "hnn_field_source.struct_size"));
        assert_int_equal(hnn_diagnostics_drift(d, &q, x, 1, &drift), HNN_ERR_INVALID_ARG);
        assert_non_null(strstr(hnn_diagnostics_last_error(d), "hnn_quantity.struct_size"));
        assert_int_equal(hnn_diagnostics_drift(d, &energy, x, 1, &drift), HNN_ERR_INVALID_ARG);
        assert_non_null(strstr(hnn_diagnostics_last_error(d), "hnn_drift.struct_size"));
        assert_true(drift.initial == 0.0);
    }
    {
        hnn_drift drift = {.struct_size = sizeof drift};
        assert_int_equal(hnn_diagnostics_drift(d, &energy, x, 1, &drift), HNN_OK);
        assert_true(drift.initial == 0.5 && drift.struct_size == sizeof drift);
        assert_int_equal(hnn_integrator_step(in, &good, state_x, 0.1), HNN_OK);
        assert_true(state_x[0] != 1.0);
    }
    hnn_integrator_destroy(in);
    hnn_diagnostics_destroy(d);
}

/* Brackets on the spring by hand: {q, H} = p, {p, H} = -q, {H, H} = 0, {q, p} = 1. */
static hnn_status coordinate(void *ctx, size_t dim, const double *x, double *value,
                             double *grad)
{
    const size_t i = *(const size_t *)ctx;
    if (dim != 2)
        return HNN_ERR_SIZE_MISMATCH;
    *value = x[i];
    if (grad != NULL) {
        grad[0] = i == 0;
        grad[1] = i == 1;
    }
    return HNN_OK;
}

static void test_poisson_brackets_by_hand(void **state)
{
    static const size_t iq = 0, ip = 1;
    hnn_quantity q = {sizeof(hnn_quantity), 2, coordinate, NULL};
    hnn_quantity p = {sizeof(hnn_quantity), 2, coordinate, NULL};
    hnn_quantity H = {.struct_size = sizeof H};
    hnn_diagnostics *d = make_diag(2);
    const double x[4] = {0.7, -0.3, -1.1, 2.0};
    double out[2];
    (void)state;
    q.ctx = (void *)&iq;
    p.ctx = (void *)&ip;
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &H), HNN_OK);
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &q, &H, x, 2, out), HNN_OK);
    assert_true(out[0] == -0.3 && out[1] == 2.0);
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &p, &H, x, 2, out), HNN_OK);
    assert_true(out[0] == -0.7 && out[1] == 1.1);
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &H, &H, x, 2, out), HNN_OK);
    assert_true(out[0] == 0.0 && out[1] == 0.0);
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &q, &p, x, 2, out), HNN_OK);
    assert_true(out[0] == 1.0 && out[1] == 1.0);
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &p, &q, x, 1, out), HNN_OK);
    assert_true(out[0] == -1.0);
    hnn_diagnostics_destroy(d);
}

/* Nets: a Hamiltonian net's divergence (exact) is 0 and its loop gap vanishes; a direct-field
 * net's divergence matches differences of its field, and its loop gap over a small circle is
 * its divergence times the disc's area. Its own H, as a quantity, has bracket 0 with itself. */
static void test_nets(void **state)
{
    const size_t widths[2] = {16, 16};
    hnn_net *hnn = test_make_net(HNN_NET_HAMILTONIAN, 1, 2, widths, 4);
    hnn_net *mlp = test_make_net(HNN_NET_FIELD, 1, 2, widths, 4);
    hnn_field_source sh = {.struct_size = sizeof sh}, sm = {.struct_size = sizeof sm};
    hnn_quantity H = {.struct_size = sizeof H};
    hnn_diagnostics *d = make_diag(2);
    const double c[2] = {0.4, -0.6}, r = 1e-2;
    double div_h, div_m, div_fd, gap_h, gap_m, bracket;
    (void)state;
    assert_int_equal(hnn_field_source_net(hnn, hnn_net_workspace(hnn), &sh), HNN_OK);
    assert_int_equal(hnn_field_source_net(mlp, hnn_net_workspace(mlp), &sm), HNN_OK);
    assert_int_equal(hnn_diagnostics_divergence(d, &sh, c, 1, &div_h), HNN_OK);
    assert_int_equal(hnn_diagnostics_divergence(d, &sm, c, 1, &div_m), HNN_OK);
    assert_true(fabs(div_h) <= 1e-15);
    assert_true(fabs(div_m) > 1e-3);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &sh, c, 0, 0.5, 256, &gap_h), HNN_OK);
    assert_true(fabs(gap_h) <= 1e-10);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &sm, c, 0, r, 64, &gap_m), HNN_OK);
    assert_true(fabs(gap_m / (div_m * r * r * two_pi / 2) - 1.0) <= 1e-3);
    /* exact vs differences */
    {
        double xp[2], xm[2], fp[2], fm[2];
        memcpy(xp, c, sizeof c), memcpy(xm, c, sizeof c);
        xp[0] += 1e-5, xm[0] -= 1e-5;
        hnn_net_field(mlp, hnn_net_workspace(mlp), xp, 1, fp), hnn_net_field(mlp, hnn_net_workspace(mlp), xm, 1, fm);
        div_fd = (fp[0] - fm[0]) / 2e-5;
        memcpy(xp, c, sizeof c), memcpy(xm, c, sizeof c);
        xp[1] += 1e-5, xm[1] -= 1e-5;
        hnn_net_field(mlp, hnn_net_workspace(mlp), xp, 1, fp), hnn_net_field(mlp, hnn_net_workspace(mlp), xm, 1, fm);
        div_fd += (fp[1] - fm[1]) / 2e-5;
        assert_true(fabs(div_fd - div_m) <= 1e-8 * fmax(1.0, fabs(div_m)));
    }
    /* {q, H} = dH/dp of the learned H, against central differences of H itself ({H, H} = 0
     * would hold for any gradient, right or wrong) */
    assert_int_equal(hnn_quantity_net_energy(hnn, hnn_net_workspace(hnn), &H), HNN_OK);
    {
        static const size_t iq = 0;
        hnn_quantity q = {sizeof(hnn_quantity), 2, coordinate, NULL};
        double xp[2], xm[2], hp, hm;
        q.ctx = (void *)&iq;
        assert_int_equal(hnn_diagnostics_poisson_bracket(d, &q, &H, c, 1, &bracket), HNN_OK);
        memcpy(xp, c, sizeof xp), memcpy(xm, c, sizeof xm);
        xp[1] += 1e-5, xm[1] -= 1e-5;
        assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), xp, 1, &hp), HNN_OK);
        assert_int_equal(hnn_net_energy(hnn, hnn_net_workspace(hnn), xm, 1, &hm), HNN_OK);
        assert_true(fabs(bracket) > 1e-3);
        assert_true(fabs(bracket - (hp - hm) / 2e-5) <= 1e-8);
    }
    assert_int_equal(hnn_quantity_net_energy(mlp, hnn_net_workspace(mlp), &H), HNN_ERR_WRONG_KIND);
    hnn_diagnostics_destroy(d);
    hnn_net_destroy(hnn);
    hnn_net_destroy(mlp);
}

/* The flow of a learned H with two degrees of freedom preserves volume: det = 1. */
static void test_flow_determinant_of_a_learned_hamiltonian(void **state)
{
    const size_t widths[2] = {16, 16};
    hnn_net *net = test_make_net(HNN_NET_HAMILTONIAN, 2, 2, widths, 9);
    hnn_field_source src = {.struct_size = sizeof src};
    hnn_diagnostics *d = make_diag(4);
    hnn_integrator *g4 = make_integ(HNN_METHOD_GAUSS4, 4), *euler = make_integ(HNN_METHOD_EULER, 4);
    const double x[4] = {0.2, -0.4, 0.5, 0.1};
    double det;
    (void)state;
    assert_int_equal(hnn_field_source_net(net, hnn_net_workspace(net), &src), HNN_OK);
    assert_int_equal(hnn_diagnostics_flow_jacobian_det(d, g4, &src, x, 0.1, 50, &det), HNN_OK);
    fprintf(stderr, "gauss4 flow det (n = 2, 50 steps): %.15f\n", det);
    assert_true(fabs(det - 1.0) <= 1e-9);
    assert_int_equal(hnn_diagnostics_flow_jacobian_det(d, euler, &src, x, 0.1, 50, &det), HNN_OK);
    fprintf(stderr, "euler  flow det (n = 2, 50 steps): %.15f\n", det);
    assert_true(fabs(det - 1.0) > 1e-6); /* Euler does not preserve volume */
    hnn_integrator_destroy(g4);
    hnn_integrator_destroy(euler);
    hnn_diagnostics_destroy(d);
    hnn_net_destroy(net);
}

static void test_bad_diagnostics_input(void **state)
{
    hnn_diagnostics_def def = hnn_diagnostics_def_default();
    hnn_diagnostics *d = NULL;
    hnn_field_source spring = {.struct_size = sizeof spring};
    hnn_quantity energy = {.struct_size = sizeof energy};
    hnn_integrator *in = make_integ(HNN_METHOD_RK4, 2);
    const double x[2] = {1, 0}, nanx[2] = {NAN, 0};
    double out, poly[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    hnn_drift drift = {.struct_size = sizeof drift};
    (void)state;
    def.dim = 3;
    assert_int_equal(hnn_diagnostics_create(&def, &d, NULL), HNN_ERR_INVALID_ARG);
    def.dim = 2;
    def.max_points = SIZE_MAX / 2;
    assert_int_equal(hnn_diagnostics_create(&def, &d, NULL), HNN_ERR_TOO_LARGE);
    assert_null(d);
    d = make_diag(4);
    assert_int_equal(hnn_field_source_system(HNN_SYSTEM_SPRING, &spring), HNN_OK);
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_SPRING, &energy), HNN_OK);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &spring, x, 0, 1.0, 16, &out), HNN_ERR_SIZE_MISMATCH);
    assert_non_null(strstr(hnn_diagnostics_last_error(d), "dim"));
    hnn_diagnostics_destroy(d);
    d = make_diag(2);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &spring, x, 1, 1.0, 16, &out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &spring, x, 0, 1.0, 4, &out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_loop_gap(d, &spring, x, 0, -1.0, 16, &out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_loop_gap(d, NULL, x, 0, 1.0, 16, &out), HNN_ERR_NULL);
    assert_int_equal(hnn_diagnostics_drift(d, &energy, x, 0, &drift), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_drift(d, &energy, nanx, 1, &drift), HNN_ERR_NONFINITE);
    assert_int_equal(hnn_diagnostics_polygon_area(d, poly, 2, 0, &out), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_polygon_area(d, poly, 4, 0, &out), HNN_OK);
    assert_true(out == 1.0);
    assert_int_equal(hnn_diagnostics_area_ratio(d, in, &spring, poly, 5000, 0, 0.1, 1, &out, NULL),
                     HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_diagnostics_flow_jacobian_det(d, in, &spring, nanx, 0.1, 1, &out),
                     HNN_ERR_NONFINITE);
    assert_int_equal(hnn_diagnostics_divergence(NULL, &spring, x, 1, &out), HNN_ERR_NULL);
    /* counts whose arrays overflow size_t (2^62 and 2^63 states of 2 numbers on 64-bit hosts)
     * are refused before the 2-number arrays are read past (the adversary run's stack overflow) */
    {
        const size_t huge[2] = {SIZE_MAX / 4 + 1, SIZE_MAX / 2 + 1};
        size_t i;
        for (i = 0; i < 2; i++) {
            assert_int_equal(hnn_diagnostics_drift(d, &energy, x, huge[i], &drift), HNN_ERR_TOO_LARGE);
            assert_non_null(strstr(hnn_diagnostics_last_error(d), "overflows"));
            assert_int_equal(hnn_diagnostics_poisson_bracket(d, &energy, &energy, x, huge[i], &out),
                             HNN_ERR_TOO_LARGE);
            assert_int_equal(hnn_diagnostics_divergence(d, &spring, x, huge[i], &out),
                             HNN_ERR_TOO_LARGE);
            assert_int_equal(hnn_diagnostics_polygon_area(d, poly, huge[i], 0, &out),
                             HNN_ERR_TOO_LARGE);
        }
    }
    assert_int_equal(hnn_quantity_system_energy((hnn_system)9, &energy), HNN_ERR_INVALID_ARG);
    hnn_diagnostics_destroy(d);
    hnn_diagnostics_destroy(NULL);
    hnn_integrator_destroy(in);
}

/* Momenta of bodies: values, gradients against central differences, and Noether for the
 * true two-body energy, which is blind to translations and rotations: {P, H} = {L, H} = 0. */
static void test_momentum_quantities(void **state)
{
    hnn_bodies axis_x = {sizeof(hnn_bodies), 4, 2, 0};
    hnn_bodies axis_y = {sizeof(hnn_bodies), 4, 2, 1};
    hnn_bodies bad = {sizeof(hnn_bodies), 4, 3, 0};
    hnn_quantity px = {.struct_size = sizeof px};
    hnn_quantity py = {.struct_size = sizeof py};
    hnn_quantity L = {.struct_size = sizeof L};
    hnn_quantity energy = {.struct_size = sizeof energy};
    hnn_quantity q = {.struct_size = sizeof q};
    hnn_diagnostics *d = make_diag(8);
    const double x[8] = {0.7, -0.2, -0.4, 0.9, 0.3, 0.5, -0.1, 0.25};
    double v, g[8], vp, vm, xp[8], b[1];
    const hnn_quantity *all[3] = {&px, &py, &L};
    size_t k, i;
    (void)state;
    assert_int_equal(hnn_quantity_momentum(&axis_x, &px), HNN_OK);
    assert_int_equal(hnn_quantity_momentum(&axis_y, &py), HNN_OK);
    assert_int_equal(hnn_quantity_angular_momentum(&axis_x, &L), HNN_OK);
    assert_int_equal(hnn_quantity_system_energy(HNN_SYSTEM_TWO_BODY, &energy), HNN_OK);
    assert_int_equal(px.fn(px.ctx, px.dim, x, &v, g), HNN_OK);
    assert_true(v == 0.3 + -0.1);
    assert_int_equal(L.fn(L.ctx, L.dim, x, &v, g), HNN_OK);
    assert_true(fabs(v - (0.7 * 0.5 - -0.2 * 0.3 + -0.4 * 0.25 - 0.9 * -0.1)) < 1e-15);
    for (k = 0; k < 3; k++) {
        assert_int_equal(all[k]->fn(all[k]->ctx, all[k]->dim, x, &v, g), HNN_OK);
        for (i = 0; i < 8; i++) {
            memcpy(xp, x, sizeof x);
            xp[i] = x[i] + 1e-6;
            all[k]->fn(all[k]->ctx, all[k]->dim, xp, &vp, NULL);
            xp[i] = x[i] - 1e-6;
            all[k]->fn(all[k]->ctx, all[k]->dim, xp, &vm, NULL);
            assert_true(fabs((vp - vm) / 2e-6 - g[i]) < 1e-9);
        }
        assert_int_equal(hnn_diagnostics_poisson_bracket(d, all[k], &energy, x, 1, b), HNN_OK);
        assert_true(fabs(b[0]) < 1e-14);
    }
    /* brackets of these quantities are not trivially zero: {L, P_x} = sum_b dL/dx_b = P_y */
    assert_int_equal(hnn_diagnostics_poisson_bracket(d, &L, &px, x, 1, b), HNN_OK);
    assert_true(fabs(b[0] - (0.5 + 0.25)) < 1e-15);
    assert_int_equal(hnn_quantity_momentum(&bad, &q), HNN_ERR_INVALID_ARG);
    bad.bodies = 2, bad.axis = 2;
    assert_int_equal(hnn_quantity_momentum(&bad, &q), HNN_ERR_INVALID_ARG);
    bad.dof = 6, bad.bodies = 2, bad.axis = 0; /* three dimensions: no planar L */
    assert_int_equal(hnn_quantity_angular_momentum(&bad, &q), HNN_ERR_INVALID_ARG);
    assert_int_equal(hnn_quantity_momentum(NULL, &q), HNN_ERR_NULL);
    hnn_diagnostics_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spring_exact_flow),
        cmocka_unit_test(test_known_integrator_drift_and_area),
        cmocka_unit_test(test_constant_divergence_field),
        cmocka_unit_test(test_poisson_brackets_by_hand),
        cmocka_unit_test(test_nets),
        cmocka_unit_test(test_flow_determinant_of_a_learned_hamiltonian),
        cmocka_unit_test(test_bad_diagnostics_input),
        cmocka_unit_test(test_momentum_quantities),
        cmocka_unit_test(test_a_source_jacobian_is_used),
        cmocka_unit_test(test_value_structs_carry_their_size),
    };
    return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}

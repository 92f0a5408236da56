/* Tests for format version 3 (docs/format.md): nets of every activation and dissipative
 * models (Helmholtz, port-Hamiltonian) round trip bit for bit with their optimizer state and
 * training progress, training resumes bit for bit from a file, every truncation and bit flip
 * is refused, hostile headers get the right status and message, and each loader refuses the
 * other's files. The engines may still compute tanh for every activation: outputs are
 * compared with the in-memory model's, never with fixed values. */
#include "test_util.h"

#include <stddef.h>
#include <stdio.h>

enum { KIND_NET, KIND_FIELD, KIND_HELMHOLTZ, KIND_PORT, KINDS };

/* A model of any kind: a net, or a dissipative model. */
typedef struct model {
    hnn_net *net;
    hnn_dissipative *dm;
} model;

static void model_destroy(model *m)
{
    hnn_net_destroy(m->net);
    hnn_dissipative_destroy(m->dm);
    m->net = NULL;
    m->dm = NULL;
}

static hnn_net_def small_def(hnn_activation act, uint64_t seed)
{
    hnn_net_def d = hnn_net_def_default();
    d.dof = 2;
    d.depth = 2;
    d.widths[0] = 5;
    d.widths[1] = 4;
    d.seed = seed;
    d.activation = act;
    return d;
}

/* A model of `kind` whose nets use `act` (D: the next activation, its own widths). */
static model make_model(int kind, hnn_activation act, uint64_t seed)
{
    hnn_net_def h = small_def(act, seed), d = small_def((hnn_activation)((act + 1) % 4), seed + 7);
    model m = {NULL, NULL};
    hnn_error err;
    test_rng rng = {seed + 1};
    size_t np;
    double *p;
    d.depth = 1;
    d.widths[0] = 3;
    if (kind == KIND_NET || kind == KIND_FIELD) {
        h.kind = kind == KIND_FIELD ? HNN_NET_FIELD : HNN_NET_HAMILTONIAN;
        if (hnn_net_create(&h, &m.net, &err) != HNN_OK)
            fail_msg("create: %s", err.message);
        return m;
    }
    if (hnn_dissipative_create_with(kind == KIND_HELMHOLTZ ? HNN_DISSIPATION_HELMHOLTZ
                                                           : HNN_DISSIPATION_PORT,
                                    &h, kind == KIND_HELMHOLTZ ? &d : NULL, &m.dm, &err) != HNN_OK)
        fail_msg("create: %s", err.message);
    np = hnn_dissipative_param_count(m.dm);
    p = malloc(np * sizeof *p);
    test_fill(&rng, p, np, -0.5, 0.5); /* a general L, not 0.1 I */
    assert_int_equal(hnn_dissipative_params_set(m.dm, p, np), HNN_OK);
    free(p);
    return m;
}

static size_t param_count(const model *m)
{
    return m->net != NULL ? hnn_net_param_count(m->net) : hnn_dissipative_param_count(m->dm);
}

static double *params_of(const model *m)
{
    const size_t n = param_count(m);
    double *p = malloc(n * sizeof *p);
    if (m->net != NULL)
        assert_int_equal(hnn_net_params_get(m->net, p, n), HNN_OK);
    else
        assert_int_equal(hnn_dissipative_params_get(m->dm, p, n), HNN_OK);
    return p;
}

static unsigned char *serialize(const model *m, const hnn_optimizer *opt,
                                const hnn_train_meta *meta, size_t *size)
{
    unsigned char *buf;
    if (m->net != NULL) {
        assert_int_equal(hnn_model_save_buffer(m->net, opt, meta, NULL, 0, size, NULL), HNN_OK);
        buf = malloc(*size);
        assert_int_equal(hnn_model_save_buffer(m->net, opt, meta, buf, *size, size, NULL), HNN_OK);
    } else {
        assert_int_equal(hnn_dissipative_save_buffer(m->dm, opt, meta, NULL, 0, size, NULL),
                         HNN_OK);
        buf = malloc(*size);
        assert_int_equal(hnn_dissipative_save_buffer(m->dm, opt, meta, buf, *size, size, NULL),
                         HNN_OK);
    }
    return buf;
}

/* Loads with the loader for the kind the model `like` is. */
static hnn_status load(const model *like, const void *buf, size_t size, model *out,
                       hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    out->net = NULL;
    out->dm = NULL;
    if (like->net != NULL)
        return hnn_model_load_buffer(buf, size, NULL, &out->net, opt, meta, err);
    return hnn_dissipative_load_buffer(buf, size, NULL, &out->dm, opt, meta, err);
}

/* The field at a few states (and, for a net, H when it has one), into out[0..k). */
static size_t outputs(const model *m, double *out)
{
    double x[3 * 4];
    test_rng rng = {99};
    size_t k = 3 * 4;
    test_fill(&rng, x, 3 * 4, -1, 1);
    if (m->net != NULL) {
        assert_int_equal(hnn_net_field(m->net, hnn_net_workspace(m->net), x, 3, out), HNN_OK);
        return k;
    }
    assert_int_equal(hnn_dissipative_field(m->dm, x, 3, out), HNN_OK);
    return k;
}

static void assert_same_def(const hnn_net *a, const hnn_net *b)
{
    hnn_net_def da = hnn_net_def_default(), db = hnn_net_def_default();
    size_t l;
    assert_int_equal(hnn_net_get_def(a, &da), HNN_OK);
    assert_int_equal(hnn_net_get_def(b, &db), HNN_OK);
    assert_true(da.kind == db.kind && da.dof == db.dof && da.depth == db.depth &&
                da.seed == db.seed && da.features == db.features && da.bodies == db.bodies);
    assert_int_equal(da.activation, db.activation);
    for (l = 0; l < da.depth; l++)
        assert_int_equal(da.widths[l], db.widths[l]);
}

static hnn_optimizer *stepped_optimizer(const model *m)
{
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
    hnn_optimizer *opt = NULL;
    const size_t n = param_count(m);
    double *p = params_of(m), *g = malloc(n * sizeof *g);
    size_t i;
    od.amsgrad = 1;
    od.lr = 0.0125;
    assert_int_equal(hnn_optimizer_create(&od, n, &opt, NULL), HNN_OK);
    for (i = 0; i < n; i++)
        g[i] = 0.01 * (double)i - 0.3;
    hnn_optimizer_step(opt, p, g, n); /* a non-trivial state (p is a copy: the model keeps its) */
    hnn_optimizer_step(opt, p, g, n);
    free(p), free(g);
    return opt;
}

/* Every kind x tanh, softplus, sine, SiLU (ReLU too for the direct-field net): params,
 * optimizer state and meta bit for bit, the same defs, the same outputs, the same bytes when
 * saved again, and the encoding the version rule says. */
static void test_every_kind_and_activation_round_trips(void **state)
{
    int kind, act;
    (void)state;
    for (kind = 0; kind < KINDS; kind++)
        for (act = HNN_ACTIVATION_TANH; act <= HNN_ACTIVATION_RELU; act++) {
            model m, back;
            hnn_optimizer *opt, *ob = NULL;
            hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 77, 0.125, NAN};
            hnn_train_meta mb = {.struct_size = sizeof mb};
            hnn_model_info info;
            unsigned char *buf, *again;
            size_t size, size2, n, i;
            double *p1, *p2, o1[12], o2[12], *s1, *s2;
            hnn_error err;
            if (act == HNN_ACTIVATION_RELU && kind != KIND_FIELD)
                continue; /* refused for Hamiltonian nets (tests/test_net.c) */
            m = make_model(kind, (hnn_activation)act, 10 + (uint64_t)act);
            opt = stepped_optimizer(&m);
            buf = serialize(&m, opt, &meta, &size);
            assert_int_equal(buf[8], kind >= KIND_HELMHOLTZ || act != HNN_ACTIVATION_TANH ? 3 : 1);
            if (load(&m, buf, size, &back, &ob, &mb, &err) != HNN_OK)
                fail_msg("kind %d activation %d: %s", kind, act, err.message);
            n = param_count(&m);
            assert_int_equal(param_count(&back), n);
            p1 = params_of(&m), p2 = params_of(&back);
            assert_memory_equal(p1, p2, n * sizeof *p1);
            if (m.net != NULL)
                assert_same_def(m.net, back.net);
            else {
                assert_int_equal(hnn_dissipative_kind(m.dm), hnn_dissipative_kind(back.dm));
                assert_same_def(hnn_dissipative_energy_net(m.dm),
                                hnn_dissipative_energy_net(back.dm));
                if (kind == KIND_HELMHOLTZ)
                    assert_same_def(hnn_dissipative_dissipation_net(m.dm),
                                    hnn_dissipative_dissipation_net(back.dm));
                else
                    assert_null(hnn_dissipative_dissipation_net(back.dm));
            }
            assert_int_equal(outputs(&m, o1), outputs(&back, o2));
            for (i = 0; i < 12; i++)
                assert_true(o1[i] == o2[i]); /* NaN fails */
            assert_non_null(ob);
            assert_int_equal(hnn_optimizer_state_size(ob), hnn_optimizer_state_size(opt));
            s1 = malloc(hnn_optimizer_state_size(opt) * sizeof *s1);
            s2 = malloc(hnn_optimizer_state_size(opt) * sizeof *s2);
            hnn_optimizer_state_get(opt, s1, hnn_optimizer_state_size(opt));
            hnn_optimizer_state_get(ob, s2, hnn_optimizer_state_size(opt));
            assert_memory_equal(s1, s2, hnn_optimizer_state_size(opt) * sizeof *s1);
            assert_true(mb.present == 1 && mb.steps_done == 77 && mb.train_loss == 0.125 &&
                        isnan(mb.val_loss));
            again = serialize(&back, ob, &mb, &size2);
            assert_int_equal(size2, size);
            assert_memory_equal(buf, again, size);
            info.struct_size = sizeof info;
            assert_int_equal(hnn_model_info_buffer(buf, size, &info, &err), HNN_OK);
            assert_int_equal(info.model_kind, kind == KIND_HELMHOLTZ ? HNN_MODEL_HELMHOLTZ
                                              : kind == KIND_PORT    ? HNN_MODEL_PORT
                                                                     : HNN_MODEL_NET);
            assert_int_equal(info.activation, act);
            assert_int_equal(info.params, n);
            assert_int_equal(info.h_params + info.d_params + info.l_params, n);
            assert_true(info.file_bytes == size && info.has_optimizer && info.has_training);
            if (kind == KIND_HELMHOLTZ) {
                assert_true(info.d_depth == 1 && info.d_widths[0] == 3 &&
                            info.d_seed == info.seed + 7);
                assert_int_equal(info.d_activation, (act + 1) % 4);
            } else
                assert_true(info.d_depth == 0 && info.d_params == 0);
            if (kind == KIND_PORT)
                assert_int_equal(info.l_params, 4 * 5 / 2);
            free(p1), free(p2), free(s1), free(s2), free(buf), free(again);
            hnn_optimizer_destroy(opt);
            hnn_optimizer_destroy(ob);
            model_destroy(&m);
            model_destroy(&back);
        }
}

/* 100 steps in one go equal 60, a save to a file, a load, and 40 more: bit for bit. */
static void test_dissipative_training_resumes_bit_exactly(void **state)
{
    const hnn_dissipation kinds[2] = {HNN_DISSIPATION_HELMHOLTZ, HNN_DISSIPATION_PORT};
    double x[300 * 4], y[300 * 4];
    hnn_dataset *data = NULL;
    test_rng rng = {4};
    const char *path = "hnn_test_v3_resume.hnn";
    int k;
    (void)state;
    test_fill(&rng, x, 1200, -1, 1);
    test_fill(&rng, y, 1200, -1, 1);
    assert_int_equal(hnn_dataset_create(2, 300, x, y, NULL, &data, NULL), HNN_OK);
    for (k = 0; k < 2; k++) {
        const hnn_net_def h = small_def(HNN_ACTIVATION_SOFTPLUS, 5);
        hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_ADAM);
        hnn_train_def td = hnn_train_def_default();
        hnn_train_result r = {.struct_size = sizeof r};
        hnn_train_meta meta = {.struct_size = sizeof meta};
        hnn_dissipative *a = NULL, *b = NULL, *c = NULL;
        hnn_optimizer *oa = NULL, *ob = NULL, *oc = NULL;
        model ma, mc;
        double *pa, *pc;
        assert_int_equal(hnn_dissipative_create(kinds[k], &h, &a, NULL), HNN_OK);
        assert_int_equal(hnn_dissipative_create(kinds[k], &h, &b, NULL), HNN_OK);
        hnn_optimizer_create(&od, hnn_dissipative_param_count(a), &oa, NULL);
        hnn_optimizer_create(&od, hnn_dissipative_param_count(b), &ob, NULL);
        td.batch_size = 64;
        td.seed = 2;
        td.steps = 100;
        assert_int_equal(hnn_dissipative_train(a, oa, data, NULL, &td, NULL, NULL), HNN_OK);
        td.steps = 60;
        assert_int_equal(hnn_dissipative_train(b, ob, data, NULL, &td, &r, NULL), HNN_OK);
        meta.present = 1;
        meta.steps_done = hnn_optimizer_steps(ob);
        meta.train_loss = r.train_loss;
        meta.val_loss = NAN;
        assert_int_equal(hnn_dissipative_save(path, b, ob, &meta, NULL), HNN_OK);
        assert_int_equal(hnn_dissipative_load(path, NULL, &c, &oc, &meta, NULL), HNN_OK);
        assert_true(meta.steps_done == 60 && hnn_optimizer_steps(oc) == 60);
        td.steps = 40;
        assert_int_equal(hnn_dissipative_train(c, oc, data, NULL, &td, NULL, NULL), HNN_OK);
        ma.net = mc.net = NULL;
        ma.dm = a;
        mc.dm = c;
        pa = params_of(&ma), pc = params_of(&mc);
        assert_memory_equal(pa, pc, hnn_dissipative_param_count(a) * sizeof *pa);
        free(pa), free(pc);
        hnn_optimizer_destroy(oa), hnn_optimizer_destroy(ob), hnn_optimizer_destroy(oc);
        hnn_dissipative_destroy(a), hnn_dissipative_destroy(b), hnn_dissipative_destroy(c);
    }
    remove(path);
    hnn_dataset_destroy(data);
}

/* Every prefix of a version-3 file of each kind is truncated, for the loader and for info,
 * and creates nothing. */
static void test_every_truncation_is_refused(void **state)
{
    int kind;
    (void)state;
    for (kind = 0; kind < KINDS; kind++) {
        model m = make_model(kind, HNN_ACTIVATION_SINE, 3), back;
        hnn_optimizer *opt = stepped_optimizer(&m), *ob = NULL;
        hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 7, 0.1, 0.2};
        unsigned char *buf;
        size_t size, k;
        hnn_error err;
        buf = serialize(&m, opt, &meta, &size);
        assert_int_equal(buf[8], 3);
        for (k = 0; k < size; k++) {
            unsigned char *copy = malloc(k > 0 ? k : 1); /* exactly k bytes: ASan sees overreads */
            hnn_model_info info;
            memcpy(copy, buf, k);
            assert_int_equal(load(&m, copy, k, &back, &ob, NULL, &err), HNN_ERR_TRUNCATED);
            assert_true(back.net == NULL && back.dm == NULL && ob == NULL);
            info.struct_size = sizeof info;
            assert_int_equal(hnn_model_info_buffer(copy, k, &info, &err), HNN_ERR_TRUNCATED);
            free(copy);
        }
        free(buf);
        hnn_optimizer_destroy(opt);
        model_destroy(&m);
    }
}

/* Flipping any bit of a Helmholtz and of a port file: never HNN_OK, nothing created. */
static void test_every_flipped_bit_is_refused(void **state)
{
    int kind;
    (void)state;
    for (kind = KIND_HELMHOLTZ; kind <= KIND_PORT; kind++) {
        model m = make_model(kind, HNN_ACTIVATION_SILU, 8), back;
        hnn_optimizer *opt = stepped_optimizer(&m), *ob = NULL;
        hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 9, 0.1, NAN};
        unsigned char *buf;
        size_t size, k;
        int bit, counts[32] = {0};
        buf = serialize(&m, opt, &meta, &size);
        for (k = 0; k < size; k++)
            for (bit = 0; bit < 8; bit++) {
                hnn_status st;
                buf[k] ^= (unsigned char)(1u << bit);
                st = load(&m, buf, size, &back, &ob, NULL, NULL);
                buf[k] ^= (unsigned char)(1u << bit);
                assert_int_not_equal(st, HNN_OK);
                assert_true(back.net == NULL && back.dm == NULL && ob == NULL);
                counts[st]++;
            }
        fprintf(stderr, "%s: %zu bit flips: checksum %d, corrupt %d, truncated %d, bad magic %d, "
                "version %d, too large %d\n", kind == KIND_HELMHOLTZ ? "Helmholtz" : "port",
                size * 8, counts[HNN_ERR_CHECKSUM], counts[HNN_ERR_CORRUPT],
                counts[HNN_ERR_TRUNCATED], counts[HNN_ERR_BAD_MAGIC], counts[HNN_ERR_VERSION],
                counts[HNN_ERR_TOO_LARGE]);
        assert_true(counts[HNN_ERR_CHECKSUM] > 0 && counts[HNN_ERR_CORRUPT] > 0);
        free(buf);
        hnn_optimizer_destroy(opt);
        model_destroy(&m);
    }
}

static void reseal(unsigned char *buf, size_t size)
{
    const uint32_t crc = hnn_crc32(0, buf, size - 4);
    int i;
    for (i = 0; i < 4; i++)
        buf[size - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static void put32(unsigned char *at, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

/* Loads an edited, resealed copy of buf as a dissipative model; its status, err filled. */
static hnn_status load_edited(const unsigned char *buf, size_t size, size_t at, uint32_t v,
                              hnn_error *err)
{
    unsigned char *copy = malloc(size);
    hnn_dissipative *m = NULL;
    hnn_status st;
    memcpy(copy, buf, size);
    put32(copy + at, v);
    reseal(copy, size);
    st = hnn_dissipative_load_buffer(copy, size, NULL, &m, NULL, NULL, err);
    assert_null(m);
    free(copy);
    return st;
}

/* A Helmholtz file's header (H: depth 2, D: depth 1; docs/format.md's offsets) edited field
 * by field: each refusal has its status and names the bad value. */
static void test_hostile_headers(void **state)
{
    /* H's block at 20 (48 + 4 x 2 bytes), D's at 76 (48 + 4): D's activation at 96, its n at
     * 100, its P at 120; the flat count at 128 */
    model m = make_model(KIND_HELMHOLTZ, HNN_ACTIVATION_TANH, 1);
    unsigned char *buf;
    size_t size;
    hnn_error err;
    (void)state;
    buf = serialize(&m, NULL, NULL, &size);
    assert_int_equal(buf[16], 1); /* model kind: Helmholtz */
    assert_int_equal(buf[104], 1); /* D's depth */
    assert_int_equal(load_edited(buf, size, 16, 3, &err), HNN_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "model kind 3"));
    assert_int_equal(load_edited(buf, size, 40, 9, &err), HNN_ERR_CORRUPT); /* H's activation */
    assert_non_null(strstr(err.message, "activation 9"));
    assert_int_equal(load_edited(buf, size, 96, 0xFFFFFFFFu, &err), HNN_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "activation 4294967295 of the D net"));
    assert_int_equal(load_edited(buf, size, 40, HNN_ACTIVATION_RELU, &err), HNN_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "H net"));
    /* a D net of another n, with the count its shape implies: the model's rule refuses it */
    {
        unsigned char *copy = malloc(size);
        memcpy(copy, buf, size);
        put32(copy + 100, 3);
        put32(copy + 120, 6 * 3 + 3 + 3 + 1);
        reseal(copy, size);
        assert_int_equal(load_edited(copy, size, 0, 0x4E4E4889u, &err),
                         HNN_ERR_CORRUPT);
        assert_non_null(strstr(err.message, "H's n = 2"));
        free(copy);
    }
    /* a kinetic term on D (a valid net, not a valid D) */
    {
        unsigned char *copy = malloc(size);
        const double half = 0.5;
        memcpy(copy, buf, size);
        memcpy(copy + 88, &half, 8); /* little-endian hosts: the f64 at 88 */
        reseal(copy, size);
        assert_int_equal(load_edited(copy, size, 0, 0x4E4E4889u, &err), HNN_ERR_CORRUPT);
        assert_non_null(strstr(err.message, "D takes no kinetic term"));
        free(copy);
    }
    assert_int_equal(load_edited(buf, size, 128, 5, &err), HNN_ERR_CORRUPT); /* the flat count */
    assert_non_null(strstr(err.message, "5 parameters in all"));
    assert_int_equal(load_edited(buf, size, 120, 5, &err), HNN_ERR_CORRUPT); /* D's count */
    assert_non_null(strstr(err.message, "the shape of its D net"));
    assert_int_equal(load_edited(buf, size, 100, 5000, &err), HNN_ERR_TOO_LARGE); /* D's n */
    assert_int_equal(load_edited(buf, size, 12, 4, &err), HNN_ERR_CORRUPT); /* flags */
    assert_int_equal(load_edited(buf, size, 8, 4, &err), HNN_ERR_VERSION);
    assert_non_null(strstr(err.message, "format version 4"));
    /* a tanh net in version 3 is a second encoding of a version-1 file */
    {
        model net = make_model(KIND_NET, HNN_ACTIVATION_SOFTPLUS, 2), back = {NULL, NULL};
        unsigned char *nb;
        size_t ns;
        nb = serialize(&net, NULL, NULL, &ns);
        put32(nb + 40, HNN_ACTIVATION_TANH);
        reseal(nb, ns);
        assert_int_equal(hnn_model_load_buffer(nb, ns, NULL, &back.net, NULL, NULL, &err),
                         HNN_ERR_CORRUPT);
        assert_non_null(strstr(err.message, "written as version 1"));
        assert_null(back.net);
        free(nb);
        model_destroy(&net);
    }
    free(buf);
    model_destroy(&m);
}

/* hnn_model_load refuses a dissipative file, hnn_dissipative_load a net's, each naming the
 * call to use; from a file before anything is allocated. */
static void test_wrong_kind_refusals(void **state)
{
    const char *dpath = "hnn_test_v3_port.hnn", *npath = "hnn_test_v3_net.hnn";
    model port = make_model(KIND_PORT, HNN_ACTIVATION_TANH, 3);
    model net = make_model(KIND_NET, HNN_ACTIVATION_SINE, 4);
    hnn_load_def ld = hnn_load_def_default();
    test_counter c = {0, 0, 0, -1, 0};
    hnn_net *n = NULL;
    hnn_dissipative *d = NULL;
    hnn_optimizer *o = NULL;
    unsigned char *buf;
    size_t size;
    hnn_error err;
    (void)state;
    ld.allocator = test_allocator(&c);
    assert_int_equal(hnn_dissipative_save(dpath, port.dm, NULL, NULL, &err), HNN_OK);
    assert_int_equal(hnn_model_save(npath, net.net, NULL, NULL, &err), HNN_OK);
    assert_int_equal(hnn_model_load_with(dpath, &ld, &n, &o, NULL, &err), HNN_ERR_WRONG_KIND);
    assert_non_null(strstr(err.message, "port-Hamiltonian"));
    assert_non_null(strstr(err.message, "hnn_dissipative_load"));
    assert_int_equal(hnn_dissipative_load(npath, &ld, &d, &o, NULL, &err), HNN_ERR_WRONG_KIND);
    assert_non_null(strstr(err.message, "hnn_model_load"));
    assert_true(n == NULL && d == NULL && o == NULL);
    assert_int_equal(c.allocs, 0);
    buf = serialize(&port, NULL, NULL, &size);
    assert_int_equal(hnn_model_load_buffer(buf, size, NULL, &n, NULL, NULL, &err),
                     HNN_ERR_WRONG_KIND);
    free(buf);
    buf = serialize(&net, NULL, NULL, &size);
    assert_int_equal(hnn_dissipative_load_buffer(buf, size, NULL, &d, NULL, NULL, &err),
                     HNN_ERR_WRONG_KIND);
    assert_true(n == NULL && d == NULL);
    free(buf);
    assert_int_equal(hnn_dissipative_load(NULL, NULL, &d, NULL, NULL, &err), HNN_ERR_NULL);
    assert_int_equal(hnn_dissipative_load_buffer(NULL, 0, NULL, &d, NULL, NULL, &err),
                     HNN_ERR_NULL);
    assert_int_equal(hnn_dissipative_save(NULL, port.dm, NULL, NULL, &err), HNN_ERR_NULL);
    assert_int_equal(hnn_dissipative_save_buffer(NULL, NULL, NULL, NULL, 0, &size, &err),
                     HNN_ERR_NULL);
    remove(dpath);
    remove(npath);
    model_destroy(&port);
    model_destroy(&net);
}

/* The budget: info's load_bytes is what a file load may take; one byte less is refused
 * before anything is allocated; the loaded model's memory all comes back. */
static void test_budget_and_info(void **state)
{
    const char *path = "hnn_test_v3_budget.hnn";
    model m = make_model(KIND_HELMHOLTZ, HNN_ACTIVATION_SOFTPLUS, 6);
    hnn_optimizer *opt = stepped_optimizer(&m), *ob = NULL;
    hnn_load_def ld = hnn_load_def_default();
    test_counter c = {0, 0, 0, -1, 0};
    hnn_model_info info;
    hnn_dissipative *d = NULL;
    hnn_error err;
    (void)state;
    assert_int_equal(hnn_dissipative_save(path, m.dm, opt, NULL, &err), HNN_OK);
    info.struct_size = sizeof info;
    assert_int_equal(hnn_model_info_read(path, &info, &err), HNN_OK);
    assert_true(info.format_version == 3 && info.model_kind == HNN_MODEL_HELMHOLTZ);
    assert_true(info.net_bytes > 0 && info.optimizer_bytes > 0 &&
                info.load_bytes == info.net_bytes + info.optimizer_bytes + info.file_bytes);
    ld.allocator = test_allocator(&c);
    ld.max_bytes = info.load_bytes - 1;
    assert_int_equal(hnn_dissipative_load(path, &ld, &d, &ob, NULL, &err), HNN_ERR_TOO_LARGE);
    assert_non_null(strstr(err.message, "budget"));
    assert_true(d == NULL && ob == NULL && c.allocs == 0);
    ld.max_bytes = info.load_bytes;
    assert_int_equal(hnn_dissipative_load(path, &ld, &d, &ob, NULL, &err), HNN_OK);
    /* the load never held more than its budget, and the model keeps exactly net_bytes (its
     * nets, their workspaces and loss workspaces, its arrays) */
    assert_true(c.peak_bytes <= (long)info.load_bytes);
    hnn_optimizer_destroy(ob);
    assert_int_equal(c.live_bytes, (long)info.net_bytes);
    hnn_dissipative_destroy(d);
    assert_int_equal(c.live_bytes, 0);
    /* 0.4-0.5's hnn_model_info (296 bytes on LP64) is still filled, and nothing past it */
    {
        unsigned char raw[sizeof(hnn_model_info)];
        hnn_model_info *old = (hnn_model_info *)(void *)raw;
        size_t l;
        memset(raw, 0xAB, sizeof raw);
        old->struct_size = offsetof(hnn_model_info, model_kind);
        assert_int_equal(hnn_model_info_read(path, old, &err), HNN_OK);
        assert_true(old->dof == 2 && old->params == info.params);
        for (l = offsetof(hnn_model_info, model_kind); l < sizeof raw; l++)
            assert_int_equal(raw[l], 0xAB);
    }
    remove(path);
    hnn_optimizer_destroy(opt);
    model_destroy(&m);
}

/* Every allocation of a dissipative load failing in turn: HNN_ERR_NO_MEMORY, nothing created
 * and nothing left allocated, until the load succeeds. */
static void test_failed_allocations_leave_nothing(void **state)
{
    model m = make_model(KIND_HELMHOLTZ, HNN_ACTIVATION_SINE, 12);
    hnn_optimizer *opt = stepped_optimizer(&m);
    hnn_train_meta meta = {sizeof(hnn_train_meta), 1, 5, 0.5, 0.25};
    unsigned char *buf;
    size_t size;
    long k;
    int loaded = 0;
    (void)state;
    buf = serialize(&m, opt, &meta, &size);
    for (k = 0; k < 200 && !loaded; k++) {
        test_counter c = {0, 0, 0, -1, 0};
        hnn_load_def ld = hnn_load_def_default();
        hnn_dissipative *d = NULL;
        hnn_optimizer *ob = NULL;
        hnn_status st;
        c.fail_after = k;
        ld.allocator = test_allocator(&c);
        st = hnn_dissipative_load_buffer(buf, size, &ld, &d, &ob, NULL, NULL);
        if (st == HNN_OK) {
            loaded = 1;
            hnn_optimizer_destroy(ob);
            hnn_dissipative_destroy(d);
        } else {
            assert_int_equal(st, HNN_ERR_NO_MEMORY);
            assert_true(d == NULL && ob == NULL);
        }
        assert_int_equal(c.live_bytes, 0);
    }
    assert_true(loaded && k > 5);
    free(buf);
    hnn_optimizer_destroy(opt);
    model_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_and_activation_round_trips),
        cmocka_unit_test(test_dissipative_training_resumes_bit_exactly),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_every_flipped_bit_is_refused),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_wrong_kind_refusals),
        cmocka_unit_test(test_budget_and_info),
        cmocka_unit_test(test_failed_allocations_leave_nothing),
    };
    return cmocka_run_group_tests_name("model_v3", tests, NULL, NULL);
}

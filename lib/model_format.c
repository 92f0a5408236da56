/* The bytes of a model file (docs/format.md): little-endian encoding independent of the
 * host, the one encoding of each model (version 1, 2 or 3), the header and sections read
 * and checked before anything is trusted, and the load driver that builds nothing until a
 * file has passed every check and fits the budget. */
#include "model_format.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "dissipative_access.h"
#include "model_io.h"
#include "net_access.h"
#include "optim.h"

static const unsigned char magic[8] = {0x89, 'H', 'N', 'N', '\r', '\n', 0x1A, '\n'};

#define FLAG_OPTIMIZER 1u
#define FLAG_TRAINING 2u
#define OPT_NESTEROV 1u
#define OPT_AMSGRAD 2u
#define MAX_PARAMS ((uint64_t)1 << 27) /* 1 GiB of parameters */
#define MAX_FILE ((uint64_t)1 << 31)   /* 2 GiB */
#define OPT_HEAD (4 + 4 + 8 * HNNI_OPT_REALS + 8)

/* ---- little-endian encoding, independent of the host's byte order ------------------------ */

typedef struct writer {
    unsigned char *p;
    size_t pos;
} writer;

static void put_u32(writer *w, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_u64(writer *w, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_f64(writer *w, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits); /* IEEE-754 binary64 on every supported host */
    put_u64(w, bits);
}

typedef struct reader {
    const unsigned char *p;
    size_t size, pos;
} reader;

static int get_u32(reader *r, uint32_t *v)
{
    int i;
    if (r->size - r->pos < 4)
        return 0;
    *v = 0;
    for (i = 0; i < 4; i++)
        *v |= (uint32_t)r->p[r->pos++] << (8 * i);
    return 1;
}

static int get_u64(reader *r, uint64_t *v)
{
    int i;
    if (r->size - r->pos < 8)
        return 0;
    *v = 0;
    for (i = 0; i < 8; i++)
        *v |= (uint64_t)r->p[r->pos++] << (8 * i);
    return 1;
}

static int get_f64(reader *r, double *d)
{
    uint64_t bits;
    if (!get_u64(r, &bits))
        return 0;
    memcpy(d, &bits, sizeof bits);
    return 1;
}

/* ---- the encoding rule and sizes ------------------------------------------------------- */

static uint64_t optimizer_slots(uint32_t kind, uint32_t options)
{
    return kind == HNN_OPT_SGD ? 1 : (options & OPT_AMSGRAD) ? 3 : 2;
}

/* The format version rule, for writing and for reading: one encoding per model, the oldest
 * that holds it. A tanh net without a feature map or kinetic term is version 1, which every
 * libhnn reads; any other tanh net 2; another activation or a dissipative model 3. */
static uint32_t version_for(uint32_t model, const hnni_net_block *b)
{
    if (model != HNN_MODEL_NET || b->activation != HNN_ACTIVATION_TANH)
        return 3;
    return b->features == HNN_FEATURES_IDENTITY && b->kinetic_mass == 0.0 ? 1 : 2;
}

/* Bytes of one net block: kind, features, n, depth, widths, seed, P; version 2 adds bodies
 * and the kinetic mass, version 3 the activation too. */
static uint64_t block_bytes(uint32_t version, uint64_t depth)
{
    return 4 + 4 + (version >= 2 ? 12 : 0) + (version >= 3 ? 4 : 0) + 4 + 4 + 4 * depth + 8 + 8;
}

/* Bytes of a file for this header and sections; shapes are capped, so no overflow. */
static uint64_t file_size(const hnni_layout *L)
{
    uint64_t size = 16 + (L->version >= 3 ? 4 + 8 : 0) + 8 * L->params + 4; /* ... CRC-32 */
    uint32_t k;
    for (k = 0; k < L->nets; k++)
        size += block_bytes(L->version, L->net[k].depth);
    if (L->flags & FLAG_OPTIMIZER)
        size += OPT_HEAD + 8 * L->state_count;
    if (L->flags & FLAG_TRAINING)
        size += 8 + 8 + 8;
    return size;
}

uint64_t hnni_layout_file_size(const hnni_layout *L)
{
    return file_size(L);
}

static hnni_net_block block_of(const hnn_net_def *def, size_t params)
{
    hnni_net_block b;
    size_t l;
    memset(&b, 0, sizeof b);
    b.kind = (uint32_t)def->kind;
    b.features = (uint32_t)def->features;
    b.bodies = (uint32_t)def->bodies;
    b.kinetic_mass = def->kinetic_mass;
    b.activation = (uint32_t)def->activation;
    b.dof = (uint32_t)def->dof;
    b.depth = (uint32_t)def->depth;
    for (l = 0; l < def->depth; l++)
        b.widths[l] = (uint32_t)def->widths[l];
    b.seed = def->seed;
    b.params = params;
    return b;
}

/* ---- saving ------------------------------------------------------------------------------- */

static int losses_ok(double train, double val)
{
    return (train >= 0.0 || isnan(train)) && (val >= 0.0 || isnan(val)) && !isinf(train) &&
           !isinf(val);
}

static void put_block(writer *w, uint32_t version, const hnni_net_block *b)
{
    uint32_t l;
    put_u32(w, b->kind);
    put_u32(w, b->features);
    if (version >= 2) {
        put_u32(w, b->bodies);
        put_f64(w, b->kinetic_mass);
    }
    if (version >= 3)
        put_u32(w, b->activation);
    put_u32(w, b->dof);
    put_u32(w, b->depth);
    for (l = 0; l < b->depth; l++)
        put_u32(w, b->widths[l]);
    put_u64(w, b->seed);
    put_u64(w, b->params);
}

static void put_optimizer(writer *w, const hnn_optimizer *opt, const hnn_optimizer_def *od,
                          uint64_t state_count)
{
    const double reals[HNNI_OPT_REALS] = {od->lr,    od->weight_decay, od->momentum,
                                          od->dampening, od->beta1, od->beta2, od->eps};
    size_t i;
    put_u32(w, (uint32_t)od->kind);
    put_u32(w, (od->nesterov ? OPT_NESTEROV : 0) | (od->amsgrad ? OPT_AMSGRAD : 0));
    for (i = 0; i < HNNI_OPT_REALS; i++)
        put_f64(w, reals[i]);
    put_u64(w, state_count);
    for (i = 0; i < state_count; i++) {
        double v;
        /* one value at a time: no scratch allocation, the caller's buffer may be unaligned */
        hnni_optimizer_state_at(opt, i, &v);
        put_f64(w, v);
    }
}

hnn_status hnni_model_encode(const hnni_model_out *m, void *buffer, size_t capacity,
                             size_t *size, hnn_error *err)
{
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_SGD);
    hnni_layout L;
    uint64_t total;
    writer w;
    size_t k;
    if (m->meta != NULL &&
        hnni_value_check_err(m->meta, sizeof *m->meta, "hnn_train_meta", err) != HNN_OK)
        return HNN_ERR_INVALID_ARG;
    if (m->count > MAX_PARAMS)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%zu parameters: the format holds at most %llu",
                         m->count, (unsigned long long)MAX_PARAMS);
    if (m->meta != NULL && !losses_ok(m->meta->train_loss, m->meta->val_loss))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "training losses must be >= 0 and finite, or "
                         "NaN (a model file must load again)");
    memset(&L, 0, sizeof L);
    L.model = (uint32_t)m->model;
    L.nets = (uint32_t)m->nets;
    for (k = 0; k < m->nets; k++)
        L.net[k] = block_of(&m->def[k], m->net_params[k]);
    L.version = version_for(L.model, &L.net[0]);
    L.params = m->count;
    L.flags = (m->opt != NULL ? FLAG_OPTIMIZER : 0) | (m->meta != NULL ? FLAG_TRAINING : 0);
    if (m->opt != NULL) {
        if (hnn_optimizer_param_count(m->opt) != m->count)
            return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "the optimizer was made for %zu "
                             "parameters, the model has %zu", hnn_optimizer_param_count(m->opt),
                             m->count);
        hnn_optimizer_get_def(m->opt, &od);
        L.state_count = hnn_optimizer_state_size(m->opt);
    }
    total = file_size(&L);
    if (total > MAX_FILE || total > SIZE_MAX)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "the model needs %llu bytes, over the 2 GiB cap",
                         (unsigned long long)total);
    *size = (size_t)total;
    if (buffer == NULL)
        return hnni_ok(err);
    if (capacity < total)
        return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "the buffer holds %zu bytes, the model "
                         "needs %zu", capacity, *size);
    w.p = (unsigned char *)buffer;
    memcpy(w.p, magic, sizeof magic);
    w.pos = sizeof magic;
    put_u32(&w, L.version);
    put_u32(&w, L.flags);
    if (L.version >= 3)
        put_u32(&w, L.model);
    for (k = 0; k < L.nets; k++)
        put_block(&w, L.version, &L.net[k]);
    if (L.version >= 3)
        put_u64(&w, L.params);
    for (k = 0; k < m->count; k++)
        put_f64(&w, m->params[k]);
    if (m->opt != NULL)
        put_optimizer(&w, m->opt, &od, L.state_count);
    if (m->meta != NULL) {
        put_u64(&w, m->meta->steps_done);
        put_f64(&w, m->meta->train_loss);
        put_f64(&w, m->meta->val_loss);
    }
    put_u32(&w, hnn_crc32(0, w.p, w.pos));
    return hnni_ok(err);
}

hnn_status hnni_model_save_file(const char *path, const hnni_model_out *m,
                                const hnn_allocator *a, hnn_error *err)
{
    unsigned char *buf;
    size_t size = 0;
    hnn_status st;
    if (strlen(path) > ((size_t)1 << 20))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "%s: the path is over 1 MiB long", m->fn);
    if ((st = hnni_model_encode(m, NULL, 0, &size, err)) != HNN_OK)
        return st;
    if ((buf = (unsigned char *)hnni_alloc(a, size)) == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes to save a model", size);
    if ((st = hnni_model_encode(m, buf, size, &size, err)) == HNN_OK &&
        (st = hnni_model_write(path, buf, size, a, err)) == HNN_OK)
        st = hnni_ok(err);
    hnni_free(a, buf, size);
    return st;
}

/* ---- reading the header ------------------------------------------------------------------ */

static hnn_status truncated(hnn_error *err, uint64_t size, const char *what)
{
    return hnni_fail(err, HNN_ERR_TRUNCATED, "the model ends at byte %llu, inside %s",
                     (unsigned long long)size, what);
}

static hnn_net_def block_def(const hnni_net_block *b, const hnn_allocator *alloc)
{
    hnn_net_def def = hnn_net_def_default();
    uint32_t l;
    def.kind = (hnn_net_kind)b->kind;
    def.dof = b->dof;
    def.features = (hnn_feature_map)b->features;
    def.bodies = b->bodies;
    def.kinetic_mass = b->kinetic_mass;
    def.activation = (hnn_activation)b->activation;
    def.depth = b->depth;
    for (l = 0; l < b->depth; l++)
        def.widths[l] = b->widths[l];
    def.seed = b->seed;
    if (alloc != NULL)
        def.allocator = *alloc;
    return def;
}

hnn_net_def hnni_layout_def(const hnni_layout *L, size_t which, const hnn_allocator *alloc)
{
    return block_def(&L->net[which < L->nets ? which : 0], alloc);
}

/* The net a block describes, checked by the net's own rule (hnni_net_def_check: kinds, caps,
 * feature maps, the kinetic term, the activation, the parameter count): a definition
 * hnn_net_create refuses is a corrupt file (a size over a cap stays HNN_ERR_TOO_LARGE). */
static hnn_status check_shape(const hnni_net_block *b, const char *which, hnn_error *err)
{
    const hnn_net_def def = block_def(b, NULL);
    hnn_error why;
    size_t count;
    hnn_status st = hnni_net_def_check(&def, &count, &why);
    if (st != HNN_OK)
        return hnni_fail(err, st == HNN_ERR_TOO_LARGE ? st : HNN_ERR_CORRUPT,
                         "the header describes no %s libhnn can build: %s", which, why.message);
    if (b->params != count)
        return hnni_fail(err, HNN_ERR_CORRUPT, "the header says %llu parameters, the shape of "
                         "its %s %zu", (unsigned long long)b->params, which, count);
    return HNN_OK;
}

/* One net block, read and checked; `which` names it in messages. */
static hnn_status read_block(reader *r, uint32_t version, hnni_net_block *b, const char *which,
                             hnn_error *err)
{
    uint32_t l;
    b->bodies = 0;
    b->kinetic_mass = 0.0;
    b->activation = HNN_ACTIVATION_TANH;
    if (!get_u32(r, &b->kind) || !get_u32(r, &b->features) ||
        (version >= 2 && (!get_u32(r, &b->bodies) || !get_f64(r, &b->kinetic_mass))) ||
        (version >= 3 && !get_u32(r, &b->activation)) || !get_u32(r, &b->dof) ||
        !get_u32(r, &b->depth))
        return truncated(err, r->size, "the header");
    if ((b->kinetic_mass == 0.0 && signbit(b->kinetic_mass)) ||
        !hnni_kinetic_mass_ok(b->kinetic_mass))
        return hnni_fail(err, HNN_ERR_CORRUPT, "kinetic mass %g: a net takes 0 (none, written "
                         "as +0) or a mass in [1e-100, 1e100]", b->kinetic_mass);
    if (b->activation > HNN_ACTIVATION_RELU)
        return hnni_fail(err, HNN_ERR_CORRUPT, "activation %u of the %s: libhnn knows 0 (tanh) "
                         "to %d (ReLU)", b->activation, which, HNN_ACTIVATION_RELU);
    /* the widths' array bounds, before they are read */
    if (b->depth == 0 || b->depth > HNN_MAX_HIDDEN)
        return hnni_fail(err, b->depth == 0 ? HNN_ERR_CORRUPT : HNN_ERR_TOO_LARGE,
                         "depth %u: a net has 1 to %d hidden layers", b->depth, HNN_MAX_HIDDEN);
    for (l = 0; l < b->depth; l++)
        if (!get_u32(r, &b->widths[l]))
            return truncated(err, r->size, "the layer widths");
    if (!get_u64(r, &b->seed) || !get_u64(r, &b->params))
        return truncated(err, r->size, "the header");
    /* the shape first: a count that disagrees with it is a corrupt file, whatever its size */
    return check_shape(b, which, err);
}

static const char *const model_names[3] = {"net", "Helmholtz dissipative model",
                                            "port-Hamiltonian model"};

/* A dissipative model's nets, judged by the model's own rule, and the flat count. */
static hnn_status check_model(reader *r, hnni_layout *L, hnn_error *err)
{
    uint64_t count = L->net[0].params;
    hnn_error why;
    if (L->model != HNN_MODEL_NET) {
        const hnn_net_def h = block_def(&L->net[0], NULL), d = block_def(&L->net[1], NULL);
        const hnn_dissipation kind = L->model == HNN_MODEL_HELMHOLTZ ? HNN_DISSIPATION_HELMHOLTZ
                                                                     : HNN_DISSIPATION_PORT;
        if (hnni_dissipative_check(kind, &h, L->nets == 2 ? &d : NULL, &why) != HNN_OK)
            return hnni_fail(err, HNN_ERR_CORRUPT, "the header describes no %s libhnn can "
                             "build: %s", model_names[L->model], why.message);
        count += L->nets == 2 ? L->net[1].params : hnni_dissipative_l_count(h.dof);
    }
    if (L->version >= 3 && !get_u64(r, &L->params))
        return truncated(err, r->size, "the header");
    if (L->version < 3)
        L->params = count;
    if (L->params != count)
        return hnni_fail(err, HNN_ERR_CORRUPT, "the header says %llu parameters in all, its %s "
                         "has %llu", (unsigned long long)L->params, model_names[L->model],
                         (unsigned long long)count);
    if (L->params > MAX_PARAMS)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%llu parameters, over the cap %llu",
                         (unsigned long long)L->params, (unsigned long long)MAX_PARAMS);
    return HNN_OK;
}

/* Reads and checks the fixed header and the shapes. */
static hnn_status read_header(reader *r, hnni_layout *L, hnn_error *err)
{
    static const char *const which[2][2] = {{"net", "net"}, {"H net", "D net"}};
    uint32_t version, k;
    hnn_status st;
    if (r->size < sizeof magic) {
        if (memcmp(r->p, magic, r->size) == 0)
            return truncated(err, r->size, "the magic number");
        return hnni_fail(err, HNN_ERR_BAD_MAGIC, "not a libhnn model (too short, wrong magic)");
    }
    if (memcmp(r->p, magic, sizeof magic) != 0)
        return hnni_fail(err, HNN_ERR_BAD_MAGIC, "not a libhnn model (wrong magic number)");
    r->pos = sizeof magic;
    if (!get_u32(r, &version))
        return truncated(err, r->size, "the header");
    if (version == 0)
        return hnni_fail(err, HNN_ERR_CORRUPT, "format version 0 does not exist");
    if (version > HNN_MODEL_FORMAT_VERSION)
        return hnni_fail(err, HNN_ERR_VERSION, "format version %u; this library reads up to %d "
                         "(a newer libhnn wrote it)", version, HNN_MODEL_FORMAT_VERSION);
    L->version = version;
    L->model = HNN_MODEL_NET;
    if (!get_u32(r, &L->flags) || (version >= 3 && !get_u32(r, &L->model)))
        return truncated(err, r->size, "the header");
    if (L->flags & ~(FLAG_OPTIMIZER | FLAG_TRAINING))
        return hnni_fail(err, HNN_ERR_CORRUPT, "unknown flags 0x%x", L->flags);
    if (L->model > HNN_MODEL_PORT)
        return hnni_fail(err, HNN_ERR_CORRUPT, "model kind %u: libhnn knows 0 (net), 1 "
                         "(Helmholtz) and 2 (port-Hamiltonian)", L->model);
    L->nets = L->model == HNN_MODEL_HELMHOLTZ ? 2 : 1;
    for (k = 0; k < L->nets; k++)
        if ((st = read_block(r, version, &L->net[k], which[L->model != HNN_MODEL_NET][k],
                             err)) != HNN_OK)
            return st;
    if (version != version_for(L->model, &L->net[0]))
        return hnni_fail(err, HNN_ERR_CORRUPT, "a %s with feature map %u, kinetic mass %g and "
                         "activation %u in a version %u header (it is written as version %u)",
                         model_names[L->model], L->net[0].features, L->net[0].kinetic_mass,
                         L->net[0].activation, version, version_for(L->model, &L->net[0]));
    return check_model(r, L, err);
}

/* The optimizer section's fixed fields, from its first byte. */
static hnn_status read_optimizer_header(reader *r, hnni_layout *L, hnn_error *err)
{
    uint64_t i, expect;
    if (!get_u32(r, &L->opt_kind) || !get_u32(r, &L->opt_options))
        return truncated(err, r->size, "the optimizer section");
    if (L->opt_kind > HNN_OPT_ADAMW || (L->opt_options & ~(OPT_NESTEROV | OPT_AMSGRAD)))
        return hnni_fail(err, HNN_ERR_CORRUPT, "unknown optimizer kind %u or options 0x%x",
                         L->opt_kind, L->opt_options);
    for (i = 0; i < HNNI_OPT_REALS; i++)
        if (!get_f64(r, &L->opt_reals[i]))
            return truncated(err, r->size, "the optimizer section");
    if (!get_u64(r, &L->state_count))
        return truncated(err, r->size, "the optimizer section");
    expect = 1 + optimizer_slots(L->opt_kind, L->opt_options) * L->params;
    if (L->state_count != expect)
        return hnni_fail(err, HNN_ERR_CORRUPT, "the optimizer state has %llu values, expected "
                         "%llu", (unsigned long long)L->state_count, (unsigned long long)expect);
    return HNN_OK;
}

/* The training section, from its first byte. */
static hnn_status read_training(reader *r, hnni_layout *L, hnn_error *err)
{
    if (!get_u64(r, &L->steps_done) || !get_f64(r, &L->train_loss) || !get_f64(r, &L->val_loss))
        return truncated(err, r->size, "the training section");
    if (!losses_ok(L->train_loss, L->val_loss))
        return hnni_fail(err, HNN_ERR_CORRUPT, "training losses must be >= 0, finite or NaN");
    return HNN_OK;
}

/* ---- the header and sections of a file, without reading the rest ---------------------- */

static int source_read(const hnni_source *s, uint64_t at, unsigned char *out, size_t n)
{
    if (at > s->size || s->size - at < n)
        return 0;
    if (s->buffer != NULL) {
        memcpy(out, s->buffer + at, n);
        return 1;
    }
    return fseek(s->f, (long)at, SEEK_SET) == 0 && fread(out, 1, n, s->f) == n;
}

/* A window of n (<= 80) bytes at `at` as a reader. The source ending before `at` is
 * truncation inside `before` (the part that precedes), inside the window inside `what`. */
static hnn_status window(const hnni_source *s, uint64_t at, size_t n, unsigned char *buf,
                         reader *w, const char *before, const char *what, hnn_error *err)
{
    if (at > s->size || s->size - at < n)
        return truncated(err, s->size, s->size < at ? before : what);
    if (!source_read(s, at, buf, n))
        return hnni_fail(err, HNN_ERR_IO, "cannot read %s", what);
    w->p = buf;
    w->size = n;
    w->pos = 0;
    return HNN_OK;
}

hnn_status hnni_layout_structure(const hnni_source *s, hnni_layout *L, hnn_error *err)
{
    enum { HEAD = 512 }; /* the longest header: 20 + 2 (48 + 4 x 16) + 8 = 252 bytes */
    unsigned char head[HEAD], buf[OPT_HEAD + 8];
    const size_t n = s->size < HEAD ? (size_t)s->size : HEAD;
    const char *last = "the parameters";
    reader r, w;
    uint64_t at, expected;
    hnn_status st;
    memset(L, 0, sizeof *L);
    if (!source_read(s, 0, head, n))
        return hnni_fail(err, HNN_ERR_IO, "cannot read the header");
    r.p = head;
    r.size = n;
    r.pos = 0;
    if ((st = read_header(&r, L, err)) != HNN_OK)
        return st;
    L->params_at = r.pos;
    at = L->params_at + 8 * L->params;
    if (L->flags & FLAG_OPTIMIZER) {
        if ((st = window(s, at, OPT_HEAD, buf, &w, last, "the optimizer section", err)) !=
                HNN_OK ||
            (st = read_optimizer_header(&w, L, err)) != HNN_OK)
            return st;
        L->state_at = (size_t)(at + OPT_HEAD);
        if ((st = window(s, L->state_at, 8, buf, &w, "the optimizer section",
                         "the optimizer state", err)) != HNN_OK)
            return st;
        get_u64(&w, &L->first_state);
        at = L->state_at + 8 * L->state_count;
        last = "the optimizer state";
    }
    if (L->flags & FLAG_TRAINING) {
        if ((st = window(s, at, 24, buf, &w, last, "the training section", err)) != HNN_OK ||
            (st = read_training(&w, L, err)) != HNN_OK)
            return st;
        last = "the training section";
        at += 24;
    }
    expected = file_size(L);
    if (s->size < expected)
        return truncated(err, s->size, s->size < at ? last : "the checksum");
    if (s->size > expected)
        return hnni_fail(err, HNN_ERR_CORRUPT, "%llu bytes after the end of the model",
                         (unsigned long long)(s->size - expected));
    return HNN_OK;
}

/* ---- what loading takes, and the pieces it is built from ------------------------------- */

hnn_status hnni_layout_needs(const hnni_layout *L, hnni_needs *n, hnn_error *err)
{
    const hnn_net_def h = hnni_layout_def(L, 0, NULL), d = hnni_layout_def(L, 1, NULL);
    hnn_status st;
    if (L->model == HNN_MODEL_NET)
        st = hnn_net_def_bytes(&h, &n->model, &n->workspace, err);
    else
        st = hnni_dissipative_bytes(L->model == HNN_MODEL_HELMHOLTZ ? HNN_DISSIPATION_HELMHOLTZ
                                                                    : HNN_DISSIPATION_PORT,
                                    &h, L->nets == 2 ? &d : NULL, &n->model, &n->workspace, err);
    if (st != HNN_OK)
        return st;
    /* params <= 2^27 and state_count <= 1 + 3 params: far inside size_t */
    n->optimizer = (L->flags & FLAG_OPTIMIZER)
                       ? hnni_optimizer_bytes((size_t)optimizer_slots(L->opt_kind, L->opt_options),
                                              (size_t)L->params) +
                             (size_t)L->state_count * sizeof(double)
                       : 0;
    if (!hnni_add_size(n->model, n->optimizer, &n->total))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "the model's size overflows size_t");
    return HNN_OK;
}

static hnn_status over_budget(hnn_error *err, size_t need, const hnni_needs *n, size_t budget)
{
    return hnni_fail(err, HNN_ERR_TOO_LARGE, "loading needs %zu bytes (model and workspace %zu, "
                     "optimizer %zu), over the budget of %zu: raise hnn_load_def.max_bytes if "
                     "the model is yours", need, n->model, n->optimizer, budget);
}

static double f64_at(const unsigned char *p, size_t size, size_t offset)
{
    reader at;
    double d = 0.0;
    at.p = p;
    at.size = size;
    at.pos = offset;
    get_f64(&at, &d);
    return d;
}

double hnni_file_param(const void *ctx, size_t i)
{
    const hnni_file_params *fp = (const hnni_file_params *)ctx;
    return f64_at(fp->p, fp->size, fp->L->params_at + 8 * i);
}

static hnn_status build_optimizer(const hnni_file_params *fp, const hnn_allocator *a,
                                  hnn_optimizer **out, hnn_error *err)
{
    const hnni_layout *L = fp->L;
    hnn_optimizer_def def = hnn_optimizer_def_default((hnn_optimizer_kind)L->opt_kind);
    double *state;
    size_t i, bytes = (size_t)L->state_count * sizeof(double);
    hnn_status st;
    def.lr = L->opt_reals[0];
    def.weight_decay = L->opt_reals[1];
    def.momentum = L->opt_reals[2];
    def.dampening = L->opt_reals[3];
    def.beta1 = L->opt_reals[4];
    def.beta2 = L->opt_reals[5];
    def.eps = L->opt_reals[6];
    def.nesterov = (L->opt_options & OPT_NESTEROV) != 0;
    def.amsgrad = (L->opt_options & OPT_AMSGRAD) != 0;
    def.allocator = *a;
    if ((st = hnn_optimizer_create(&def, (size_t)L->params, out, err)) != HNN_OK)
        return st == HNN_ERR_INVALID_ARG
                   ? hnni_fail(err, HNN_ERR_CORRUPT, "optimizer settings out of range")
                   : st;
    state = (double *)hnni_alloc(a, bytes);
    if (state == NULL) {
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate the optimizer state");
    } else {
        for (i = 0; i < L->state_count; i++)
            state[i] = f64_at(fp->p, fp->size, L->state_at + 8 * i);
        st = hnn_optimizer_state_set(*out, state, (size_t)L->state_count);
        if (st != HNN_OK)
            st = hnni_fail(err, HNN_ERR_CORRUPT, "the optimizer state is invalid (%s)",
                           hnn_status_string(st));
        hnni_free(a, state, bytes);
    }
    if (st != HNN_OK) {
        hnn_optimizer_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* ---- the load driver --------------------------------------------------------------------- */

/* The caller's load def (NULL: the defaults), read as every def is, and a meta (if any) of a
 * released size. */
static hnn_status read_defs(const hnn_load_def *def, const hnn_train_meta *meta,
                            hnn_load_def *full, hnn_error *err)
{
    hnn_status st;
    hnn_load_def_init(full, sizeof *full);
    if (def != NULL &&
        (st = hnni_read_def(def, full, sizeof *full, NULL, "hnn_load_def", err)) != HNN_OK)
        return st;
    full->allocator = hnni_allocator_resolve(full->allocator);
    return meta == NULL ? HNN_OK
                        : hnni_value_check_err(meta, sizeof *meta, "hnn_train_meta", err);
}

/* A file of the kind this loader takes, or HNN_ERR_WRONG_KIND naming the one that does. */
static hnn_status check_kind(const hnni_layout *L, int dissipative, hnn_error *err)
{
    if (dissipative && L->model == HNN_MODEL_NET)
        return hnni_fail(err, HNN_ERR_WRONG_KIND, "the file holds a single net, not a "
                         "dissipative model: load it with hnn_model_load (or _load_buffer)");
    if (!dissipative && L->model != HNN_MODEL_NET)
        return hnni_fail(err, HNN_ERR_WRONG_KIND, "the file holds a %s, not a single net: load "
                         "it with hnn_dissipative_load (or _load_buffer)", model_names[L->model]);
    return HNN_OK;
}

/* Loads checked-in-full bytes with `budget` left for the model and the optimizer. */
static hnn_status load_checked(const unsigned char *p, size_t size, const hnn_allocator *a,
                               size_t budget, const hnni_loader *ld, hnn_error *err)
{
    hnni_source s;
    hnni_layout L;
    hnni_needs n;
    hnni_file_params fp;
    hnn_status st;
    s.buffer = p;
    s.f = NULL;
    s.size = size;
    if ((st = hnni_layout_structure(&s, &L, err)) != HNN_OK)
        return st;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let the fuzzer past the checksum */
    {
        reader r;
        uint32_t stored;
        r.p = p;
        r.size = size;
        r.pos = size - 4;
        get_u32(&r, &stored);
        if (hnn_crc32(0, p, size - 4) != stored)
            return hnni_fail(err, HNN_ERR_CHECKSUM, "checksum mismatch: the model is damaged");
    }
#endif
    if ((st = check_kind(&L, ld->dissipative, err)) != HNN_OK ||
        (st = hnni_layout_needs(&L, &n, err)) != HNN_OK)
        return st;
    if (n.total > budget)
        return over_budget(err, n.total, &n, budget);
    fp.p = p;
    fp.size = size;
    fp.L = &L;
    if ((st = ld->build(ld->ctx, &fp, a, err)) != HNN_OK)
        return st;
    if (L.flags & FLAG_OPTIMIZER) {
        /* checked whether or not the caller wants it: a file is valid or not, whoever asks */
        hnn_optimizer *o = NULL;
        if ((st = build_optimizer(&fp, a, &o, err)) != HNN_OK) {
            ld->undo(ld->ctx);
            return st;
        }
        if (ld->opt != NULL)
            *ld->opt = o;
        else
            hnn_optimizer_destroy(o);
    }
    if (ld->meta != NULL) {
        hnn_train_meta m;
        m.struct_size = sizeof m;
        m.present = (L.flags & FLAG_TRAINING) != 0;
        m.steps_done = m.present ? L.steps_done : 0;
        m.train_loss = m.present ? L.train_loss : NAN;
        m.val_loss = m.present ? L.val_loss : NAN;
        hnni_copy_def_out(ld->meta, &m, sizeof m, NULL); /* its size was checked on entry */
    }
    return hnni_ok(err);
}

hnn_status hnni_model_load_bytes(const void *buffer, size_t size, const hnn_load_def *def,
                                 const hnni_loader *ld, hnn_error *err)
{
    hnn_load_def full;
    hnn_status st;
    if ((st = read_defs(def, ld->meta, &full, err)) != HNN_OK)
        return st;
    return load_checked((const unsigned char *)buffer, size, &full.allocator, full.max_bytes, ld,
                        err);
}

hnn_status hnni_model_load_file(const char *path, const hnn_load_def *def,
                                const hnni_loader *ld, hnn_error *err)
{
    hnn_load_def full;
    unsigned char *buf;
    hnni_source s;
    hnni_layout L;
    hnni_needs n;
    size_t size, need;
    FILE *f;
    hnn_status st;
    if ((st = read_defs(def, ld->meta, &full, err)) != HNN_OK ||
        (st = hnni_model_open(path, &f, &s.size, err)) != HNN_OK)
        return st;
    size = (size_t)s.size;
    /* the header first: a file that is not a model (of this kind), or not the size its
     * header says, or that needs more than the budget, is refused before its bytes are read */
    s.buffer = NULL;
    s.f = f;
    if ((st = hnni_layout_structure(&s, &L, err)) != HNN_OK ||
        (st = check_kind(&L, ld->dissipative, err)) != HNN_OK ||
        (st = hnni_layout_needs(&L, &n, err)) != HNN_OK) {
        fclose(f);
        return hnni_model_named(st, path, err);
    }
    if (!hnni_add_size(n.total, size, &need) || need > full.max_bytes) {
        fclose(f);
        return hnni_model_named(over_budget(err, n.total + size, &n, full.max_bytes), path, err);
    }
    if ((buf = (unsigned char *)hnni_alloc(&full.allocator, size)) == NULL) {
        fclose(f);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", path, size);
    }
    if (fseek(f, 0, SEEK_SET) != 0 || fread(buf, 1, size, f) != size)
        st = hnni_fail(err, HNN_ERR_IO, "%s: cannot read", path);
    else
        st = hnni_model_named(load_checked(buf, size, &full.allocator, full.max_bytes - size, ld,
                                           err),
                              path, err);
    fclose(f);
    hnni_free(&full.allocator, buf, size);
    return st;
}

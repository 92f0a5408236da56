/* Model files: serialization of a net (with optional optimizer state and training progress)
 * into the checked, little-endian format of docs/format.md, safe saving (write a temporary
 * file, flush, rename), and loading that trusts nothing it reads. */
#if defined(__linux__)
#define _GNU_SOURCE /* O_TMPFILE, AT_SYMLINK_FOLLOW: an unnamed temporary file */
#elif defined(__unix__) || defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L /* fileno, fsync, O_NOFOLLOW, O_CLOEXEC */
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define HNNI_HAVE_FSYNC 1
#endif

#include "hnn/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdint.h>

#include "alloc.h"
#include "core.h"
#include "net_access.h"
#include "optim.h"

static const unsigned char magic[8] = {0x89, 'H', 'N', 'N', '\r', '\n', 0x1A, '\n'};

#define FLAG_OPTIMIZER 1u
#define FLAG_TRAINING 2u
#define OPT_NESTEROV 1u
#define OPT_AMSGRAD 2u
#define MAX_PARAMS ((uint64_t)1 << 27)  /* 1 GiB of parameters */
#define MAX_FILE ((uint64_t)1 << 31)    /* 2 GiB */
#define OPT_REALS 7                     /* lr, weight_decay, momentum, dampening, beta1, beta2, eps */

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

/* ---- sizes -------------------------------------------------------------------------------- */

static uint64_t optimizer_slots(uint32_t kind, uint32_t options)
{
    return kind == HNN_OPT_SGD ? 1 : (options & OPT_AMSGRAD) ? 3 : 2;
}

/* Bytes of a file for this shape and sections; shapes are capped, so no overflow. */
static uint64_t file_size(uint32_t version, uint64_t depth, uint64_t params, int has_opt,
                          uint64_t state, int has_meta)
{
    /* version 2 adds a u32 (bodies) and an f64 (kinetic mass) after the feature map */
    uint64_t size = 32 + (version >= 2 ? 12 : 0) + 4 * depth + 8 + 8 + 8 * params;
    if (has_opt)
        size += 4 + 4 + 8 * OPT_REALS + 8 + 8 * state;
    if (has_meta)
        size += 8 + 8 + 8;
    return size + 4; /* CRC-32 */
}

/* The format version rule, for writing and for reading: one encoding per model. A net without
 * a feature map or kinetic term is version 1, which every libhnn reads; any other is 2. */
static uint32_t format_version_for(uint32_t features, double kinetic_mass)
{
    return features == HNN_FEATURES_IDENTITY && kinetic_mass == 0.0 ? 1 : 2;
}

/* A train_meta the caller passed (to be read or filled) must have a released struct_size. */
static hnn_status check_meta(const hnn_train_meta *meta, hnn_error *err)
{
    return meta == NULL ? HNN_OK : hnni_value_check_err(meta, sizeof *meta, "hnn_train_meta", err);
}

/* ---- saving ------------------------------------------------------------------------------- */

hnn_status hnn_model_save_buffer(const hnn_net *net, const hnn_optimizer *opt,
                                 const hnn_train_meta *meta, void *buffer, size_t capacity,
                                 size_t *size, hnn_error *err)
{
    hnn_optimizer_def od = hnn_optimizer_def_default(HNN_OPT_SGD);
    hnn_net_def def = hnn_net_def_default();
    uint64_t state_count = 0, total;
    uint32_t version;
    writer w;
    size_t l, param_count;
    const double *params;
    if (net == NULL || size == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_save_buffer: net and size must not be NULL");
    if (check_meta(meta, err) != HNN_OK)
        return HNN_ERR_INVALID_ARG;
    hnn_net_get_def(net, &def);
    param_count = hnn_net_param_count(net);
    if (param_count > MAX_PARAMS)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%zu parameters: the format holds at most %llu",
                         param_count, (unsigned long long)MAX_PARAMS);
    if (meta != NULL && !((meta->train_loss >= 0.0 || isnan(meta->train_loss)) &&
                          (meta->val_loss >= 0.0 || isnan(meta->val_loss)) &&
                          !isinf(meta->train_loss) && !isinf(meta->val_loss)))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "training losses must be >= 0 and finite, or "
                         "NaN (a model file must load again)");
    if (opt != NULL) {
        if (hnn_optimizer_param_count(opt) != param_count)
            return hnni_fail(err, HNN_ERR_SIZE_MISMATCH, "the optimizer was made for %zu "
                             "parameters, the net has %zu", hnn_optimizer_param_count(opt),
                             param_count);
        hnn_optimizer_get_def(opt, &od);
        state_count = hnn_optimizer_state_size(opt);
    }
    version = format_version_for(def.features, def.kinetic_mass);
    total = file_size(version, def.depth, param_count, opt != NULL, state_count, meta != NULL);
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
    w.pos = 0;
    memcpy(w.p, magic, sizeof magic);
    w.pos = sizeof magic;
    put_u32(&w, version);
    put_u32(&w, (opt != NULL ? FLAG_OPTIMIZER : 0) | (meta != NULL ? FLAG_TRAINING : 0));
    put_u32(&w, (uint32_t)def.kind);
    put_u32(&w, (uint32_t)def.features);
    if (version >= 2) {
        put_u32(&w, (uint32_t)def.bodies);
        put_f64(&w, def.kinetic_mass);
    }
    put_u32(&w, (uint32_t)def.dof);
    put_u32(&w, (uint32_t)def.depth);
    for (l = 0; l < def.depth; l++)
        put_u32(&w, (uint32_t)def.widths[l]);
    put_u64(&w, def.seed);
    put_u64(&w, param_count);
    params = hnni_net_params(net);
    for (l = 0; l < param_count; l++)
        put_f64(&w, params[l]);
    if (opt != NULL) {
        const double reals[OPT_REALS] = {od.lr, od.weight_decay, od.momentum, od.dampening,
                                         od.beta1, od.beta2, od.eps};
        size_t i;
        put_u32(&w, (uint32_t)od.kind);
        put_u32(&w, (od.nesterov ? OPT_NESTEROV : 0) | (od.amsgrad ? OPT_AMSGRAD : 0));
        for (i = 0; i < OPT_REALS; i++)
            put_f64(&w, reals[i]);
        put_u64(&w, state_count);
        for (i = 0; i < state_count; i++) {
            double v;
            /* one value at a time: no scratch allocation, the caller's buffer may be unaligned */
            hnni_optimizer_state_at(opt, i, &v);
            put_f64(&w, v);
        }
    }
    if (meta != NULL) {
        put_u64(&w, meta->steps_done);
        put_f64(&w, meta->train_loss);
        put_f64(&w, meta->val_loss);
    }
    put_u32(&w, hnn_crc32(0, w.p, w.pos));
    return hnni_ok(err);
}

/* "<path>.tmp", allocated with a. */
#ifdef HNNI_HAVE_FSYNC
/* ---- POSIX: a temporary file no one else can have made or pointed anywhere ------------- */

/* The temporary's name: "<path>.tmp-" and 16 hex digits, mixed from the process, the clock,
 * a stack address and the attempt (not secret: O_EXCL, not the name, keeps it ours). */
static void temp_name(char *out, size_t cap, const char *path, unsigned attempt)
{
    uint64_t z = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL) ^
                 (uint64_t)(uintptr_t)&z ^ ((uint64_t)attempt << 40) ^ (uint64_t)clock();
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; /* splitmix64's finaliser */
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    snprintf(out, cap, "%s.tmp-%016llx", path, (unsigned long long)z);
}

static int write_all(int fd, const unsigned char *p, size_t size)
{
    while (size > 0) {
        const ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        size -= (size_t)n;
    }
    return 1;
}

/* The directory part of path ("." for a bare name) into out. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* After a save: removes what killed saves of `path` left behind, "<path>.tmp-" and 16 hex
 * digits, but only regular files (never through a link: lstat), of this user, untouched for
 * STALE_SECONDS (so never the temporary of a save still running elsewhere, whose name lives
 * for the microseconds between its link and its rename). */
#define STALE_SECONDS 60

static int is_temp_of(const char *entry, const char *base, size_t len)
{
    size_t i;
    if (strncmp(entry, base, len) != 0 || strncmp(entry + len, ".tmp-", 5) != 0)
        return 0;
    for (i = 0; i < 16; i++)
        if (!strchr("0123456789abcdef", entry[len + 5 + i]) || entry[len + 5 + i] == '\0')
            return 0;
    return entry[len + 5 + 16] == '\0';
}

static void remove_stale_temporaries(const char *path)
{
    char dir[4096], full[4096 + 256];
    const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
    const size_t len = strlen(base);
    const time_t now = time(NULL);
    struct dirent *e;
    DIR *d;
    dir_of(path, dir, sizeof dir);
    if (len > 200 || (d = opendir(dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat info;
        if (!is_temp_of(e->d_name, base, len))
            continue;
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        if (lstat(full, &info) == 0 && S_ISREG(info.st_mode) && info.st_uid == geteuid() &&
            now - info.st_mtime >= STALE_SECONDS)
            unlink(full);
    }
    closedir(d);
}

/* Writes the data to fd with the mode to keep (if any), and flushes it to disk. */
static int fill(int fd, const unsigned char *data, size_t size, const struct stat *keep)
{
    return write_all(fd, data, size) && (keep == NULL || fchmod(fd, keep->st_mode & 07777) == 0) &&
           fsync(fd) == 0;
}

#ifdef O_TMPFILE
/* Linux: the file is written unnamed (a kill while writing leaves nothing behind), then
 * linked under a fresh name for the rename (a link never replaces anything). Returns the open
 * descriptor with *name set; -1 with errno 0 when the file system (or a missing /proc)
 * cannot do it, so the caller falls back to a named file; -1 with errno set on a write
 * failure, which is reported. */
static int unnamed_then_linked(const char *path, const unsigned char *data, size_t size,
                               const struct stat *keep, char *name, size_t cap)
{
    char dir[4096], proc[64];
    unsigned attempt;
    int fd;
    dir_of(path, dir, sizeof dir);
    if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666)) < 0) {
        errno = 0;
        return -1;
    }
    if (!fill(fd, data, size, keep)) {
        const int saved = errno;
        close(fd);
        errno = saved != 0 ? saved : EIO;
        return -1;
    }
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (attempt = 0; attempt < 100; attempt++) {
        temp_name(name, cap, path, attempt);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    close(fd);
    errno = 0;
    return -1;
}
#endif

/* Writes data to a new file that becomes `path` only when complete and on disk: unnamed
 * while written where Linux allows it, else created under a fresh name with O_EXCL |
 * O_NOFOLLOW, so an existing file or symlink there is never written through. It keeps the
 * permission bits of the file it replaces (a new file gets 0666 less the umask, as fopen
 * gives). `name` (cap bytes) holds the temporary name. */
static hnn_status write_replace(const char *path, const unsigned char *data, size_t size,
                                char *name, size_t cap, hnn_error *err)
{
    struct stat old;
    const struct stat *keep = stat(path, &old) == 0 && S_ISREG(old.st_mode) ? &old : NULL;
    int fd = -1, saved;
    unsigned attempt;
#ifdef O_TMPFILE
    fd = unnamed_then_linked(path, data, size, keep, name, cap);
    if (fd < 0 && errno != 0)
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
#endif
    if (fd < 0) {
        for (attempt = 0; fd < 0 && attempt < 100; attempt++) {
            temp_name(name, cap, path, attempt);
            fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST)
                return hnni_fail(err, HNN_ERR_IO, "%s: cannot create: %s", name, strerror(errno));
        }
        if (fd < 0)
            return hnni_fail(err, HNN_ERR_IO, "%s: no free temporary name", path);
        if (!fill(fd, data, size, keep)) {
            saved = errno;
            close(fd);
            unlink(name);
            return hnni_fail(err, HNN_ERR_IO, "%s: cannot write: %s", path, strerror(saved));
        }
    }
    if (close(fd) != 0 || rename(name, path) != 0) {
        saved = errno;
        unlink(name);
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot replace: %s", path, strerror(saved));
    }
    { /* the rename itself on disk too */
        char dir[4096];
        int dfd;
        dir_of(path, dir, sizeof dir);
        if ((dfd = open(dir, O_RDONLY | O_CLOEXEC)) >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    remove_stale_temporaries(path);
    return HNN_OK;
}

#else
/* ---- portable C: a fixed temporary name beside the file --------------------------------- */

static hnn_status write_replace(const char *path, const unsigned char *data, size_t size,
                                char *name, size_t cap, hnn_error *err)
{
    FILE *f;
    int ok;
    snprintf(name, cap, "%s.tmp", path);
    if ((f = fopen(name, "wb")) == NULL)
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot create: %s", name, strerror(errno));
    ok = fwrite(data, 1, size, f) == size && fflush(f) == 0;
    if (fclose(f) != 0 || !ok) {
        remove(name);
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot write: %s", name, strerror(errno));
    }
    if (rename(name, path) != 0) {
#ifdef _WIN32
        /* Windows will not rename over an existing file: remove it first (not atomic). */
        if (remove(path) == 0 && rename(name, path) == 0)
            return HNN_OK;
#endif
        remove(name);
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot replace: %s", path, strerror(errno));
    }
    return HNN_OK;
}
#endif

hnn_status hnn_model_save(const char *path, const hnn_net *net, const hnn_optimizer *opt,
                          const hnn_train_meta *meta, hnn_error *err)
{
    hnn_allocator a;
    unsigned char *buf = NULL;
    char *name = NULL;
    size_t size = 0, cap;
    hnn_status st;
    if (path == NULL || net == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_save: path and net must not be NULL");
    if (strlen(path) > ((size_t)1 << 20))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_model_save: the path is over 1 MiB long");
    a = *hnni_net_allocator(net);
    cap = strlen(path) + 32; /* ".tmp-" and 16 digits */
    if ((st = hnn_model_save_buffer(net, opt, meta, NULL, 0, &size, err)) != HNN_OK)
        return st;
    buf = (unsigned char *)hnni_alloc(&a, size);
    name = (char *)hnni_alloc(&a, cap);
    if (buf == NULL || name == NULL)
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes to save a model", size);
    else if ((st = hnn_model_save_buffer(net, opt, meta, buf, size, &size, err)) == HNN_OK &&
             (st = write_replace(path, buf, size, name, cap, err)) == HNN_OK)
        st = hnni_ok(err);
    hnni_free(&a, buf, size);
    hnni_free(&a, name, cap);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* Everything the structure of a file says, read before any of it is trusted. */
typedef struct layout {
    uint32_t version, flags, kind, features, bodies, dof, depth, widths[HNN_MAX_HIDDEN];
    double kinetic_mass;
    uint64_t seed, params;
    size_t params_at;              /* byte offset of the first parameter */
    uint32_t opt_kind, opt_options;
    double opt_reals[OPT_REALS];
    uint64_t state_count;
    size_t state_at;
    uint64_t steps_done;
    double train_loss, val_loss;
} layout;

static hnn_status truncated(hnn_error *err, const reader *r, const char *what)
{
    return hnni_fail(err, HNN_ERR_TRUNCATED, "the model ends at byte %zu, inside %s", r->size, what);
}

/* The net definition a layout describes. */
static hnn_net_def layout_def(const layout *L, const hnn_allocator *alloc)
{
    hnn_net_def def = hnn_net_def_default();
    uint32_t l;
    def.kind = (hnn_net_kind)L->kind;
    def.dof = L->dof;
    def.features = (hnn_feature_map)L->features;
    def.bodies = L->bodies;
    def.kinetic_mass = L->kinetic_mass;
    def.depth = L->depth;
    for (l = 0; l < L->depth; l++)
        def.widths[l] = L->widths[l];
    def.seed = L->seed;
    if (alloc != NULL)
        def.allocator = *alloc;
    return def;
}

/* The net the header describes, checked by the net's own rule (hnni_net_def_check: kinds,
 * caps, feature maps, the kinetic term, the parameter count): a definition hnn_net_create
 * refuses is a corrupt file (a size over a cap stays HNN_ERR_TOO_LARGE). */
static hnn_status check_shape(const layout *L, hnn_error *err)
{
    const hnn_net_def def = layout_def(L, NULL);
    hnn_error why;
    size_t count;
    hnn_status st = hnni_net_def_check(&def, &count, &why);
    if (st != HNN_OK)
        return hnni_fail(err, st == HNN_ERR_TOO_LARGE ? st : HNN_ERR_CORRUPT,
                         "the header describes no net libhnn can build: %s", why.message);
    if (L->params != count)
        return hnni_fail(err, HNN_ERR_CORRUPT, "the header says %llu parameters, the shape %zu",
                         (unsigned long long)L->params, count);
    return HNN_OK;
}

/* Reads and checks the fixed header and the shape. */
static hnn_status read_header(reader *r, layout *L, hnn_error *err)
{
    uint32_t version, l;
    hnn_status st;
    if (r->size < sizeof magic) {
        if (memcmp(r->p, magic, r->size) == 0)
            return truncated(err, r, "the magic number");
        return hnni_fail(err, HNN_ERR_BAD_MAGIC, "not a libhnn model (too short, wrong magic)");
    }
    if (memcmp(r->p, magic, sizeof magic) != 0)
        return hnni_fail(err, HNN_ERR_BAD_MAGIC, "not a libhnn model (wrong magic number)");
    r->pos = sizeof magic;
    if (!get_u32(r, &version))
        return truncated(err, r, "the header");
    if (version == 0)
        return hnni_fail(err, HNN_ERR_CORRUPT, "format version 0 does not exist");
    if (version > HNN_MODEL_FORMAT_VERSION)
        return hnni_fail(err, HNN_ERR_VERSION, "format version %u; this library reads up to %d",
                         version, HNN_MODEL_FORMAT_VERSION);
    L->version = version;
    L->bodies = 0;
    L->kinetic_mass = 0.0;
    if (!get_u32(r, &L->flags) || !get_u32(r, &L->kind) || !get_u32(r, &L->features) ||
        (version >= 2 && (!get_u32(r, &L->bodies) || !get_f64(r, &L->kinetic_mass))) ||
        !get_u32(r, &L->dof) || !get_u32(r, &L->depth))
        return truncated(err, r, "the header");
    if (L->flags & ~(FLAG_OPTIMIZER | FLAG_TRAINING))
        return hnni_fail(err, HNN_ERR_CORRUPT, "unknown flags 0x%x", L->flags);
    if ((L->kinetic_mass == 0.0 && signbit(L->kinetic_mass)) ||
        !hnni_kinetic_mass_ok(L->kinetic_mass))
        return hnni_fail(err, HNN_ERR_CORRUPT, "kinetic mass %g: a net takes 0 (none, written "
                         "as +0) or a mass in [1e-100, 1e100]", L->kinetic_mass);
    if (version != format_version_for(L->features, L->kinetic_mass))
        return hnni_fail(err, HNN_ERR_CORRUPT, "feature map %u, kinetic mass %g in a version %u "
                         "header", L->features, L->kinetic_mass, version);
    /* the widths' array bounds, before they are read */
    if (L->depth == 0 || L->depth > HNN_MAX_HIDDEN)
        return hnni_fail(err, L->depth == 0 ? HNN_ERR_CORRUPT : HNN_ERR_TOO_LARGE,
                         "depth %u: a net has 1 to %d hidden layers", L->depth, HNN_MAX_HIDDEN);
    for (l = 0; l < L->depth; l++)
        if (!get_u32(r, &L->widths[l]))
            return truncated(err, r, "the layer widths");
    if (!get_u64(r, &L->seed) || !get_u64(r, &L->params))
        return truncated(err, r, "the header");
    /* the shape first: a count that disagrees with it is a corrupt file, whatever its size */
    if ((st = check_shape(L, err)) != HNN_OK)
        return st;
    if (L->params > MAX_PARAMS)
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%llu parameters, over the cap %llu",
                         (unsigned long long)L->params, (unsigned long long)MAX_PARAMS);
    return HNN_OK;
}

/* The optimizer section's fixed fields, from its first byte. */
static hnn_status read_optimizer_header(reader *r, layout *L, hnn_error *err)
{
    uint64_t i;
    if (!get_u32(r, &L->opt_kind) || !get_u32(r, &L->opt_options))
        return truncated(err, r, "the optimizer section");
    if (L->opt_kind > HNN_OPT_ADAMW || (L->opt_options & ~(OPT_NESTEROV | OPT_AMSGRAD)))
        return hnni_fail(err, HNN_ERR_CORRUPT, "unknown optimizer kind %u or options 0x%x",
                         L->opt_kind, L->opt_options);
    for (i = 0; i < OPT_REALS; i++)
        if (!get_f64(r, &L->opt_reals[i]))
            return truncated(err, r, "the optimizer section");
    if (!get_u64(r, &L->state_count))
        return truncated(err, r, "the optimizer section");
    if (L->state_count != 1 + optimizer_slots(L->opt_kind, L->opt_options) * L->params)
        return hnni_fail(err, HNN_ERR_CORRUPT, "the optimizer state has %llu values, expected "
                         "%llu", (unsigned long long)L->state_count,
                         (unsigned long long)(1 + optimizer_slots(L->opt_kind, L->opt_options) *
                                                      L->params));
    return HNN_OK;
}

/* The training section, from its first byte. */
static hnn_status read_training(reader *r, layout *L, hnn_error *err)
{
    if (!get_u64(r, &L->steps_done) || !get_f64(r, &L->train_loss) || !get_f64(r, &L->val_loss))
        return truncated(err, r, "the training section");
    if (!((L->train_loss >= 0.0 || isnan(L->train_loss)) &&
          (L->val_loss >= 0.0 || isnan(L->val_loss)) && !isinf(L->train_loss) &&
          !isinf(L->val_loss)))
        return hnni_fail(err, HNN_ERR_CORRUPT, "training losses must be >= 0, finite or NaN");
    return HNN_OK;
}

/* The size the header and the sections imply, against the size there is. */
static uint64_t expected_size(const layout *L)
{
    return file_size(L->version, L->depth, L->params, (L->flags & FLAG_OPTIMIZER) != 0,
                     L->state_count, (L->flags & FLAG_TRAINING) != 0);
}

static hnn_status check_size(const layout *L, uint64_t size, hnn_error *err)
{
    const uint64_t expected = expected_size(L);
    if (size < expected)
        return hnni_fail(err, HNN_ERR_TRUNCATED, "the model ends at byte %llu, inside %s",
                         (unsigned long long)size, "the checksum");
    if (size > expected)
        return hnni_fail(err, HNN_ERR_CORRUPT, "%llu bytes after the end of the model",
                         (unsigned long long)(size - expected));
    return HNN_OK;
}

/* Reads the structure of the optional sections, checks the total size and the checksum. */
static hnn_status read_layout(reader *r, layout *L, hnn_error *err)
{
    hnn_status st = read_header(r, L, err);
    uint32_t stored;
    if (st != HNN_OK)
        return st;
    L->params_at = r->pos;
    if ((uint64_t)(r->size - r->pos) < 8 * L->params)
        return truncated(err, r, "the parameters");
    r->pos += (size_t)(8 * L->params);
    L->state_count = 0;
    if (L->flags & FLAG_OPTIMIZER) {
        if ((st = read_optimizer_header(r, L, err)) != HNN_OK)
            return st;
        L->state_at = r->pos;
        if ((uint64_t)(r->size - r->pos) < 8 * L->state_count)
            return truncated(err, r, "the optimizer state");
        r->pos += (size_t)(8 * L->state_count);
    }
    if ((L->flags & FLAG_TRAINING) && (st = read_training(r, L, err)) != HNN_OK)
        return st;
    if ((st = check_size(L, r->size, err)) != HNN_OK)
        return st;
    get_u32(r, &stored);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let the fuzzer past the checksum */
    if (hnn_crc32(0, r->p, r->size - 4) != stored)
        return hnni_fail(err, HNN_ERR_CHECKSUM, "checksum mismatch: the model is damaged");
#endif
    return HNN_OK;
}

/* ---- the header and sections of a file, without reading the rest ---------------------- */

/* Where bytes come from: memory, or a file read only where asked. */
typedef struct source {
    const unsigned char *buffer; /* or NULL: f */
    FILE *f;
    uint64_t size;
} source;

static int source_read(const source *s, uint64_t at, unsigned char *out, size_t n)
{
    if (at > s->size || s->size - at < n)
        return 0;
    if (s->buffer != NULL) {
        memcpy(out, s->buffer + at, n);
        return 1;
    }
    return fseek(s->f, (long)at, SEEK_SET) == 0 && fread(out, 1, n, s->f) == n;
}

/* A window of n (<= 80) bytes at `at` as a reader; a window past the end is truncation. */
static hnn_status window(const source *s, uint64_t at, size_t n, unsigned char *buf, reader *w,
                         const char *what, hnn_error *err)
{
    if (at > s->size || s->size - at < n)
        return hnni_fail(err, HNN_ERR_TRUNCATED, "the model ends at byte %llu, inside %s",
                         (unsigned long long)s->size, what);
    if (!source_read(s, at, buf, n))
        return hnni_fail(err, HNN_ERR_IO, "cannot read %s", what);
    w->p = buf;
    w->size = n;
    w->pos = 0;
    return HNN_OK;
}

/* The header (a few hundred bytes at most) and the sections' fixed fields, checked as
 * read_layout checks them, and the size they imply; the parameters and the checksum are
 * not read. */
static hnn_status read_structure(const source *s, layout *L, uint64_t *first_state,
                                 hnn_error *err)
{
    enum { HEAD = 512, OPT_HEAD = 4 + 4 + 8 * OPT_REALS + 8 };
    unsigned char head[HEAD], buf[OPT_HEAD + 8];
    const size_t n = s->size < HEAD ? (size_t)s->size : HEAD;
    reader r, w;
    uint64_t at;
    hnn_status st;
    if (!source_read(s, 0, head, n))
        return hnni_fail(err, HNN_ERR_IO, "cannot read the header");
    r.p = head;
    r.size = n;
    r.pos = 0;
    if ((st = read_header(&r, L, err)) != HNN_OK)
        return st;
    L->params_at = r.pos;
    at = L->params_at + 8 * L->params;
    L->state_count = 0;
    *first_state = 0;
    if (L->flags & FLAG_OPTIMIZER) {
        if ((st = window(s, at, OPT_HEAD, buf, &w, "the optimizer section", err)) != HNN_OK ||
            (st = read_optimizer_header(&w, L, err)) != HNN_OK)
            return st;
        L->state_at = (size_t)(at + OPT_HEAD);
        if ((st = window(s, L->state_at, 8, buf, &w, "the optimizer state", err)) != HNN_OK)
            return st;
        get_u64(&w, first_state);
        at = L->state_at + 8 * L->state_count;
    }
    if ((L->flags & FLAG_TRAINING) &&
        ((st = window(s, at, 24, buf, &w, "the training section", err)) != HNN_OK ||
         (st = read_training(&w, L, err)) != HNN_OK))
        return st;
    return check_size(L, s->size, err);
}

/* What loading a model takes from the allocator, besides the file's own bytes: the net with
 * its own workspace, and the optimizer with the copy of its state it is set from. */
typedef struct needs {
    size_t net, workspace, optimizer, total;
} needs;

static hnn_status load_needs(const layout *L, needs *n, hnn_error *err)
{
    const hnn_net_def def = layout_def(L, NULL);
    hnn_status st = hnn_net_def_bytes(&def, &n->net, &n->workspace, err);
    if (st != HNN_OK)
        return st;
    /* params <= 2^27 and state_count <= 1 + 3 params: far inside size_t */
    n->optimizer = (L->flags & FLAG_OPTIMIZER)
                       ? hnni_optimizer_bytes((size_t)optimizer_slots(L->opt_kind, L->opt_options),
                                              (size_t)L->params) +
                             (size_t)L->state_count * sizeof(double)
                       : 0;
    if (!hnni_add_size(n->net, n->optimizer, &n->total))
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "the model's size overflows size_t");
    return HNN_OK;
}

static hnn_status over_budget(hnn_error *err, size_t need, const needs *n, size_t budget)
{
    return hnni_fail(err, HNN_ERR_TOO_LARGE, "loading needs %zu bytes (net and workspace %zu, "
                     "optimizer %zu), over the budget of %zu: raise hnn_load_def.max_bytes if "
                     "the model is yours", need, n->net, n->optimizer, budget);
}

typedef struct layout_reader {
    const reader *r;
    const layout *L;
} layout_reader;

static double f64_at(const reader *r, size_t offset)
{
    reader at = *r;
    double d = 0.0;
    at.pos = offset;
    get_f64(&at, &d);
    return d;
}

/* Parameter i of a file (a reader positioned anywhere), for hnni_net_fill_params. */
static double param_at(const void *ctx, size_t i)
{
    const layout_reader *lr = (const layout_reader *)ctx;
    return f64_at(lr->r, lr->L->params_at + 8 * i);
}

static hnn_status build_net(const reader *r, const layout *L, const hnn_allocator *alloc,
                            hnn_net **out, hnn_error *err)
{
    const hnn_net_def def = layout_def(L, alloc);
    const layout_reader lr = {r, L};
    hnn_status st;
    size_t bad;
    if ((st = hnn_net_create(&def, out, err)) != HNN_OK)
        return st;
    if (hnni_net_fill_params(*out, param_at, &lr, &bad) != HNN_OK) {
        hnn_net_destroy(*out);
        *out = NULL;
        return hnni_fail(err, HNN_ERR_CORRUPT, "parameter %zu is not finite", bad);
    }
    return HNN_OK;
}

static hnn_status build_optimizer(const reader *r, const layout *L, const hnn_allocator *alloc,
                                  hnn_optimizer **out, hnn_error *err)
{
    hnn_optimizer_def def = hnn_optimizer_def_default((hnn_optimizer_kind)L->opt_kind);
    hnn_allocator a = hnni_allocator_resolve(alloc ? *alloc : (hnn_allocator){NULL, NULL});
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
    def.allocator = a;
    if ((st = hnn_optimizer_create(&def, (size_t)L->params, out, err)) != HNN_OK)
        return st == HNN_ERR_INVALID_ARG
                   ? hnni_fail(err, HNN_ERR_CORRUPT, "optimizer settings out of range")
                   : st;
    state = (double *)hnni_alloc(&a, bytes);
    if (state == NULL) {
        st = hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate the optimizer state");
    } else {
        for (i = 0; i < L->state_count; i++)
            state[i] = f64_at(r, L->state_at + 8 * i);
        st = hnn_optimizer_state_set(*out, state, (size_t)L->state_count);
        if (st != HNN_OK)
            st = hnni_fail(err, HNN_ERR_CORRUPT, "the optimizer state is invalid (%s)",
                           hnn_status_string(st));
        hnni_free(&a, state, bytes);
    }
    if (st != HNN_OK) {
        hnn_optimizer_destroy(*out);
        *out = NULL;
    }
    return st;
}

void hnn_load_def_init(hnn_load_def *def, size_t struct_size)
{
    hnn_load_def d;
    if (def == NULL)
        return;
    memset(&d, 0, sizeof d);
    d.allocator.fn = NULL;
    d.allocator.user = NULL;
    d.max_bytes = HNN_LOAD_DEFAULT_MAX_BYTES;
    hnni_publish_def(def, &d, sizeof d, struct_size);
}

/* The caller's load def (NULL: the defaults), read as every def is. */
static hnn_status read_load_def(const hnn_load_def *def, hnn_load_def *full, hnn_error *err)
{
    hnn_load_def_init(full, sizeof *full);
    return def == NULL ? HNN_OK : hnni_read_def(def, full, sizeof *full, NULL, "hnn_load_def", err);
}

/* Loads from memory with `budget` bytes left for the net and the optimizer. */
static hnn_status load_buffer(const void *buffer, size_t size, const hnn_allocator *alloc,
                              size_t budget, hnn_net **net, hnn_optimizer **opt,
                              hnn_train_meta *meta, hnn_error *err)
{
    reader r;
    layout L;
    needs n;
    hnn_status st;
    r.p = (const unsigned char *)buffer;
    r.size = size;
    r.pos = 0;
    memset(&L, 0, sizeof L);
    if ((st = read_layout(&r, &L, err)) != HNN_OK || (st = load_needs(&L, &n, err)) != HNN_OK)
        return st;
    if (n.total > budget)
        return over_budget(err, n.total, &n, budget);
    if ((st = build_net(&r, &L, alloc, net, err)) != HNN_OK)
        return st;
    if (L.flags & FLAG_OPTIMIZER) {
        /* checked whether or not the caller wants it: a file is valid or not, whoever asks */
        hnn_optimizer *o = NULL;
        if ((st = build_optimizer(&r, &L, alloc, &o, err)) != HNN_OK) {
            hnn_net_destroy(*net);
            *net = NULL;
            return st;
        }
        if (opt != NULL)
            *opt = o;
        else
            hnn_optimizer_destroy(o);
    }
    if (meta != NULL) {
        hnn_train_meta m;
        m.struct_size = sizeof m;
        m.present = (L.flags & FLAG_TRAINING) != 0;
        m.steps_done = m.present ? L.steps_done : 0;
        m.train_loss = m.present ? L.train_loss : NAN;
        m.val_loss = m.present ? L.val_loss : NAN;
        hnni_copy_def_out(meta, &m, sizeof m, NULL); /* its size was checked on entry */
    }
    return hnni_ok(err);
}

hnn_status hnn_model_load_buffer_with(const void *buffer, size_t size, const hnn_load_def *def,
                                      hnn_net **net, hnn_optimizer **opt, hnn_train_meta *meta,
                                      hnn_error *err)
{
    hnn_load_def full;
    hnn_allocator a;
    hnn_status st;
    if (net != NULL)
        *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    if (buffer == NULL || net == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_load_buffer: buffer and net must not be NULL");
    if ((st = read_load_def(def, &full, err)) != HNN_OK || (st = check_meta(meta, err)) != HNN_OK)
        return st;
    a = hnni_allocator_resolve(full.allocator);
    return load_buffer(buffer, size, &a, full.max_bytes, net, opt, meta, err);
}

hnn_status hnn_model_load_buffer(const void *buffer, size_t size, const hnn_allocator *alloc,
                                 hnn_net **net, hnn_optimizer **opt, hnn_train_meta *meta,
                                 hnn_error *err)
{
    hnn_load_def def = hnn_load_def_default();
    if (alloc != NULL)
        def.allocator = *alloc;
    return hnn_model_load_buffer_with(buffer, size, &def, net, opt, meta, err);
}

/* Opens a model file for reading: a regular file of at most 2 GiB, its size in *size. */
static hnn_status open_model(const char *path, FILE **out, uint64_t *size, hnn_error *err)
{
    long length;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (f == NULL)
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
#ifdef HNNI_HAVE_FSYNC /* POSIX: only regular files (a directory "opens" too) */
    {
        struct stat info;
        if (fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode)) {
            fclose(f);
            return hnni_fail(err, HNN_ERR_IO, "%s: not a regular file", path);
        }
    }
#endif
    if (fseek(f, 0, SEEK_END) != 0 || (length = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return hnni_fail(err, HNN_ERR_IO, "%s: cannot read its size (not a regular file?)", path);
    }
    if ((uint64_t)length > MAX_FILE) {
        fclose(f);
        return hnni_fail(err, HNN_ERR_TOO_LARGE, "%s: %ld bytes, over the 2 GiB cap", path, length);
    }
    *out = f;
    *size = (uint64_t)length;
    return HNN_OK;
}

/* Puts the file's name in front of a failure's message. */
static hnn_status named(hnn_status st, const char *path, hnn_error *err)
{
    if (st != HNN_OK && err != NULL) {
        char inner[HNN_ERROR_MESSAGE_SIZE];
        memcpy(inner, err->message, sizeof inner);
        if (strncmp(inner, path, strlen(path)) != 0)
            hnni_fail(err, st, "%s: %s", path, inner);
    }
    return st;
}

hnn_status hnn_model_load_with(const char *path, const hnn_load_def *def, hnn_net **net,
                               hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    hnn_load_def full;
    hnn_allocator a;
    unsigned char *buf = NULL;
    uint64_t first_state;
    source s;
    layout L;
    needs n;
    size_t size, need;
    FILE *f;
    hnn_status st;
    if (net != NULL)
        *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    if (path == NULL || net == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_load: path and net must not be NULL");
    if ((st = read_load_def(def, &full, err)) != HNN_OK || (st = check_meta(meta, err)) != HNN_OK)
        return st;
    a = hnni_allocator_resolve(full.allocator);
    if ((st = open_model(path, &f, &s.size, err)) != HNN_OK)
        return st;
    size = (size_t)s.size;
    /* the header first: a file that is not a model, or not the size its header says, or
     * that needs more than the budget, is refused before its bytes are read */
    s.buffer = NULL;
    s.f = f;
    memset(&L, 0, sizeof L);
    if ((st = read_structure(&s, &L, &first_state, err)) != HNN_OK ||
        (st = load_needs(&L, &n, err)) != HNN_OK) {
        fclose(f);
        return named(st, path, err);
    }
    if (!hnni_add_size(n.total, size, &need) || need > full.max_bytes) {
        fclose(f);
        return named(over_budget(err, n.total + size, &n, full.max_bytes), path, err);
    }
    buf = (unsigned char *)hnni_alloc(&a, size);
    if (buf == NULL) {
        fclose(f);
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", path, size);
    }
    if (fseek(f, 0, SEEK_SET) != 0 || fread(buf, 1, size, f) != size)
        st = hnni_fail(err, HNN_ERR_IO, "%s: cannot read", path);
    else
        st = named(load_buffer(buf, size, &a, full.max_bytes - size, net, opt, meta, err), path,
                   err);
    fclose(f);
    hnni_free(&a, buf, size);
    return st;
}

hnn_status hnn_model_load(const char *path, const hnn_allocator *alloc, hnn_net **net,
                          hnn_optimizer **opt, hnn_train_meta *meta, hnn_error *err)
{
    hnn_load_def def = hnn_load_def_default();
    if (alloc != NULL)
        def.allocator = *alloc;
    return hnn_model_load_with(path, &def, net, opt, meta, err);
}

/* ---- model info ------------------------------------------------------------------------- */

static hnn_status info_from(const source *s, hnn_model_info *info, hnn_error *err)
{
    hnn_model_info full;
    layout L;
    needs n;
    uint64_t first_state;
    uint32_t l;
    hnn_status st;
    if (info == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info: info must not be NULL");
    if (!hnni_released_size(info->struct_size, sizeof full, NULL))
        return hnni_fail(err, HNN_ERR_INVALID_ARG, "hnn_model_info: struct_size %zu is not one "
                         "this library knows (%zu)", info->struct_size, sizeof full);
    memset(&L, 0, sizeof L);
    if ((st = read_structure(s, &L, &first_state, err)) != HNN_OK ||
        (st = load_needs(&L, &n, err)) != HNN_OK)
        return st;
    memset(&full, 0, sizeof full);
    full.struct_size = info->struct_size;
    full.format_version = L.version;
    full.kind = (hnn_net_kind)L.kind;
    full.features = (hnn_feature_map)L.features;
    full.dof = L.dof;
    full.bodies = L.bodies;
    full.depth = L.depth;
    for (l = 0; l < L.depth; l++)
        full.widths[l] = L.widths[l];
    full.kinetic_mass = L.kinetic_mass;
    full.seed = L.seed;
    full.params = (size_t)L.params;
    full.has_optimizer = (L.flags & FLAG_OPTIMIZER) != 0;
    full.optimizer_kind = (hnn_optimizer_kind)L.opt_kind;
    full.lr = full.has_optimizer ? L.opt_reals[0] : NAN;
    { /* the state's first value is the step count, stored as a double */
        double steps;
        memcpy(&steps, &first_state, sizeof steps);
        full.optimizer_steps = full.has_optimizer && steps >= 0.0 && steps < 1.8e19 ? (uint64_t)steps : 0;
    }
    full.has_training = (L.flags & FLAG_TRAINING) != 0;
    full.steps_done = full.has_training ? L.steps_done : 0;
    full.train_loss = full.has_training ? L.train_loss : NAN;
    full.val_loss = full.has_training ? L.val_loss : NAN;
    full.file_bytes = expected_size(&L);
    full.net_bytes = n.net;
    full.workspace_bytes = n.workspace;
    full.optimizer_bytes = n.optimizer;
    full.load_bytes = n.total + (size_t)full.file_bytes;
    memcpy(info, &full, info->struct_size);
    return hnni_ok(err);
}

hnn_status hnn_model_info_buffer(const void *buffer, size_t size, hnn_model_info *info,
                                 hnn_error *err)
{
    source s;
    if (buffer == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info_buffer: buffer must not be NULL");
    s.buffer = (const unsigned char *)buffer;
    s.f = NULL;
    s.size = size;
    return info_from(&s, info, err);
}

hnn_status hnn_model_info_read(const char *path, hnn_model_info *info, hnn_error *err)
{
    source s;
    hnn_status st;
    FILE *f;
    if (path == NULL)
        return hnni_fail(err, HNN_ERR_NULL, "hnn_model_info_read: path must not be NULL");
    if ((st = open_model(path, &f, &s.size, err)) != HNN_OK)
        return st;
    s.buffer = NULL;
    s.f = f;
    st = named(info_from(&s, info, err), path, err);
    fclose(f);
    return st;
}

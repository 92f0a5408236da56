/* Model files on disk: the safe write path (a new temporary file, flushed, renamed over the
 * old one) and opening a file for reading. Shared by every kind of model file (model.c,
 * dissipative_file.c); what the bytes mean is model_format.c's. */
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

#include "model_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdint.h>

#include "alloc.h"
#include "core.h"

#define MAX_FILE ((uint64_t)1 << 31) /* 2 GiB */

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

hnn_status hnni_model_write(const char *path, const unsigned char *data, size_t size,
                            const hnn_allocator *a, hnn_error *err)
{
    const size_t cap = strlen(path) + 32; /* ".tmp-" and 16 digits */
    char *name = (char *)hnni_alloc(a, cap);
    hnn_status st;
    if (name == NULL)
        return hnni_fail(err, HNN_ERR_NO_MEMORY, "cannot allocate %zu bytes to save a model", cap);
    st = write_replace(path, data, size, name, cap, err);
    hnni_free(a, name, cap);
    return st;
}

/* Opens a model file for reading: a regular file of at most 2 GiB, its size in *size. */
hnn_status hnni_model_open(const char *path, FILE **out, uint64_t *size, hnn_error *err)
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
hnn_status hnni_model_named(hnn_status st, const char *path, hnn_error *err)
{
    if (st != HNN_OK && err != NULL) {
        char inner[HNN_ERROR_MESSAGE_SIZE];
        memcpy(inner, err->message, sizeof inner);
        if (strncmp(inner, path, strlen(path)) != 0)
            hnni_fail(err, st, "%s: %s", path, inner);
    }
    return st;
}

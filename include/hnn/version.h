/* libhnn version. CMake reads these four lines: keep their shape. */
#ifndef HNN_VERSION_H
#define HNN_VERSION_H

#define HNN_VERSION_MAJOR 0
#define HNN_VERSION_MINOR 7
#define HNN_VERSION_PATCH 0

/* The binary interface's number: the shared library is libhnn.so.<HNN_ABI_VERSION>. It grows
 * with every change that breaks programs built against an older header, and only then
 * (docs/design.md, "The ABI is checked"): 0 for 0.1 to 0.4; 1 from 0.5, whose value structs
 * gained struct_size. */
#define HNN_ABI_VERSION 1

/* One integer that grows with every release: 100 * (100 * major + minor) + patch. */
#define HNN_VERSION_NUMBER \
    (HNN_VERSION_MAJOR * 10000 + HNN_VERSION_MINOR * 100 + HNN_VERSION_PATCH)

#endif /* HNN_VERSION_H */

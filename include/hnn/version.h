/* libhnn version. CMake reads these three lines: keep their shape. */
#ifndef HNN_VERSION_H
#define HNN_VERSION_H

#define HNN_VERSION_MAJOR 0
#define HNN_VERSION_MINOR 4
#define HNN_VERSION_PATCH 0

/* One integer that grows with every release: 100 * (100 * major + minor) + patch. */
#define HNN_VERSION_NUMBER \
    (HNN_VERSION_MAJOR * 10000 + HNN_VERSION_MINOR * 100 + HNN_VERSION_PATCH)

#endif /* HNN_VERSION_H */

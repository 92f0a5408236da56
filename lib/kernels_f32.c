/* The float kernels (the float evaluation path): kernels_tmpl.h's products in float, each
 * element summed in the same fixed order with fmaf, so float results keep every property of
 * the double ones (a batch bit-identical to its states, the same bits on every CPU). */
#include "kernels.h"

#include <math.h>

#include "dispatch.h"
#include "parallel.h"

/* 32 columns per tile row (two AVX-512 vectors of floats), 64 rows for one state */
#define REAL float
#define FMA fmaf
#define KN(name) name##_f32
enum { KNR = 32, KNW = 64 };
#include "kernels_tmpl.h"

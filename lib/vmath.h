/* Private: elementary functions over arrays, written so the compiler vectorises them. */
#ifndef HNN_LIB_VMATH_H
#define HNN_LIB_VMATH_H

#include <stddef.h>

/* x[i] = tanh(x[i]) for i < n, in place, within 2 ulp of the C library's tanh
 * (tests/test_net.c measures it against the C library), for finite inputs. */
void hnni_tanh_array(double *x, size_t n);

#endif

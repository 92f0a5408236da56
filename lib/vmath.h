/* Private: elementary functions over arrays, written so the compiler vectorises them. */
#ifndef HNN_LIB_VMATH_H
#define HNN_LIB_VMATH_H

#include <stddef.h>

/* x[i] = tanh(x[i]) for i < n, in place, within 2 ulp of the C library's tanh
 * (tests/test_net.c measures it against the C library), for finite inputs. */
void hnni_tanh_array(double *x, size_t n);

/* x[i] = tanh(x[i]) in float for i < n, in place, within 2 ulp of the double tanh rounded
 * to float (tests/test_f32.c), for finite inputs: the float evaluation path's. */
void hnni_tanhf_array(float *x, size_t n);

/* e[i] = e^-|z[i]| for i < n (0 once it is below 1e-307, |z| > 707), within 2 ulp, for
 * finite z. e may be z. */
void hnni_exp_neg_abs_array(const double *z, double *e, size_t n);

/* y[i] = log(1 + u[i]) for 0 <= u[i] <= 1, within 2 ulp. y may be u. */
void hnni_log1p_unit_array(const double *u, double *y, size_t n);

#endif

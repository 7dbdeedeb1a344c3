/* Sums of floats in double over 16 lanes in a fixed order (private to the
 * engine): one chain of double additions is bound by the adder's latency,
 * ~4 cycles a term; the lanes keep the result independent of threads. */
#pragma once
#include <string.h>

typedef double ns_vd4 __attribute__ ((vector_size (4 * sizeof (double))));
typedef float ns_vf4 __attribute__ ((vector_size (4 * sizeof (float))));

#define NS_SUM_LANES 16

/* 4 floats from p (any alignment) */
static inline __attribute__ ((always_inline)) ns_vf4
ns_load4 (const float *p)
{
  ns_vf4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* 4 floats to 4 doubles (a macro: a function returning a 32-byte vector
 * would change the ABI without AVX) */
#define ns_widen4(v) __builtin_convertvector ((v), ns_vd4)

/* the lanes of a[4] added in a fixed order */
static inline double
ns_reduce_lanes (const ns_vd4 a[4])
{
  ns_vd4 s = (a[0] + a[1]) + (a[2] + a[3]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

static inline double
ns_plane_sum (const float *x, int len)
{
  ns_vd4 s[4] = { 0 };
  int j = 0;
  for (; j + NS_SUM_LANES <= len; j += NS_SUM_LANES)
    for (int k = 0; k < 4; k++)
      s[k] += ns_widen4 (ns_load4 (x + j + 4 * k));
  double t = 0.0;
  for (; j < len; j++)
    t += x[j];
  return ns_reduce_lanes (s) + t;
}

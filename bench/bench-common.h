/* What every benchmark program uses: medians and random inputs. */
#pragma once
#include <glib.h>
#include <stdlib.h>
#include "ns_rng.h"

static int
bench_compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The median of n timings; sorts t, so t[0] is the fastest afterwards. */
static inline double
bench_median (double *t, int n)
{
  qsort (t, n, sizeof (double), bench_compare_doubles);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* len values uniform in [-1, 1), g_free them */
static inline float *
bench_random_floats (NsRng *rng, size_t len)
{
  float *x = g_new (float, len);
  for (size_t i = 0; i < len; i++)
    x[i] = 2.0f * ns_rng_uniform (rng) - 1.0f;
  return x;
}

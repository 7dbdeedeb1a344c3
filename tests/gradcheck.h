/* Gradient checking for the op tests.
 *
 * The numeric side differentiates a double-precision reference forward by
 * central differences, so its own error (~1e-10) is far below what is being
 * measured: the float analytic backward.  Gradients are compared norm-wise,
 *   err = ||analytic - numeric|| / max(||analytic||, ||numeric||),
 * which is insensitive to the many near-zero entries that make element-wise
 * relative errors meaningless. */
#pragma once
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "ns_rng.h"

/* Absolute step of the central differences.  Not relative to |x|: what
 * matters is the scale the function varies on (a plane at 100 +- 0.01 under
 * instance norm varies on 0.01).  Truncation ~ (step/scale)^2, double
 * rounding ~ 1e-16 |L| / step: both far below 1e-6 here. */
#define GC_STEP 1e-6
/* the threshold every backward must meet */
#define GC_TOLERANCE 1e-3

typedef double (*GcLossFunc) (gpointer data);

/* grad[j] = dL/dx[j] by central differences; x is restored afterwards. */
static inline void
gc_numeric_grad (double *grad, double *x, size_t len, GcLossFunc loss, gpointer data)
{
  for (size_t j = 0; j < len; j++)
    {
      double saved = x[j];
      double h = GC_STEP;
      x[j] = saved + h;
      double up = loss (data);
      double step_up = x[j] - saved;
      x[j] = saved - h;
      double down = loss (data);
      double step_down = saved - x[j];
      x[j] = saved;
      grad[j] = (up - down) / (step_up + step_down);
    }
}

static inline double
gc_rel_error (const float *analytic, const double *numeric, size_t len)
{
  double diff = 0.0, na = 0.0, nn = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      double d = analytic[j] - numeric[j];
      diff += d * d;
      na += (double) analytic[j] * analytic[j];
      nn += numeric[j] * numeric[j];
    }
  double scale = sqrt (MAX (na, nn));
  /* both zero (e.g. a plane of one pixel under instance norm): exact */
  return scale > 1e-30 ? sqrt (diff) / scale : sqrt (diff);
}

/* The largest error seen by one op's test and the case that produced it. */
typedef struct
{
  double err;
  char where[200];
} GcWorst;

static inline void G_GNUC_PRINTF (3, 4)
gc_worst_update (GcWorst *worst, double err, const char *fmt, ...)
{
  if (!(err <= worst->err) || worst->where[0] == '\0')
    {
      va_list ap;
      va_start (ap, fmt);
      vsnprintf (worst->where, sizeof worst->where, fmt, ap);
      va_end (ap);
      worst->err = isnan (err) ? INFINITY : MAX (err, worst->err);
    }
}

/* Prints the worst error and fails the test if it is over the tolerance. */
static inline void
gc_worst_report (const GcWorst *worst, const char *op, double tolerance)
{
  g_test_message ("worst %s: %.3g at %s", op, worst->err, worst->where);
  if (!(worst->err <= tolerance))
    {
      g_test_message ("FAIL: %s %.3g exceeds %.3g", op, worst->err, tolerance);
      g_test_fail ();
    }
}

static inline void
gc_fill_uniform (NsRng *rng, float *x, size_t len, float lo, float hi)
{
  for (size_t j = 0; j < len; j++)
    x[j] = lo + (hi - lo) * ns_rng_uniform (rng);
}

/* uniform in [-hi, hi] but never within gap of 0: keeps a finite difference
 * off the kink of ReLU-type functions */
static inline void
gc_fill_away_from_zero (NsRng *rng, float *x, size_t len, float hi, float gap)
{
  for (size_t j = 0; j < len; j++)
    {
      float v = gap + (hi - gap) * ns_rng_uniform (rng);
      x[j] = ns_rng_u32 (rng) & 1 ? v : -v;
    }
}

static inline double *
gc_to_double (const float *x, size_t len)
{
  double *d = g_new (double, MAX (len, 1));
  for (size_t j = 0; j < len; j++)
    d[j] = x[j];
  return d;
}

static inline double
gc_dot (const double *a, const float *b, size_t len)
{
  double sum = 0.0;
  for (size_t j = 0; j < len; j++)
    sum += a[j] * b[j];
  return sum;
}

/* Instance normalisation: every (image, channel) plane is normalised by its
 * own mean and variance, then scaled and shifted per channel.  Sums run in
 * double: planes hold up to millions of pixels.
 *
 * Each sum runs over 16 lanes of doubles in a fixed order, so the result
 * does not depend on the machine's threads, only on the plane: one chain of
 * double additions per sum (as before) was bound by the adder's latency,
 * ~4 cycles a pixel, about 0.2 s of a 1 MP generator forward.  Large
 * layers run their planes (each by one task) on the conv kernels' pool. */
#include "ns_ops.h"
#include "instnorm_plane.h"
#include "tasks.h"
#include <math.h>
#include "plane_sum.h"
#include <glib.h>

/* The sums' passes are compute-bound on SSE2 (two conversions, a
 * subtraction, a multiplication and two additions per 4 floats), so they
 * are built for wider vectors too; the lanes and their order are the same
 * in every build (and -std=c11 contracts nothing), so are the results. */
#if defined __x86_64__ && defined __GNUC__ && !defined __clang__
#define WIDE_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define WIDE_CLONES
#endif

/* sum of d = x[j] - k and of d^2 in one pass */
WIDE_CLONES static void
plane_shifted_sums (const float *x, int hw, double k, double *sum, double *sq)
{
  ns_vd4 s[4] = { 0 }, q[4] = { 0 }, kv = (ns_vd4) { } + k;
  int j = 0;
  for (; j + NS_SUM_LANES <= hw; j += NS_SUM_LANES)
    for (int l = 0; l < 4; l++)
      {
        ns_vd4 d = ns_widen4 (ns_load4 (x + j + 4 * l)) - kv;
        s[l] += d;
        q[l] += d * d;
      }
  double ts = 0.0, tq = 0.0;
  for (; j < hw; j++)
    {
      double d = x[j] - k;
      ts += d;
      tq += d * d;
    }
  *sum = ns_reduce_lanes (s) + ts;
  *sq = ns_reduce_lanes (q) + tq;
}

/* below this many floats a layer's planes run here, not on the pool */
#define THREAD_MIN (1 << 16)

typedef struct
{
  float *out, *mean, *rstd;
  const float *in, *gamma, *beta;
  int c, hw;
  gboolean relu;
} ForwardJob;

static void
forward_plane (gpointer data, int i, int thread)
{
  const ForwardJob *f = data;
  const int hw = f->hw, ch = i % f->c;
  const float *x = f->in + (size_t) i * hw;
  float *y = f->out + (size_t) i * hw;
  (void) thread;

  /* One pass, around k = the mean of the first few values: E[x^2] - mu^2
   * would cancel badly on bright, flat planes, but with the data shifted
   * near its mean and the sums in double the cancellation is only of
   * (mu - k)^2 against the variance, ~1e-16 relative for k a few spreads
   * off.  (A second pass over a plane that does not fit in cache cost as
   * much as the normalisation itself.) */
  const int pilot = MIN (hw, 16);
  double k = 0.0;
  for (int j = 0; j < pilot; j++)
    k += x[j];
  k /= pilot;
  double sum, sq;
  plane_shifted_sums (x, hw, k, &sum, &sq);
  double dmu = sum / hw, mu = k + dmu;
  double var = MAX (sq / hw - dmu * dmu, 0.0);
  float r = (float) (1.0 / sqrt (var + NS_INSTNORM_EPS));

  f->mean[i] = (float) mu;
  f->rstd[i] = r;
  float scale = (f->gamma ? f->gamma[ch] : 1.0f) * r;
  float shift = f->beta ? f->beta[ch] : 0.0f;
  /* centre with the double mean: the float one is off by up to half an
   * ulp of the mean, which is large next to a small spread */
  if (f->relu)
    for (int j = 0; j < hw; j++)
      {
        float v = (float) (x[j] - mu) * scale + shift;
        y[j] = v > 0.0f ? v : 0.0f;
      }
  else
    for (int j = 0; j < hw; j++)
      y[j] = (float) (x[j] - mu) * scale + shift;
}

void
ns_instnorm_forward (float *out, float *mean, float *rstd,
                     const float *in, const float *gamma, const float *beta,
                     int n, int c, int hw, gboolean relu)
{
  ForwardJob f = { out, mean, rstd, in, gamma, beta, c, hw, relu };
  if ((size_t) n * c * hw >= THREAD_MIN)
    ns_tasks_run (n * c, forward_plane, &f);
  else
    for (int i = 0; i < n * c; i++)
      forward_plane (&f, i, 0);
}

/* Over a plane, with d = x - m in float: sum d, sum g, sum g * d. */
WIDE_CLONES static void
plane_grad_sums (const float *x, const float *g, float m, int hw,
                 double *sum_d, double *sum_g, double *sum_gd)
{
  ns_vd4 sd[4] = { 0 }, sg[4] = { 0 }, sgd[4] = { 0 };
  const ns_vf4 mv = (ns_vf4) { } + m;
  int j = 0;
  for (; j + NS_SUM_LANES <= hw; j += NS_SUM_LANES)
    for (int k = 0; k < 4; k++)
      {
        ns_vd4 d = ns_widen4 (ns_load4 (x + j + 4 * k) - mv);
        ns_vd4 gv = ns_widen4 (ns_load4 (g + j + 4 * k));
        sd[k] += d;
        sg[k] += gv;
        sgd[k] += gv * d;
      }
  double td = 0.0, tg = 0.0, tgd = 0.0;
  for (; j < hw; j++)
    {
      float d = x[j] - m;
      td += d;
      tg += g[j];
      tgd += (double) g[j] * d;
    }
  *sum_d = ns_reduce_lanes (sd) + td;
  *sum_g = ns_reduce_lanes (sg) + tg;
  *sum_gd = ns_reduce_lanes (sgd) + tgd;
}

/* dx += scale (g - mean_g - ((x - m) - delta) r mean_gx): the same bits in
 * every clone (nothing contracts), ~1.5 % of a training step on SSE2 */
WIDE_CLONES static void
plane_din_add (float *dx, const float *x, const float *g, float m, float delta,
               float r, float scale, float mean_g, float mean_gx, int hw)
{
  for (int j = 0; j < hw; j++)
    dx[j] += scale * (g[j] - mean_g - ((x[j] - m) - delta) * r * mean_gx);
}

/* With xhat = (x - mean) * rstd and g = dout:
 *   dbeta  = sum g,  dgamma = sum g * xhat,
 *   din    = gamma * rstd * (g - mean(g) - xhat * mean(g * xhat)).
 * The saved mean is a float, off the true one by up to half an ulp; the
 * first pass measures that offset exactly (delta = mean(x - m), with x - m
 * exact in float for x near m) and centres with m + delta. */
void
ns_instnorm_plane_backward (float *dx, const float *x, const float *g, float m,
                            float r, float gamma, int hw, double *sum_g,
                            double *sum_gx)
{
  double sum_d, sum_gd;
  plane_grad_sums (x, g, m, hw, &sum_d, sum_g, &sum_gd);
  double delta = sum_d / hw;
  *sum_gx = r * (sum_gd - delta * *sum_g); /* sum g * xhat */
  if (!dx)
    return;
  float scale = gamma * r;
  float mean_g = (float) (*sum_g / hw), mean_gx = (float) (*sum_gx / hw);
  plane_din_add (dx, x, g, m, (float) delta, r, scale, mean_g, mean_gx, hw);
}

void
ns_instnorm_backward (float *din, float *dgamma, float *dbeta,
                      const float *dout, const float *in,
                      const float *mean, const float *rstd,
                      const float *gamma, int n, int c, int hw)
{
  for (int i = 0; i < n * c; i++)
    {
      int ch = i % c;
      double sum_g, sum_gx;
      ns_instnorm_plane_backward (din ? din + (size_t) i * hw : NULL,
                                  in + (size_t) i * hw, dout + (size_t) i * hw,
                                  mean[i], rstd[i], gamma ? gamma[ch] : 1.0f, hw,
                                  &sum_g, &sum_gx);
      if (dbeta)
        dbeta[ch] += (float) sum_g;
      if (dgamma)
        dgamma[ch] += (float) sum_gx;
    }
}

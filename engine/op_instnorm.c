/* Instance normalisation: every (image, channel) plane is normalised by its
 * own mean and variance, then scaled and shifted per channel.  Sums run in
 * double: planes hold up to millions of pixels. */
#include "ns_ops.h"
#include <math.h>

void
ns_instnorm_forward (float *out, float *mean, float *rstd,
                     const float *in, const float *gamma, const float *beta,
                     int n, int c, int hw)
{
  for (int i = 0; i < n * c; i++)
    {
      const float *x = in + (size_t) i * hw;
      float *y = out + (size_t) i * hw;
      int ch = i % c;

      double sum = 0.0;
      for (int j = 0; j < hw; j++)
        sum += x[j];
      double mu = sum / hw;
      /* two passes: sum(x^2) - mu^2 cancels badly on bright, flat planes */
      double sq = 0.0;
      for (int j = 0; j < hw; j++)
        sq += (x[j] - mu) * (x[j] - mu);
      float r = (float) (1.0 / sqrt (sq / hw + NS_INSTNORM_EPS));

      mean[i] = (float) mu;
      rstd[i] = r;
      float scale = (gamma ? gamma[ch] : 1.0f) * r;
      float shift = beta ? beta[ch] : 0.0f;
      /* centre with the double mean: the float one is off by up to half an
       * ulp of the mean, which is large next to a small spread */
      for (int j = 0; j < hw; j++)
        y[j] = (float) (x[j] - mu) * scale + shift;
    }
}

/* With xhat = (x - mean) * rstd and g = dout:
 *   dbeta  = sum g,  dgamma = sum g * xhat,
 *   din    = gamma * rstd * (g - mean(g) - xhat * mean(g * xhat)).
 * The saved mean is a float, off the true one by up to half an ulp; the
 * first pass measures that offset exactly (delta = mean(x - m), with x - m
 * exact in float for x near m) and centres with m + delta. */
void
ns_instnorm_backward (float *din, float *dgamma, float *dbeta,
                      const float *dout, const float *in,
                      const float *mean, const float *rstd,
                      const float *gamma, int n, int c, int hw)
{
  for (int i = 0; i < n * c; i++)
    {
      const float *x = in + (size_t) i * hw;
      const float *g = dout + (size_t) i * hw;
      int ch = i % c;
      float m = mean[i], r = rstd[i];

      double sum_d = 0.0, sum_g = 0.0, sum_gd = 0.0;
      for (int j = 0; j < hw; j++)
        {
          float d = x[j] - m;
          sum_d += d;
          sum_g += g[j];
          sum_gd += (double) g[j] * d;
        }
      double delta = sum_d / hw;
      double sum_gx = r * (sum_gd - delta * sum_g); /* sum g * xhat */
      if (dbeta)
        dbeta[ch] += (float) sum_g;
      if (dgamma)
        dgamma[ch] += (float) sum_gx;
      if (!din)
        continue;

      float *dx = din + (size_t) i * hw;
      float scale = (gamma ? gamma[ch] : 1.0f) * r;
      float mean_g = (float) (sum_g / hw), mean_gx = (float) (sum_gx / hw);
      float fdelta = (float) delta;
      for (int j = 0; j < hw; j++)
        dx[j] += scale * (g[j] - mean_g - ((x[j] - m) - fdelta) * r * mean_gx);
    }
}

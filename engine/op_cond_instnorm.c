/* Conditional instance normalisation: one gamma/beta row per style, mixed by
 * mix[] into an effective gamma/beta, then plain instance normalisation.
 * Since gamma_eff = sum_s mix[s] * gammas[s], dgammas[s] = mix[s] * dgamma_eff
 * (likewise for beta). */
#include "ns_ops.h"
#include "instnorm_plane.h"
#include "tasks.h"

static void
mix_rows (float *eff, const float *rows, const float *mix, int n_styles, int c)
{
  for (int ch = 0; ch < c; ch++)
    {
      double acc = 0.0;
      for (int s = 0; s < n_styles; s++)
        acc += (double) mix[s] * rows[(size_t) s * c + ch];
      eff[ch] = (float) acc;
    }
}

void
ns_cond_instnorm_forward (float *out, float *mean, float *rstd,
                          float *gamma_eff, float *beta_eff,
                          const float *in, const float *gammas,
                          const float *betas, const float *mix,
                          int n_styles, int n, int c, int hw, gboolean relu)
{
  mix_rows (gamma_eff, gammas, mix, n_styles, c);
  mix_rows (beta_eff, betas, mix, n_styles, c);
  ns_instnorm_forward (out, mean, rstd, in, gamma_eff, beta_eff, n, c, hw, relu);
}

typedef struct
{
  float *din, *dgammas, *dbetas;
  const float *dout, *in, *mean, *rstd, *gamma_eff, *mix;
  int n_styles, n, c, hw;
} BackwardJob;

/* one channel: one pass over each of its planes gives their din and sums,
 * which are spread over the styles */
static void
backward_channel (gpointer data, int ch, int thread)
{
  const BackwardJob *b = data;
  const int c = b->c, hw = b->hw;
  (void) thread;
  double sum_g = 0.0, sum_gx = 0.0;
  for (int i = 0; i < b->n; i++)
    {
      size_t plane = (size_t) i * c + ch;
      double plane_g, plane_gx;
      ns_instnorm_plane_backward (b->din ? b->din + plane * hw : NULL, b->in + plane * hw,
                                  b->dout + plane * hw, b->mean[plane], b->rstd[plane],
                                  b->gamma_eff ? b->gamma_eff[ch] : 1.0f, hw,
                                  &plane_g, &plane_gx);
      sum_g += plane_g;
      sum_gx += plane_gx;
    }
  for (int s = 0; s < b->n_styles; s++)
    {
      if (b->dgammas)
        b->dgammas[(size_t) s * c + ch] += (float) (b->mix[s] * sum_gx);
      if (b->dbetas)
        b->dbetas[(size_t) s * c + ch] += (float) (b->mix[s] * sum_g);
    }
}

void
ns_cond_instnorm_backward (float *din, float *dgammas, float *dbetas,
                           const float *dout, const float *in,
                           const float *mean, const float *rstd,
                           const float *gamma_eff, const float *mix,
                           int n_styles, int n, int c, int hw)
{
  BackwardJob b = { din, dgammas, dbetas, dout, in, mean, rstd, gamma_eff, mix,
                    n_styles, n, c, hw };
  /* each channel by one task (its dgammas and dbetas entries too) */
  if ((size_t) n * c * hw >= (1 << 16))
    ns_tasks_run (c, backward_channel, &b);
  else
    for (int ch = 0; ch < c; ch++)
      backward_channel (&b, ch, 0);
}

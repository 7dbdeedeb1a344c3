/* A fixed random convolutional layer as a feature extractor for the style
 * loss (Ustyuzhaninov et al. 2017: random shallow nets describe texture
 * nearly as well as trained ones).  Weights come from a seed, so no weight
 * file is needed and every run sees the same net. */
#include "ns_loss.h"
#include "ns_ops.h"
#include "ns_error.h"
#include <math.h>
#include <string.h>

gboolean
ns_random_features_init (NsRandomFeatures *rf, int in_c, int out_c, int k,
                         guint32 seed, GError **error)
{
  memset (rf, 0, sizeof *rf);
  rf->in_c = in_c;
  rf->out_c = out_c;
  rf->k = k;
  size_t nw = (size_t) out_c * in_c * k * k;
  rf->weight = g_try_malloc_n (nw, sizeof (float));
  rf->bias = g_try_malloc_n (out_c, sizeof (float));
  if (!rf->weight || !rf->bias)
    {
      ns_random_features_clear (rf);
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "Out of memory for the random feature net");
      return FALSE;
    }
  NsRng rng;
  ns_rng_init (&rng, seed);
  /* He-style scale, and each filter made zero-mean so it responds to
   * texture (local contrast) rather than to flat colour, which the palette
   * term already matches */
  float sd = sqrtf (2.0f / (in_c * k * k));
  for (int o = 0; o < out_c; o++)
    {
      float *f = rf->weight + (size_t) o * in_c * k * k;
      double mean = 0;
      for (int i = 0; i < in_c * k * k; i++)
        mean += f[i] = sd * ns_rng_normal (&rng);
      mean /= in_c * k * k;
      for (int i = 0; i < in_c * k * k; i++)
        f[i] -= (float) mean;
      /* a small random threshold, so relu cuts at different levels */
      rf->bias[o] = 0.05f * ns_rng_normal (&rng);
    }
  return TRUE;
}

void
ns_random_features_clear (NsRandomFeatures *rf)
{
  g_clear_pointer (&rf->weight, g_free);
  g_clear_pointer (&rf->bias, g_free);
  ns_loss_work_clear (&rf->work);
}

gboolean
ns_random_features_forward (const NsRandomFeatures *rf, float *feat,
                            const float *x, int h, int w, NsLossWork *work)
{
  NsConv2dShape shape;
  ns_conv2d_shape (&shape, 1, rf->in_c, h, w, rf->out_c, rf->k, 1, NS_PAD_REFLECT);
  size_t nws = ns_conv2d_workspace (&shape);
  float *ws = nws ? ns_loss_work_get (work, 0, sizeof (float) * nws) : NULL;
  if (nws && !ws)
    return FALSE;
  ns_conv2d_forward (feat, x, rf->weight, rf->bias, &shape, ws);
  ns_act_forward (feat, feat, (size_t) rf->out_c * h * w, NS_ACT_RELU, 0.0f);
  return TRUE;
}

double
ns_loss_random_features (float *grad, float scale, const float *x, int h, int w,
                         const float *style_feat, int sh, int sw,
                         NsRandomFeatures *rf, const NsSwdConfig *cfg,
                         NsRng *rng, NsLossWork *work)
{
  size_t n = (size_t) rf->out_c * h * w;
  /* the net's own buffers, so ns_loss_swd can use every slot of work */
  float *feat = ns_loss_work_get (&rf->work, 1, sizeof (float) * n);
  float *dfeat = ns_loss_work_get (&rf->work, 2, sizeof (float) * n);
  if (!feat || !dfeat || !ns_random_features_forward (rf, feat, x, h, w, &rf->work))
    {
      work->out_of_memory = TRUE;
      return 0.0;
    }
  if (grad)
    memset (dfeat, 0, sizeof (float) * n);
  NsSwdConfig one = *cfg;
  one.patch = 1;
  double loss = ns_loss_swd (grad ? dfeat : NULL, scale, feat, rf->out_c, h, w,
                             style_feat, sh, sw, &one, rng, work);
  if (!grad || work->out_of_memory)
    return loss;
  /* relu backward in place: out > 0 exactly where its input was > 0 */
  for (size_t i = 0; i < n; i++)
    if (!(feat[i] > 0.0f))
      dfeat[i] = 0.0f;
  NsConv2dShape shape;
  ns_conv2d_shape (&shape, 1, rf->in_c, h, w, rf->out_c, rf->k, 1, NS_PAD_REFLECT);
  size_t nws = ns_conv2d_workspace (&shape);
  float *ws = nws ? ns_loss_work_get (&rf->work, 0, sizeof (float) * nws) : NULL;
  if (nws && !ws)
    {
      work->out_of_memory = TRUE;
      return loss;
    }
  ns_conv2d_backward (grad, NULL, NULL, dfeat, x, rf->weight, &shape, ws);
  return loss;
}

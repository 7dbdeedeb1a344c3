/* Stroke loss: the sliced Wasserstein distance between k x k patches of the
 * high-passed luminance of an image and of a style.  High-passed luminance
 * (luma minus its Gaussian blur) is zero for any flat colour, so no recolour
 * of the photo can lower this loss: only texture can (brush strokes, their
 * size, direction and contrast).  The colour-patch SWD alone is dominated by
 * each patch's mean colour and was satisfied by a recolour
 * (shared/notes/presets-observations.md). */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <string.h>

/* hp = luma(rgb) - blur(luma(rgb)), through y and tmp (n floats each) */
static void
highpass_luma (float *hp, const float *rgb, int h, int w, float sigma,
               float *y, float *tmp)
{
  const size_t n = (size_t) h * w;
  ns_luma (y, rgb, n);
  ns_blur_forward (hp, y, 1, h, w, sigma, tmp);
  for (size_t i = 0; i < n; i++)
    hp[i] = y[i] - hp[i];
}

gboolean
ns_stroke_target (float *hp, const float *rgb, int h, int w, float sigma,
                  NsLossWork *work)
{
  const size_t n = (size_t) h * w;
  float *y = ns_loss_work_get (work, NS_STROKE_SLOT, sizeof (float) * n);
  float *tmp = ns_loss_work_get (work, NS_STROKE_SLOT + 1, sizeof (float) * n);
  if (!y || !tmp)
    return FALSE;
  highpass_luma (hp, rgb, h, w, sigma, y, tmp);
  return TRUE;
}

double
ns_loss_stroke (float *grad, float scale, const float *x, int h, int w,
                const float *style_hp, int sh, int sw, float sigma,
                const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work)
{
  const size_t n = (size_t) h * w;
  float *hp = ns_loss_work_get (work, NS_STROKE_SLOT, sizeof (float) * n);
  float *dhp = ns_loss_work_get (work, NS_STROKE_SLOT + 1, sizeof (float) * n);
  float *tmp = ns_loss_work_get (work, NS_STROKE_SLOT + 2, sizeof (float) * n);
  if (!hp || !dhp || !tmp)
    return 0.0;
  /* dhp doubles as the luma buffer of the forward */
  highpass_luma (hp, x, h, w, sigma, dhp, tmp);
  if (grad)
    memset (dhp, 0, sizeof (float) * n);
  double loss = ns_loss_swd (grad ? dhp : NULL, scale, hp, 1, h, w, style_hp, sh, sw,
                             cfg, rng, work);
  if (!grad)
    return loss;
  /* d luma = dhp - B^T dhp (hp is free again and takes B^T dhp) */
  memset (hp, 0, sizeof (float) * n);
  ns_blur_backward (hp, dhp, 1, h, w, sigma, tmp);
  for (size_t i = 0; i < n; i++)
    dhp[i] -= hp[i];
  ns_luma_backward (grad, dhp, n);
  return loss;
}

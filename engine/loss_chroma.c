/* Colour layout loss: blurred chroma of the result against the photo's.
 *
 * chroma = each RGB plane minus the luminance, so the loss leaves
 * brightness to the structure loss (loss_content.c) and sees only hue and
 * saturation.  Blurred at a sigma above the brush scale, it lets strokes
 * carry colour but forbids moving colour over areas larger than a few
 * strokes: the patch losses, which match each crop to the whole painting's
 * colours, otherwise paint the painting's other colours as blotches into
 * a flat sky, where the luminance-only structure loss does not see them. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <string.h>

static void
chroma (float *dst, const float *rgb, size_t n, float *y)
{
  ns_luma (y, rgb, n);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < n; i++)
      dst[c * n + i] = rgb[c * n + i] - y[i];
}

void
ns_chroma_target (float *target, const float *rgb, int h, int w, float sigma,
                  NsLossWork *work)
{
  size_t n = (size_t) h * w;
  float *ch = ns_loss_work_get (work, 0, sizeof (float) * 3 * n);
  float *tmp = ns_loss_work_get (work, 1, sizeof (float) * n);
  if (!ch || !tmp)
    return;
  chroma (ch, rgb, n, tmp);
  ns_blur_forward (target, ch, 3, h, w, sigma, tmp);
}

double
ns_loss_chroma (float *grad, float scale, const float *x, int h, int w,
                const float *target, float sigma, NsLossWork *work)
{
  size_t n = (size_t) h * w;
  float *ch = ns_loss_work_get (work, 0, sizeof (float) * 3 * n);
  float *bch = ns_loss_work_get (work, 1, sizeof (float) * 3 * n);
  float *tmp = ns_loss_work_get (work, 2, sizeof (float) * n);
  if (!ch || !bch || !tmp)
    return 0.0;
  chroma (ch, x, n, tmp);
  ns_blur_forward (bch, ch, 3, h, w, sigma, tmp);
  double loss = 0;
  float g = (float) (2.0 * scale / (3 * n));
  for (size_t i = 0; i < 3 * n; i++)
    {
      double diff = (double) bch[i] - target[i];
      loss += diff * diff;
      bch[i] = g * (float) diff;
    }
  if (grad)
    {
      /* d chroma_c / d rgb_k = [c == k] - luma_weight_k */
      memset (ch, 0, sizeof (float) * 3 * n);
      ns_blur_backward (ch, bch, 3, h, w, sigma, tmp);
      float *sum = bch;
      for (size_t i = 0; i < n; i++)
        sum[i] = -(ch[i] + ch[n + i] + ch[2 * n + i]);
      for (size_t i = 0; i < 3 * n; i++)
        grad[i] += ch[i];
      ns_luma_backward (grad, sum, n);
    }
  return loss / (3 * n);
}

/* Variation consistency: two outputs of one photo under two draws of the
 * variation noise.
 *
 * A variation should lay other strokes, not paint another picture.  The
 * network otherwise answers chance clusters of the noise in a flat area
 * with clusters of dark marks whose place is the seed's (a sky with marks
 * here for one seed, there for the next).  The loss compares the two
 * outputs' local contrast, not their pixels: the RMS of the high-passed
 * luminance (luma less its blur over stroke_sigma), taken over a window of
 * sigma.  Strokes laid elsewhere at the same density cost nothing; a
 * cluster, or a bare patch, where the other variation has none costs. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <math.h>
#include <string.h>

#define CONTRAST_FLOOR 1e-6f   /* keeps the root's derivative finite */

/* hp = luma - blur(luma); r = sqrt(blur(hp^2) + floor); through y, tmp */
static void
local_contrast (float *r, float *hp, const float *rgb, int h, int w,
                float stroke_sigma, float sigma, float *y, float *tmp)
{
  const size_t n = (size_t) h * w;
  ns_luma (y, rgb, n);
  ns_blur_forward (hp, y, 1, h, w, stroke_sigma, tmp);
  for (size_t i = 0; i < n; i++)
    {
      hp[i] = y[i] - hp[i];
      y[i] = hp[i] * hp[i];
    }
  ns_blur_forward (r, y, 1, h, w, sigma, tmp);
  for (size_t i = 0; i < n; i++)
    r[i] = sqrtf (r[i] + CONTRAST_FLOOR);
}

/* grad += d/drgb of sum(dr * r), r = local_contrast (rgb); dr is spent */
static void
local_contrast_backward (float *grad, float *dr, const float *r, const float *hp,
                         int h, int w, float stroke_sigma, float sigma, float *t,
                         float *tmp)
{
  const size_t n = (size_t) h * w;
  for (size_t i = 0; i < n; i++)
    dr[i] /= 2 * r[i];                     /* d blur(hp^2) */
  memset (t, 0, sizeof (float) * n);
  ns_blur_backward (t, dr, 1, h, w, sigma, tmp);
  for (size_t i = 0; i < n; i++)
    t[i] *= 2 * hp[i];                     /* d hp */
  memset (dr, 0, sizeof (float) * n);
  ns_blur_backward (dr, t, 1, h, w, stroke_sigma, tmp);
  for (size_t i = 0; i < n; i++)
    t[i] -= dr[i];                         /* d luma = dhp - B^T dhp */
  ns_luma_backward (grad, t, n);
}

double
ns_loss_variation (float *grad_a, float *grad_b, float scale, const float *a,
                   const float *b, int h, int w, float stroke_sigma, float sigma,
                   NsLossWork *work)
{
  const size_t n = (size_t) h * w, bytes = sizeof (float) * n;
  float *ra = ns_loss_work_get (work, 0, bytes), *hpa = ns_loss_work_get (work, 1, bytes);
  float *rb = ns_loss_work_get (work, 2, bytes), *hpb = ns_loss_work_get (work, 3, bytes);
  float *d = ns_loss_work_get (work, 4, bytes), *t = ns_loss_work_get (work, 5, bytes);
  float *tmp = ns_loss_work_get (work, 6, bytes);
  if (!ra || !hpa || !rb || !hpb || !d || !t || !tmp)
    return 0.0;
  local_contrast (ra, hpa, a, h, w, stroke_sigma, sigma, t, tmp);
  local_contrast (rb, hpb, b, h, w, stroke_sigma, sigma, t, tmp);
  double loss = 0;
  for (size_t i = 0; i < n; i++)
    {
      const double diff = (double) ra[i] - rb[i];
      loss += diff * diff;
    }
  const float g = (float) (2.0 * scale / n);
  if (grad_a)
    {
      for (size_t i = 0; i < n; i++)
        d[i] = g * (ra[i] - rb[i]);
      local_contrast_backward (grad_a, d, ra, hpa, h, w, stroke_sigma, sigma, t, tmp);
    }
  if (grad_b)
    {
      for (size_t i = 0; i < n; i++)
        d[i] = g * (rb[i] - ra[i]);
      local_contrast_backward (grad_b, d, rb, hpb, h, w, stroke_sigma, sigma, t, tmp);
    }
  return loss / n;
}

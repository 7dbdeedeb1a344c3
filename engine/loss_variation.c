/* Variation consistency: two outputs of one photo under two draws of the
 * variation noise.
 *
 * A variation should lay other strokes, not paint another picture: the
 * network otherwise answers chance clusters of the noise in a flat area
 * with clusters of dark marks whose place is the seed's (a sky with marks
 * here for one seed, there for the next).  Blurred over sigma, a few
 * strokes' width, the two outputs' difference keeps those clusters and
 * loses the single strokes, so the loss costs the one and not the other. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <string.h>

double
ns_loss_variation (float *grad_a, float *grad_b, float scale, const float *a,
                   const float *b, int c, int h, int w, float sigma, NsLossWork *work)
{
  const size_t n = (size_t) c * h * w;
  float *diff = ns_loss_work_get (work, 0, sizeof (float) * n);
  float *blurred = ns_loss_work_get (work, 1, sizeof (float) * n);
  float *tmp = ns_loss_work_get (work, 2, sizeof (float) * h * w);
  if (!diff || !blurred || !tmp)
    return 0.0;
  for (size_t i = 0; i < n; i++)
    diff[i] = a[i] - b[i];
  ns_blur_forward (blurred, diff, c, h, w, sigma, tmp);
  double loss = 0;
  const float g = (float) (2.0 * scale / n);
  for (size_t i = 0; i < n; i++)
    {
      loss += (double) blurred[i] * blurred[i];
      blurred[i] *= g;
    }
  if (grad_a || grad_b)
    {
      /* d/da = 2/n B^T B (a - b) = -d/db */
      memset (diff, 0, sizeof (float) * n);
      ns_blur_backward (diff, blurred, c, h, w, sigma, tmp);
      for (size_t i = 0; i < n; i++)
        {
          if (grad_a)
            grad_a[i] += diff[i];
          if (grad_b)
            grad_b[i] -= diff[i];
        }
    }
  return loss / n;
}

/* Structure loss: blurred luminance of the result against the photo's. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <string.h>

void
ns_content_target (float *target, const float *rgb, int h, int w, float sigma,
                   NsLossWork *work)
{
  size_t n = (size_t) h * w;
  float *y = ns_loss_work_get (work, 0, sizeof (float) * n);
  float *tmp = ns_loss_work_get (work, 1, sizeof (float) * n);
  if (!y || !tmp)
    return;
  ns_luma (y, rgb, n);
  ns_blur_forward (target, y, 1, h, w, sigma, tmp);
}

double
ns_loss_content (float *grad, float scale, const float *x, int h, int w,
                 const float *target, float sigma, NsLossWork *work)
{
  size_t n = (size_t) h * w;
  float *y = ns_loss_work_get (work, 0, sizeof (float) * n);
  float *by = ns_loss_work_get (work, 1, sizeof (float) * n);
  float *tmp = ns_loss_work_get (work, 2, sizeof (float) * n);
  if (!y || !by || !tmp)
    return 0.0;
  ns_luma (y, x, n);
  ns_blur_forward (by, y, 1, h, w, sigma, tmp);
  double loss = 0;
  float g = (float) (2.0 * scale / n);
  for (size_t i = 0; i < n; i++)
    {
      double diff = (double) by[i] - target[i];
      loss += diff * diff;
      by[i] = g * (float) diff;
    }
  if (grad)
    {
      memset (y, 0, sizeof (float) * n);
      ns_blur_backward (y, by, 1, h, w, sigma, tmp);
      ns_luma_backward (grad, y, n);
    }
  return loss / n;
}

/* Total variation (squared): a small smoothness prior against pixel noise. */
#include "ns_loss.h"

double
ns_loss_tv (float *grad, float scale, const float *x, int c, int h, int w)
{
  double loss = 0;
  double norm = 1.0 / ((double) c * h * w);
  float g = (float) (2.0 * scale * norm);
  for (int ch = 0; ch < c; ch++)
    {
      const float *p = x + (size_t) ch * h * w;
      float *gp = grad ? grad + (size_t) ch * h * w : NULL;
      for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++)
          {
            size_t i = (size_t) y * w + xx;
            if (xx + 1 < w)
              {
                float d = p[i + 1] - p[i];
                loss += (double) d * d;
                if (gp)
                  {
                    gp[i + 1] += g * d;
                    gp[i] -= g * d;
                  }
              }
            if (y + 1 < h)
              {
                float d = p[i + w] - p[i];
                loss += (double) d * d;
                if (gp)
                  {
                    gp[i + w] += g * d;
                    gp[i] -= g * d;
                  }
              }
          }
    }
  return loss * norm;
}

/* Lone dots: a smoothness prior aimed at single pixels, not at strokes.
 *
 * L = sum over interior pixels and channels of (x - mean of its 4
 * neighbours)^2, divided by c * h * w.  A dot of height d costs 1.25 d^2
 * here against 4 d^2 in the squared TV, but a straight edge of height d
 * costs d^2 / 8 per pixel of its length against d^2: relative to edges and
 * strokes, lone dots cost 2.5 times as much as under the TV, so the prior
 * can smooth flat areas without erasing the brush texture the TV erases at
 * the same strength.  (The confetti itself came from the palette's sparse
 * draw, fixed there: optimise.c, PALETTE_BIN_WIDTH.) */
#include "ns_loss.h"

double
ns_loss_dots (float *grad, float scale, const float *x, int c, int h, int w)
{
  double loss = 0;
  double norm = 1.0 / ((double) c * h * w);
  float g = (float) (2.0 * scale * norm);
  for (int ch = 0; ch < c; ch++)
    {
      const float *p = x + (size_t) ch * h * w;
      float *gp = grad ? grad + (size_t) ch * h * w : NULL;
      for (int y = 1; y + 1 < h; y++)
        for (int xx = 1; xx + 1 < w; xx++)
          {
            size_t i = (size_t) y * w + xx;
            float r = p[i] - 0.25f * (p[i - 1] + p[i + 1] + p[i - w] + p[i + w]);
            loss += (double) r * r;
            if (gp)
              {
                float gr = g * r, q = -0.25f * gr;
                gp[i] += gr;
                gp[i - 1] += q;
                gp[i + 1] += q;
                gp[i - w] += q;
                gp[i + w] += q;
              }
          }
    }
  return loss * norm;
}

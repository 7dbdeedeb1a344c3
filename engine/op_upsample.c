/* Nearest-neighbour x2 upsampling: every input pixel becomes a 2x2 block, so
 * its gradient is the sum of that block's four output gradients. */
#include "ns_ops.h"

void
ns_upsample2x_row (float *dst, const float *in, int h, int w, int oy, int x0, int x1)
{
  const float *src = in + (size_t) (oy / 2) * w;
  (void) h;
  for (int ox = x0; ox < x1; ox++)
    dst[ox - x0] = src[ox / 2];
}

void
ns_upsample2x_forward (float *out, const float *in, int n, int c, int h, int w)
{
  const int ow = 2 * w;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    for (int oy = 0; oy < 2 * h; oy++)
      ns_upsample2x_row (out + (plane * 2 * h + oy) * ow, in + plane * h * w, h, w, oy,
                         0, ow);
}

void
ns_upsample2x_backward (float *din, const float *dout, int n, int c, int h, int w)
{
  if (!din)
    return;
  const int ow = 2 * w;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      float *dst = din + plane * h * w;
      const float *src = dout + plane * 4 * h * w;
      for (int y = 0; y < h; y++)
        {
          const float *row0 = src + (size_t) 2 * y * ow, *row1 = row0 + ow;
          for (int x = 0; x < w; x++)
            dst[(size_t) y * w + x] += (row0[2 * x] + row0[2 * x + 1])
                                       + (row1[2 * x] + row1[2 * x + 1]);
        }
    }
}

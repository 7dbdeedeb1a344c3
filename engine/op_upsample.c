/* Nearest-neighbour x2 upsampling: every input pixel becomes a 2x2 block, so
 * its gradient is the sum of that block's four output gradients. */
#include "ns_ops.h"

void
ns_upsample2x_forward (float *out, const float *in, int n, int c, int h, int w)
{
  const int ow = 2 * w;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      const float *src = in + plane * h * w;
      float *dst = out + plane * 4 * h * w;
      for (int y = 0; y < h; y++)
        {
          float *row0 = dst + (size_t) 2 * y * ow, *row1 = row0 + ow;
          for (int x = 0; x < w; x++)
            {
              float v = src[(size_t) y * w + x];
              row0[2 * x] = row0[2 * x + 1] = v;
              row1[2 * x] = row1[2 * x + 1] = v;
            }
        }
    }
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

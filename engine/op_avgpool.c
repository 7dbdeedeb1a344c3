/* 2x2 average pooling, stride 2.  An odd last row or column has no output
 * cell, so it receives no gradient. */
#include "ns_ops.h"

void
ns_avgpool2x2_forward (float *out, const float *in, int n, int c, int h, int w)
{
  const int oh = h / 2, ow = w / 2;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      const float *src = in + plane * h * w;
      float *dst = out + plane * oh * ow;
      for (int y = 0; y < oh; y++)
        {
          const float *row0 = src + (size_t) 2 * y * w, *row1 = row0 + w;
          for (int x = 0; x < ow; x++)
            dst[(size_t) y * ow + x] = 0.25f * ((row0[2 * x] + row0[2 * x + 1])
                                                + (row1[2 * x] + row1[2 * x + 1]));
        }
    }
}

void
ns_avgpool2x2_backward (float *din, const float *dout, int n, int c, int h, int w)
{
  if (!din)
    return;
  const int oh = h / 2, ow = w / 2;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      float *dst = din + plane * h * w;
      const float *src = dout + plane * oh * ow;
      for (int y = 0; y < oh; y++)
        {
          float *row0 = dst + (size_t) 2 * y * w, *row1 = row0 + w;
          for (int x = 0; x < ow; x++)
            {
              float g = 0.25f * src[(size_t) y * ow + x];
              row0[2 * x] += g;
              row0[2 * x + 1] += g;
              row1[2 * x] += g;
              row1[2 * x + 1] += g;
            }
        }
    }
}

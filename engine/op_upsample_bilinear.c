/* Bilinear x2 upsampling with half-pixel centres: output pixel 2i+a samples
 * the input at i - 1/4 (a = 0) or i + 1/4 (a = 1), i.e. 3/4 of pixel i and
 * 1/4 of its neighbour on that side, per axis; a neighbour past the border
 * is the pixel itself.  Unlike nearest-neighbour copies it leaves no 2x2
 * block structure for the next 3x3 conv to turn into a dot grid. */
#include "ns_ops.h"

/* the neighbour output pixel 2i+a leans on, clamped at the border */
static inline int
neighbour (int i, int a, int len)
{
  int j = a ? i + 1 : i - 1;
  return j < 0 ? 0 : j >= len ? len - 1 : j;
}

void
ns_upsample2x_bilinear_forward (float *out, const float *in, int n, int c, int h, int w)
{
  const int ow = 2 * w;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      const float *src = in + plane * h * w;
      float *dst = out + plane * 4 * h * w;
      for (int oy = 0; oy < 2 * h; oy++)
        {
          const float *r0 = src + (size_t) (oy / 2) * w;
          const float *r1 = src + (size_t) neighbour (oy / 2, oy & 1, h) * w;
          float *row = dst + (size_t) oy * ow;
          for (int ox = 0; ox < ow; ox++)
            {
              int x0 = ox / 2, x1 = neighbour (x0, ox & 1, w);
              row[ox] = 0.5625f * r0[x0] + 0.1875f * (r0[x1] + r1[x0]) + 0.0625f * r1[x1];
            }
        }
    }
}

/* the adjoint: each output gradient goes back to the four pixels it read,
 * with the same weights */
void
ns_upsample2x_bilinear_backward (float *din, const float *dout, int n, int c, int h, int w)
{
  if (!din)
    return;
  const int ow = 2 * w;
  for (size_t plane = 0; plane < (size_t) n * c; plane++)
    {
      float *dst = din + plane * h * w;
      const float *src = dout + plane * 4 * h * w;
      for (int oy = 0; oy < 2 * h; oy++)
        {
          float *r0 = dst + (size_t) (oy / 2) * w;
          float *r1 = dst + (size_t) neighbour (oy / 2, oy & 1, h) * w;
          const float *row = src + (size_t) oy * ow;
          for (int ox = 0; ox < ow; ox++)
            {
              int x0 = ox / 2, x1 = neighbour (x0, ox & 1, w);
              float g = row[ox];
              r0[x0] += 0.5625f * g;
              r0[x1] += 0.1875f * g;
              r1[x0] += 0.1875f * g;
              r1[x1] += 0.0625f * g;
            }
        }
    }
}

/* 2-D convolution by im2col + cblas_sgemm.
 *
 * The im2col matrix of one image is [in_c*k*k][out_h*out_w].  Rather than
 * building it whole (576 x 16.7M floats for a 64-channel 4096^2 image), each
 * image is processed in bands of output rows whose columns fit a few MiB:
 * the band stays in cache between im2col and the GEMM, and the workspace
 * stays small whatever the image size.  A 1x1 stride-1 convolution needs no
 * im2col at all: the image itself is the [in_c][h*w] matrix. */
#include "ns_ops.h"
#include <cblas.h>
#include <string.h>

/* Target size of one band of im2col columns, in floats (4 MiB): small
 * enough to stay in cache between im2col and the GEMM.  Measured on the
 * 64->64 3x3 256^2 layer (one thread, CPU time): bands of 2^17..2^20 floats
 * all run the forward at ~94 GFLOP/s, 2^21 and up (or the whole image)
 * fall to 71-81 as the columns spill to memory. */
#define BAND_FLOATS (1u << 20)

static inline gboolean
is_pointwise (const NsConv2dShape *s)
{
  return s->k == 1 && s->stride == 1;
}

static inline int
col_rows (const NsConv2dShape *s)
{
  return s->in_c * s->k * s->k;
}

/* output rows per band */
static int
band_rows (const NsConv2dShape *s)
{
  size_t per_row = (size_t) col_rows (s) * s->out_w;
  size_t rows = BAND_FLOATS / per_row;
  if (rows < 1)
    rows = 1;
  return rows < (size_t) s->out_h ? (int) rows : s->out_h;
}

void
ns_conv2d_shape (NsConv2dShape *s, int n, int in_c, int h, int w,
                 int out_c, int k, int stride, NsPad pad)
{
  int p = k / 2;
  *s = (NsConv2dShape) {
    .n = n, .in_c = in_c, .h = h, .w = w,
    .out_c = out_c, .k = k, .stride = stride, .pad = pad,
    .out_h = (h + 2 * p - k) / stride + 1,
    .out_w = (w + 2 * p - k) / stride + 1,
  };
}

size_t
ns_conv2d_workspace (const NsConv2dShape *s)
{
  if (is_pointwise (s))
    return 0;
  return (size_t) col_rows (s) * band_rows (s) * s->out_w;
}

/* Image index of padded coordinate i, or -1 where zero padding applies. */
static inline int
source_index (int i, int n, NsPad pad)
{
  if (i >= 0 && i < n)
    return i;
  return pad == NS_PAD_ZERO ? -1 : ns_reflect_index (i, n);
}

/* smallest o >= 0 with o*stride + offset >= target */
static inline int
first_output_at (int target, int offset, int stride)
{
  return offset >= target ? 0 : (target - offset + stride - 1) / stride;
}

/* The output columns [*lo, *hi) of kernel column kx read inside the image;
 * the few outside it go through source_index. */
static inline void
interior_columns (const NsConv2dShape *s, int kx, int *lo, int *hi)
{
  int offset = kx - s->k / 2;
  *lo = MIN (first_output_at (0, offset, s->stride), s->out_w);
  *hi = MIN (first_output_at (s->w, offset, s->stride), s->out_w);
}

/* col[(c*k + ky)*k + kx][(oy - y0)*out_w + ox] = img[c][iy][ix] for the
 * output rows [y0, y1). */
static void
im2col_band (float *col, const float *img, const NsConv2dShape *s, int y0, int y1)
{
  const int k = s->k, st = s->stride, p = k / 2, ow = s->out_w;
  const size_t band_n = (size_t) (y1 - y0) * ow;

  for (int c = 0; c < s->in_c; c++)
    {
      const float *plane = img + (size_t) c * s->h * s->w;
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          {
            float *row = col + ((size_t) (c * k + ky) * k + kx) * band_n;
            int lo, hi;
            interior_columns (s, kx, &lo, &hi);
            for (int oy = y0; oy < y1; oy++)
              {
                float *dst = row + (size_t) (oy - y0) * ow;
                int iy = source_index (oy * st - p + ky, s->h, s->pad);
                if (iy < 0)
                  {
                    memset (dst, 0, sizeof (float) * ow);
                    continue;
                  }
                const float *src = plane + (size_t) iy * s->w;
                for (int ox = 0; ox < lo; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    dst[ox] = ix < 0 ? 0.0f : src[ix];
                  }
                if (st == 1 && hi > lo)
                  memcpy (dst + lo, src + lo - p + kx, sizeof (float) * (hi - lo));
                else /* (empty when hi <= lo) */
                  for (int ox = lo; ox < hi; ox++)
                    dst[ox] = src[ox * st - p + kx];
                for (int ox = hi; ox < ow; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    dst[ox] = ix < 0 ? 0.0f : src[ix];
                  }
              }
          }
    }
}

/* The adjoint of im2col_band: adds every column entry back into the pixel it
 * was read from (for reflection, the mirrored source pixel). */
static void
col2im_band_add (float *img, const float *col, const NsConv2dShape *s, int y0, int y1)
{
  const int k = s->k, st = s->stride, p = k / 2, ow = s->out_w;
  const size_t band_n = (size_t) (y1 - y0) * ow;

  for (int c = 0; c < s->in_c; c++)
    {
      float *plane = img + (size_t) c * s->h * s->w;
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          {
            const float *row = col + ((size_t) (c * k + ky) * k + kx) * band_n;
            int lo, hi;
            interior_columns (s, kx, &lo, &hi);
            for (int oy = y0; oy < y1; oy++)
              {
                const float *src = row + (size_t) (oy - y0) * ow;
                int iy = source_index (oy * st - p + ky, s->h, s->pad);
                if (iy < 0)
                  continue;
                float *dst = plane + (size_t) iy * s->w;
                for (int ox = 0; ox < lo; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    if (ix >= 0)
                      dst[ix] += src[ox];
                  }
                for (int ox = lo; ox < hi; ox++)
                  dst[ox * st - p + kx] += src[ox];
                for (int ox = hi; ox < ow; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    if (ix >= 0)
                      dst[ix] += src[ox];
                  }
              }
          }
    }
}

void
ns_conv2d_forward (float *out, const float *in, const float *w,
                   const float *b, const NsConv2dShape *s, float *ws)
{
  const int K = col_rows (s), ohw = s->out_h * s->out_w;
  const size_t in_size = (size_t) s->in_c * s->h * s->w;
  const size_t out_size = (size_t) s->out_c * ohw;

  for (int i = 0; i < s->n; i++)
    {
      const float *in_i = in + i * in_size;
      float *out_i = out + i * out_size;
      /* the GEMM adds onto the bias (beta = 1) instead of a second pass */
      if (b)
        for (int oc = 0; oc < s->out_c; oc++)
          for (int j = 0; j < ohw; j++)
            out_i[(size_t) oc * ohw + j] = b[oc];
      const float beta = b ? 1.0f : 0.0f;

      if (is_pointwise (s))
        {
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                       s->out_c, ohw, K, 1.0f, w, K, in_i, ohw,
                       beta, out_i, ohw);
          continue;
        }
      const int rows = band_rows (s);
      for (int y0 = 0; y0 < s->out_h; y0 += rows)
        {
          int y1 = MIN (y0 + rows, s->out_h), band_n = (y1 - y0) * s->out_w;
          im2col_band (ws, in_i, s, y0, y1);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                       s->out_c, band_n, K, 1.0f, w, K, ws, band_n,
                       beta, out_i + (size_t) y0 * s->out_w, ohw);
        }
    }
}

void
ns_conv2d_backward (float *din, float *dw, float *db, const float *dout,
                    const float *in, const float *w,
                    const NsConv2dShape *s, float *ws)
{
  const int K = col_rows (s), ohw = s->out_h * s->out_w;
  const size_t in_size = (size_t) s->in_c * s->h * s->w;
  const size_t out_size = (size_t) s->out_c * ohw;

  for (int i = 0; i < s->n; i++)
    {
      const float *in_i = in + i * in_size;
      const float *dout_i = dout + i * out_size;

      if (db)
        for (int oc = 0; oc < s->out_c; oc++)
          {
            double sum = 0.0; /* up to millions of terms */
            for (int j = 0; j < ohw; j++)
              sum += dout_i[(size_t) oc * ohw + j];
            db[oc] += (float) sum;
          }

      if (is_pointwise (s))
        {
          /* dW += dout x in^T ; din += W^T x dout */
          if (dw)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                         s->out_c, K, ohw, 1.0f, dout_i, ohw, in_i, ohw,
                         1.0f, dw, K);
          if (din)
            cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                         K, ohw, s->out_c, 1.0f, w, K, dout_i, ohw,
                         1.0f, din + i * in_size, ohw);
          continue;
        }

      const int rows = band_rows (s);
      for (int y0 = 0; y0 < s->out_h; y0 += rows)
        {
          int y1 = MIN (y0 + rows, s->out_h), band_n = (y1 - y0) * s->out_w;
          const float *dout_band = dout_i + (size_t) y0 * s->out_w;
          if (dw)
            {
              /* dW += dout_band x col_band^T */
              im2col_band (ws, in_i, s, y0, y1);
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                           s->out_c, K, band_n, 1.0f, dout_band, ohw, ws, band_n,
                           1.0f, dw, K);
            }
          if (din)
            {
              /* dcol = W^T x dout_band, reusing the column buffer */
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                           K, band_n, s->out_c, 1.0f, w, K, dout_band, ohw,
                           0.0f, ws, band_n);
              col2im_band_add (din + i * in_size, ws, s, y0, y1);
            }
        }
    }
}

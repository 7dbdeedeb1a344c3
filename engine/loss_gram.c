/* The seeds' Gram-matrix style loss, on raw colour patches. */
#include "ns_loss.h"
#include <cblas.h>
#include <string.h>

#define CHUNK 2048

/* gram = cols^T cols / n over the patches at pos, CHUNK at a time */
static void
accumulate_gram (float *gram, float *cols, const float *img, int c, int h, int w,
                 int k, const int *pos, int n)
{
  int d = c * k * k;
  memset (gram, 0, sizeof (float) * d * d);
  for (int i0 = 0; i0 < n; i0 += CHUNK)
    {
      int nb = MIN (CHUNK, n - i0);
      ns_patches_gather (cols, img, c, h, w, k, pos + 2 * i0, nb);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, d, d, nb,
                   1.0f / n, cols, d, cols, d, 1.0f, gram, d);
    }
}

static int
grid_stride (int h, int w, int max_samples)
{
  int stride = 1;
  while ((gint64) ((h + stride - 1) / stride) * ((w + stride - 1) / stride)
         > MAX (1, max_samples))
    stride++;
  return stride;
}

gboolean
ns_gram_target (float *gram, const float *style, int c, int h, int w,
                int k, int max_samples, NsLossWork *work)
{
  int d = c * k * k, stride = grid_stride (h, w, max_samples);
  int n = ((h + stride - 1) / stride) * ((w + stride - 1) / stride);
  int *pos = ns_loss_work_get (work, 0, sizeof (int) * 2 * (size_t) n);
  float *cols = ns_loss_work_get (work, 1, sizeof (float) * (size_t) CHUNK * d);
  if (!pos || !cols)
    return FALSE;
  n = ns_patches_grid (pos, h, w, stride, 0, 0);
  accumulate_gram (gram, cols, style, c, h, w, k, pos, n);
  return TRUE;
}

double
ns_loss_gram (float *grad, float scale, const float *x, int c, int h, int w,
              const float *target, int k, int max_samples, NsRng *rng,
              NsLossWork *work)
{
  int d = c * k * k, stride = grid_stride (h, w, max_samples);
  int oy = ns_rng_below (rng, MIN (stride, h)), ox = ns_rng_below (rng, MIN (stride, w));
  int n = ((h - oy + stride - 1) / stride) * ((w - ox + stride - 1) / stride);
  int *pos = ns_loss_work_get (work, 0, sizeof (int) * 2 * (size_t) n);
  float *cols = ns_loss_work_get (work, 1, sizeof (float) * (size_t) CHUNK * d);
  float *gram = ns_loss_work_get (work, 2, sizeof (float) * d * d);
  float *dcols = ns_loss_work_get (work, 3, sizeof (float) * (size_t) CHUNK * d);
  if (!pos || !cols || !gram || !dcols)
    return 0.0;
  n = ns_patches_grid (pos, h, w, stride, oy, ox);
  accumulate_gram (gram, cols, x, c, h, w, k, pos, n);
  double loss = 0;
  /* L = sum (G - T)^2 / d^2;  dL/dcols = cols . 2 (dL/dG) / n, dL/dG symmetric */
  float g = (float) (2.0 * scale / ((double) d * d));
  for (int i = 0; i < d * d; i++)
    {
      double diff = (double) gram[i] - target[i];
      loss += diff * diff;
      gram[i] = g * (float) diff;
    }
  if (grad)
    for (int i0 = 0; i0 < n; i0 += CHUNK)
      {
        int nb = MIN (CHUNK, n - i0);
        ns_patches_gather (cols, x, c, h, w, k, pos + 2 * i0, nb);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, d, d,
                     2.0f / n, cols, d, gram, d, 0.0f, dcols, d);
        ns_patches_scatter (grad, dcols, c, h, w, k, pos + 2 * i0, nb);
      }
  return loss / ((double) d * d);
}

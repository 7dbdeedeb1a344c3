/* Patch extraction and the sliced Wasserstein distance between the patch
 * distributions of an image and of a style (Heitz et al. 2021; Elnekave &
 * Weiss 2022), on raw colours or on feature maps. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

/* patches projected per sgemm: keeps the im2col block in cache */
#define CHUNK 2048

void *
ns_loss_work_get (NsLossWork *work, int slot, size_t bytes)
{
  g_return_val_if_fail (slot >= 0 && slot < NS_LOSS_WORK_SLOTS, NULL);
  if (work->size[slot] < bytes)
    {
      void *p = g_try_realloc (work->buf[slot], bytes);
      if (!p)
        {
          work->out_of_memory = TRUE;
          return NULL;
        }
      work->buf[slot] = p;
      work->size[slot] = bytes;
    }
  return work->buf[slot];
}

void
ns_loss_work_clear (NsLossWork *work)
{
  for (int i = 0; i < NS_LOSS_WORK_SLOTS; i++)
    g_free (work->buf[i]);
  memset (work, 0, sizeof *work);
}

int
ns_patches_grid (int *pos, int h, int w, int stride, int oy, int ox)
{
  int n = 0;
  for (int y = oy; y < h; y += stride)
    for (int x = ox; x < w; x += stride)
      {
        pos[2 * n] = y;
        pos[2 * n + 1] = x;
        n++;
      }
  return n;
}

void
ns_patches_gather (float *cols, const float *img, int c, int h, int w,
                   int k, const int *pos, int n)
{
  int r = k / 2, d = c * k * k;
  for (int i = 0; i < n; i++)
    {
      float *col = cols + (size_t) i * d;
      int py = pos[2 * i], px = pos[2 * i + 1];
      gboolean inside = py >= r && py + r < h && px >= r && px + r < w;
      for (int ch = 0; ch < c; ch++)
        {
          const float *plane = img + (size_t) ch * h * w;
          for (int dy = 0; dy < k; dy++)
            {
              int y = inside ? py + dy - r : ns_reflect_index (py + dy - r, h);
              const float *row = plane + (size_t) y * w;
              if (inside)
                memcpy (col, row + px - r, sizeof (float) * k);
              else
                for (int dx = 0; dx < k; dx++)
                  col[dx] = row[ns_reflect_index (px + dx - r, w)];
              col += k;
            }
        }
    }
}

void
ns_patches_scatter (float *grad, const float *dcols, int c, int h, int w,
                    int k, const int *pos, int n)
{
  int r = k / 2, d = c * k * k;
  for (int i = 0; i < n; i++)
    {
      const float *col = dcols + (size_t) i * d;
      int py = pos[2 * i], px = pos[2 * i + 1];
      for (int ch = 0; ch < c; ch++)
        {
          float *plane = grad + (size_t) ch * h * w;
          for (int dy = 0; dy < k; dy++)
            {
              float *row = plane + (size_t) ns_reflect_index (py + dy - r, h) * w;
              for (int dx = 0; dx < k; dx++)
                row[ns_reflect_index (px + dx - r, w)] += col[dx];
              col += k;
            }
        }
    }
}

/* Order-preserving map of a float onto an unsigned key. */
static inline guint32
float_key (float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static inline float
key_float (guint32 u)
{
  u = (u & 0x80000000u) ? u & 0x7fffffffu : ~u;
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

/* LSD radix sort of n keys (11 bits per pass), carrying idx when not NULL.
 * Stable and deterministic; tmp_key/tmp_idx hold n each. */
static void
radix_sort (guint32 *key, guint32 *idx, guint32 *tmp_key, guint32 *tmp_idx, int n)
{
  static const int shifts[3] = { 0, 11, 22 };
  for (int pass = 0; pass < 3; pass++)
    {
      int shift = shifts[pass];
      guint32 count[2048] = { 0 };
      for (int i = 0; i < n; i++)
        count[(key[i] >> shift) & 2047]++;
      guint32 sum = 0;
      for (int b = 0; b < 2048; b++)
        {
          guint32 c = count[b];
          count[b] = sum;
          sum += c;
        }
      for (int i = 0; i < n; i++)
        {
          guint32 dst = count[(key[i] >> shift) & 2047]++;
          tmp_key[dst] = key[i];
          if (idx)
            tmp_idx[dst] = idx[i];
        }
      guint32 *t = key;
      key = tmp_key;
      tmp_key = t;
      if (idx)
        {
          t = idx;
          idx = tmp_idx;
          tmp_idx = t;
        }
    }
  /* three passes: the sorted data sits in the tmp arrays; copy it home */
  memcpy (tmp_key, key, sizeof (guint32) * n);
  if (idx)
    memcpy (tmp_idx, idx, sizeof (guint32) * n);
}

/* Directions j0..j1-1 of the quantile matching in ns_loss_swd. */
typedef struct
{
  float         *proj;
  const float   *sproj;
  int            n, ns, nmax, m, j0, j1;
  double         gscale;
  guint32       *keys, *idx;    /* 2 * nmax each */
  float         *svals;         /* ns */
  double         loss;          /* out: sum of squared differences */
} SortHalf;

/* below this many projected values a second thread costs more than it saves */
#define PARALLEL_MIN_WORK (1 << 16)

static void
sort_half (SortHalf *t)
{
  const int n = t->n, ns = t->ns, nmax = t->nmax, m = t->m;
  guint32 *keys = t->keys, *idx = t->idx;
  double loss = 0;
  for (int j = t->j0; j < t->j1; j++)
    {
      for (int i = 0; i < ns; i++)
        keys[i] = float_key (t->sproj[(size_t) i * m + j]);
      radix_sort (keys, NULL, keys + nmax, NULL, ns);
      for (int i = 0; i < ns; i++)
        t->svals[i] = key_float (keys[i]);
      for (int i = 0; i < n; i++)
        {
          keys[i] = float_key (t->proj[(size_t) i * m + j]);
          idx[i] = i;
        }
      radix_sort (keys, idx, keys + nmax, idx + nmax, n);
      for (int r = 0; r < n; r++)
        {
          int q = (int) (((gint64) 2 * r + 1) * ns / (2 * (gint64) n));
          float *v = t->proj + (size_t) idx[r] * m + j;
          double diff = (double) *v - t->svals[q];
          loss += diff * diff;
          *v = (float) (t->gscale * diff);
        }
    }
  t->loss = loss;
}

static gpointer
sort_half_thread (gpointer data)
{
  sort_half (data);
  return NULL;
}

/* proj[n][m] = patches(pos) . dirs[d][m], CHUNK patches at a time */
static void
project (float *proj, float *cols, const float *img, int c, int h, int w, int k,
         const int *pos, int n, const float *dirs, int m)
{
  int d = c * k * k;
  for (int i0 = 0; i0 < n; i0 += CHUNK)
    {
      int nb = MIN (CHUNK, n - i0);
      ns_patches_gather (cols, img, c, h, w, k, pos + 2 * i0, nb);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, m, d,
                   1.0f, cols, d, dirs, m, 0.0f, proj + (size_t) i0 * m, m);
    }
}

double
ns_loss_swd (float *grad, float scale, const float *x, int c, int h, int w,
             const float *style, int sh, int sw,
             const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work)
{
  int k = cfg->patch, m = cfg->projections, d = c * k * k;
  int max_n = MAX (1, cfg->max_samples);

  /* x: a grid of at most max_n patches at a random offset */
  int stride = 1;
  while ((gint64) ((h + stride - 1) / stride) * ((w + stride - 1) / stride) > max_n)
    stride++;
  int oy = ns_rng_below (rng, MIN (stride, h)), ox = ns_rng_below (rng, MIN (stride, w));
  int n = ((h - oy + stride - 1) / stride) * ((w - ox + stride - 1) / stride);
  /* style: every patch, or max_n random ones */
  gint64 s_all = (gint64) sh * sw;
  int ns = (int) MIN (s_all, (gint64) max_n);
  int nmax = MAX (n, ns);

  float *dirs = ns_loss_work_get (work, 0, sizeof (float) * d * m);
  int *pos = ns_loss_work_get (work, 1, sizeof (int) * 2 * (size_t) nmax);
  float *cols = ns_loss_work_get (work, 2, sizeof (float) * (size_t) CHUNK * d);
  float *proj = ns_loss_work_get (work, 3, sizeof (float) * (size_t) n * m);
  float *sproj = ns_loss_work_get (work, 4, sizeof (float) * (size_t) ns * m);
  /* sort buffers for each of the two halves of the directions */
  guint32 *keys = ns_loss_work_get (work, 5, sizeof (guint32) * 4 * (size_t) nmax);
  guint32 *idx = ns_loss_work_get (work, 6, sizeof (guint32) * 4 * (size_t) nmax);
  float *svals = ns_loss_work_get (work, 7, sizeof (float) * 2 * (size_t) ns);
  if (!dirs || !pos || !cols || !proj || !sproj || !keys || !idx || !svals)
    return 0.0;

  /* random unit directions, redrawn every call */
  for (int i = 0; i < d * m; i++)
    dirs[i] = ns_rng_normal (rng);
  for (int j = 0; j < m; j++)
    {
      double norm = 0;
      for (int i = 0; i < d; i++)
        norm += (double) dirs[i * m + j] * dirs[i * m + j];
      float inv = (float) (1.0 / sqrt (MAX (norm, 1e-20)));
      for (int i = 0; i < d; i++)
        dirs[i * m + j] *= inv;
    }

  if (s_all <= max_n)
    ns_patches_grid (pos, sh, sw, 1, 0, 0);
  else
    for (int i = 0; i < ns; i++)
      {
        pos[2 * i] = ns_rng_below (rng, sh);
        pos[2 * i + 1] = ns_rng_below (rng, sw);
      }
  project (sproj, cols, style, c, sh, sw, k, pos, ns, dirs, m);
  /* stratified: one patch at a random place in each stride x stride cell,
   * so no pixel is covered more often than its neighbours on average and
   * the gradient carries no grid of period `stride` */
  ns_patches_grid (pos, h, w, stride, oy, ox);
  if (stride > 1)
    for (int i = 0; i < n; i++)
      {
        pos[2 * i] = MIN (h - 1, pos[2 * i] + (int) ns_rng_below (rng, stride));
        pos[2 * i + 1] = MIN (w - 1, pos[2 * i + 1] + (int) ns_rng_below (rng, stride));
      }
  project (proj, cols, x, c, h, w, k, pos, n, dirs, m);

  /* per direction: sort both sides, pair equal quantiles; proj becomes
   * dL/dproj in place.  The directions are independent, so two threads
   * take half each (the sorts are a third of the optimisation path's time
   * and OpenBLAS has nothing to do here); each half sums its own loss and
   * the halves are added in a fixed order, so the result does not depend
   * on the timing. */
  SortHalf half[2];
  int n_halves = n * (gint64) m >= PARALLEL_MIN_WORK && g_get_num_processors () > 1 ? 2 : 1;
  for (int t = 0; t < n_halves; t++)
    half[t] = (SortHalf) {
      .proj = proj, .sproj = sproj, .n = n, .ns = ns, .nmax = nmax, .m = m,
      .j0 = m * t / n_halves, .j1 = m * (t + 1) / n_halves,
      .gscale = 2.0 * scale / ((double) n * m),
      .keys = keys + (size_t) t * 2 * nmax, .idx = idx + (size_t) t * 2 * nmax,
      .svals = svals + (size_t) t * ns,
    };
  GThread *helper = n_halves > 1 ? g_thread_try_new ("ns-swd", sort_half_thread, &half[1], NULL)
                                 : NULL;
  sort_half (&half[0]);
  if (n_halves > 1)
    {
      if (helper)
        g_thread_join (helper);
      else
        sort_half (&half[1]);   /* no thread to be had: do it here */
    }
  double loss = 0;
  for (int t = 0; t < n_halves; t++)
    loss += half[t].loss;
  loss /= (double) n * m;

  if (grad)
    for (int i0 = 0; i0 < n; i0 += CHUNK)
      {
        int nb = MIN (CHUNK, n - i0);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nb, d, m,
                     1.0f, proj + (size_t) i0 * m, m, dirs, m, 0.0f, cols, d);
        ns_patches_scatter (grad, cols, c, h, w, k, pos + 2 * i0, nb);
      }
  return loss;
}

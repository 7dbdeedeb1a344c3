/* Patch extraction and the sliced Wasserstein distance between the patch
 * distributions of an image and of a style (Heitz et al. 2021; Elnekave &
 * Weiss 2022), on raw colours or on feature maps. */
#include "ns_loss.h"
#include "ns_imgproc.h"
#include "ns_blas.h"
#include "ns_parallel.h"
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

/* k floats from src: a call to memcpy for each 7-float row of a patch
 * cost more than the copy (~4 % of a training step), so the trainer's
 * patch size is copied inline */
static inline void
copy_patch_row (float *dst, const float *src, int k)
{
  if (k == 7)
    memcpy (dst, src, sizeof (float) * 7);
  else
    memcpy (dst, src, sizeof (float) * k);
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
                copy_patch_row (col, row + px - r, k);
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
      gboolean inside = py >= r && py + r < h && px >= r && px + r < w;
      for (int ch = 0; ch < c; ch++)
        {
          float *plane = grad + (size_t) ch * h * w;
          for (int dy = 0; dy < k; dy++)
            {
              if (inside)
                {
                  float *row = plane + (size_t) (py + dy - r) * w + px - r;
                  for (int dx = 0; dx < k; dx++)
                    row[dx] += col[dx];
                }
              else
                {
                  float *row = plane + (size_t) ns_reflect_index (py + dy - r, h) * w;
                  for (int dx = 0; dx < k; dx++)
                    row[ns_reflect_index (px + dx - r, w)] += col[dx];
                }
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
 * Stable and deterministic; tmp_key/tmp_idx hold n each.  The three
 * passes' counts come from one read of the keys; the sorted keys (and idx)
 * end in tmp_key (tmp_idx). */
static void
radix_sort (guint32 *key, guint32 *idx, guint32 *tmp_key, guint32 *tmp_idx, int n)
{
  guint32 cnt[3][2048];
  memset (cnt, 0, sizeof cnt);
  for (int i = 0; i < n; i++)
    {
      guint32 k = key[i];
      cnt[0][k & 2047]++;
      cnt[1][(k >> 11) & 2047]++;
      cnt[2][k >> 22]++;
    }
  for (int pass = 0; pass < 3; pass++)
    {
      int shift = 11 * pass;
      guint32 sum = 0, *c = cnt[pass];
      for (int b = 0; b < 2048; b++)
        {
          guint32 v = c[b];
          c[b] = sum;
          sum += v;
        }
      for (int i = 0; i < n; i++)
        {
          guint32 dst = c[(key[i] >> shift) & 2047]++;
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
}

/* below this many projected values the second core costs more than it saves */
#define PARALLEL_MIN_WORK (1 << 16)

/* One call of ns_loss_swd, in three phases that each split in two halves
 * (ns_parallel2): projecting (by patches), sorting and pairing (by
 * directions), and the adjoint (by patches, half 1 into a grad of its
 * own).  The split depends on the sizes only, never on the timing or on
 * the number of cores, so the bytes do not either. */
typedef struct
{
  enum { PROJECT, MATCH, ADJOINT } phase;
  const float   *x, *style;
  int            c, h, w, sh, sw, k, d, m, n, ns, nmax;
  const int     *pos, *spos;
  const float   *dirs;
  float         *proj, *sproj;  /* [m][n], [m][ns]; proj becomes dL/dproj in MATCH */
  float         *cols[2];       /* CHUNK patches each */
  guint32       *keys[2], *idx[2];  /* 2 * nmax each */
  float         *svals;         /* [m][ns]: the style's sorted projections */
  float          bin_width;     /* cfg->bin_width */
  guint32       *count[2];      /* NS_SWD_MAX_BINS each (bin_width > 0) */
  double        *ssum[2];       /* ns + 1 each: prefix sums of a row of svals */
  gboolean       fresh;         /* svals still to be made from sproj */
  float         *grad[2];       /* grad[1]: half 1's, zeroed, added after */
  double         gscale;
  double         loss[2];       /* sums of squared differences */
} Swd;

/* proj[j][i] = patches(pos[i]) . dirs[.][j] for i in i0..i1-1 (of n), CHUNK
 * at a time; direction-major, so each direction's sort reads a row */
static void
project (float *proj, int n, float *cols, const float *img, int c, int h, int w,
         int k, const int *pos, int i0, int i1, const float *dirs, int m)
{
  int d = c * k * k;
  for (; i0 < i1; i0 += CHUNK)
    {
      int nb = MIN (CHUNK, i1 - i0);
      ns_patches_gather (cols, img, c, h, w, k, pos + 2 * i0, nb);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasTrans, m, nb, d,
                   1.0f, dirs, m, cols, d, 0.0f, proj + i0, n);
    }
}

/* x's side of direction j through bins (bin_width > 0): every value in
 * a bin moves toward the mean of the style's values over the quantiles the
 * bin covers.  Leaves dL/dproj in proj; returns the sum of squared
 * differences. */
static double
match_bins (Swd *t, int half, float *proj, const float *svals)
{
  const int n = t->n, ns = t->ns;
  guint32 *count = t->count[half];
  double *ssum = t->ssum[half];
  float lo = proj[0], hi = proj[0];
  for (int i = 1; i < n; i++)
    {
      lo = MIN (lo, proj[i]);
      hi = MAX (hi, proj[i]);
    }
  double width = MAX ((double) t->bin_width, ((double) hi - lo) / NS_SWD_MAX_BINS);
  int nb = MIN (NS_SWD_MAX_BINS, (int) (((double) hi - lo) / width) + 1);
  double inv = 1.0 / width;
  memset (count, 0, sizeof (guint32) * nb);
  for (int i = 0; i < n; i++)
    count[MIN (nb - 1, (int) ((proj[i] - lo) * inv))]++;
  ssum[0] = 0;
  for (int q = 0; q < ns; q++)
    ssum[q + 1] = ssum[q] + svals[q];
  /* bin b holds x's ranks [r0, r1): the style's quantiles [q0, q1) */
  float *target = (float *) (count + NS_SWD_MAX_BINS);
  for (int b = 0, r0 = 0; b < nb; r0 += count[b], b++)
    {
      if (!count[b])
        continue;
      int r1 = r0 + (int) count[b];
      int q0 = (int) ((gint64) r0 * ns / n), q1 = (int) ((gint64) r1 * ns / n);
      if (q1 <= q0)   /* fewer style values than x's: the one at the middle */
        target[b] = svals[MIN (ns - 1, (int) (((gint64) r0 + r1) * ns / (2 * (gint64) n)))];
      else
        target[b] = (float) ((ssum[q1] - ssum[q0]) / (q1 - q0));
    }
  double loss = 0;
  for (int i = 0; i < n; i++)
    {
      double diff = (double) proj[i] - target[MIN (nb - 1, (int) ((proj[i] - lo) * inv))];
      loss += diff * diff;
      proj[i] = (float) (t->gscale * diff);
    }
  return loss;
}

/* Directions j0..j1-1: sort the style's side (unless kept from an earlier
 * call) and x's, pair equal quantiles, leave dL/dproj in proj; returns the
 * sum of squared differences. */
static double
match (Swd *t, int half, int j0, int j1)
{
  const int n = t->n, ns = t->ns, nmax = t->nmax;
  guint32 *keys = t->keys[half], *idx = t->idx[half];
  double loss = 0;
  for (int j = j0; j < j1; j++)
    {
      float *svals = t->svals + (size_t) j * ns;
      float *proj = t->proj + (size_t) j * n;
      const float *sproj = t->sproj + (size_t) j * ns;
      if (t->fresh)
        {
          for (int i = 0; i < ns; i++)
            keys[i] = float_key (sproj[i]);
          radix_sort (keys, NULL, keys + nmax, NULL, ns);
          for (int i = 0; i < ns; i++)
            svals[i] = key_float (keys[nmax + i]);
        }
      if (t->bin_width > 0)
        {
          loss += match_bins (t, half, proj, svals);
          continue;
        }
      for (int i = 0; i < n; i++)
        {
          keys[i] = float_key (proj[i]);
          idx[i] = i;
        }
      radix_sort (keys, idx, keys + nmax, idx + nmax, n);
      const guint32 *order = idx + nmax;
      for (int r = 0; r < n; r++)
        {
          int q = (int) (((gint64) 2 * r + 1) * ns / (2 * (gint64) n));
          float *v = proj + order[r];
          double diff = (double) *v - svals[q];
          loss += diff * diff;
          *v = (float) (t->gscale * diff);
        }
    }
  return loss;
}

static void
swd_half (gpointer data, int half)
{
  Swd *t = data;
  switch (t->phase)
    {
    case PROJECT:
      if (t->fresh)
        project (t->sproj, t->ns, t->cols[half], t->style, t->c, t->sh, t->sw, t->k, t->spos,
                 t->ns * half / 2, t->ns * (half + 1) / 2, t->dirs, t->m);
      project (t->proj, t->n, t->cols[half], t->x, t->c, t->h, t->w, t->k, t->pos,
               t->n * half / 2, t->n * (half + 1) / 2, t->dirs, t->m);
      break;
    case MATCH:
      t->loss[half] = match (t, half, t->m * half / 2, t->m * (half + 1) / 2);
      break;
    case ADJOINT:
      for (int i0 = t->n * half / 2, i1 = t->n * (half + 1) / 2; i0 < i1; i0 += CHUNK)
        {
          int nb = MIN (CHUNK, i1 - i0);
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasTrans, nb, t->d, t->m, 1.0f,
                       t->proj + i0, t->n, t->dirs, t->m, 0.0f, t->cols[half], t->d);
          ns_patches_scatter (t->grad[half], t->cols[half], t->c, t->h, t->w, t->k,
                              t->pos + 2 * i0, nb);
        }
      break;
    }
}

static void
run_phase (Swd *t, int phase, gboolean parallel)
{
  t->phase = phase;
  if (parallel)
    ns_parallel2 (swd_half, t);
  else
    {
      swd_half (t, 0);
      swd_half (t, 1);
    }
}

void
ns_swd_kept_clear (NsSwdKept *kept)
{
  g_free (kept->dirs);
  g_free (kept->svals);
  memset (kept, 0, sizeof *kept);
}

double
ns_loss_swd (float *grad, float scale, const float *x, int c, int h, int w,
             const float *style, int sh, int sw,
             const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work)
{
  return ns_loss_swd_kept (grad, scale, x, c, h, w, style, sh, sw, cfg, rng, work, NULL, 1);
}

double
ns_loss_swd_kept (float *grad, float scale, const float *x, int c, int h, int w,
                  const float *style, int sh, int sw,
                  const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work,
                  NsSwdKept *kept, int keep_calls)
{
  int k = cfg->patch, m = cfg->projections, d = c * k * k;
  int max_n = MAX (1, cfg->max_samples);

  /* x: a grid of at most max_n patches at a random offset; every patch
   * with bins, which cost a pass over them instead of a sort: a sparse
   * draw pulls a scattered few pixels each call, and those become dots */
  int stride = 1;
  while (cfg->bin_width <= 0
         && (gint64) ((h + stride - 1) / stride) * ((w + stride - 1) / stride) > max_n)
    stride++;
  int oy = ns_rng_below (rng, MIN (stride, h)), ox = ns_rng_below (rng, MIN (stride, w));
  int n = ((h - oy + stride - 1) / stride) * ((w - ox + stride - 1) / stride);
  /* style: every patch, or max_n random ones */
  gint64 s_all = (gint64) sh * sw;
  int ns = (int) MIN (s_all, (gint64) max_n);
  int nmax = cfg->bin_width > 0 ? ns : MAX (n, ns);   /* the sorts' length */
  size_t plane = (size_t) c * h * w;

  /* the directions and the style's sorted projections: kept from an
   * earlier call, or drawn and made now */
  gboolean fresh = !kept || kept->calls_left <= 0 || kept->d != d || kept->m != m
                   || kept->ns != ns;
  if (kept && fresh)
    {
      ns_swd_kept_clear (kept);
      kept->dirs = g_try_malloc_n ((gsize) d * m, sizeof (float));
      kept->svals = g_try_malloc_n ((gsize) m * ns, sizeof (float));
      if (!kept->dirs || !kept->svals)
        {
          ns_swd_kept_clear (kept);
          work->out_of_memory = TRUE;
          return 0.0;
        }
      *kept = (NsSwdKept) { kept->dirs, kept->svals, d, m, ns, MAX (1, keep_calls) };
    }
  float *dirs = kept ? kept->dirs : ns_loss_work_get (work, 0, sizeof (float) * d * m);
  int *pos = ns_loss_work_get (work, 1, sizeof (int) * 2 * ((size_t) n + ns));
  float *cols = ns_loss_work_get (work, 2, sizeof (float) * 2 * (size_t) CHUNK * d);
  float *proj = ns_loss_work_get (work, 3, sizeof (float) * (size_t) n * m);
  float *sproj = ns_loss_work_get (work, 4, sizeof (float) * (size_t) ns * m);
  /* sort buffers for each of the two halves of the directions */
  guint32 *keys = ns_loss_work_get (work, 5, sizeof (guint32) * 4 * (size_t) nmax);
  guint32 *idx = ns_loss_work_get (work, 6, sizeof (guint32) * 4 * (size_t) nmax);
  float *svals = kept ? kept->svals
                      : ns_loss_work_get (work, 7, sizeof (float) * m * (size_t) ns);
  float *grad1 = grad ? ns_loss_work_get (work, 8, sizeof (float) * plane) : NULL;
  /* per half: counts and targets of the bins, prefix sums of the style's */
  size_t bins_half = sizeof (guint32) * 2 * NS_SWD_MAX_BINS + sizeof (double) * ((size_t) ns + 1);
  char *bins = cfg->bin_width > 0 ? ns_loss_work_get (work, NS_SWD_BINS_SLOT, 2 * bins_half)
                                  : NULL;
  if (!dirs || !pos || !cols || !proj || !sproj || !keys || !idx || !svals
      || (grad && !grad1) || (cfg->bin_width > 0 && !bins))
    return 0.0;
  int *spos = pos + 2 * (size_t) n;

  if (kept)
    kept->calls_left--;
  /* random unit directions */
  for (int i = 0; fresh && i < d * m; i++)
    dirs[i] = ns_rng_normal (rng);
  for (int j = 0; fresh && j < m; j++)
    {
      double norm = 0;
      for (int i = 0; i < d; i++)
        norm += (double) dirs[i * m + j] * dirs[i * m + j];
      float inv = (float) (1.0 / sqrt (MAX (norm, 1e-20)));
      for (int i = 0; i < d; i++)
        dirs[i * m + j] *= inv;
    }

  if (!fresh)
    ;
  else if (s_all <= ns)
    ns_patches_grid (spos, sh, sw, 1, 0, 0);
  else
    for (int i = 0; i < ns; i++)
      {
        spos[2 * i] = ns_rng_below (rng, sh);
        spos[2 * i + 1] = ns_rng_below (rng, sw);
      }
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

  Swd t = {
    .x = x, .style = style, .c = c, .h = h, .w = w, .sh = sh, .sw = sw, .k = k,
    .d = d, .m = m, .n = n, .ns = ns, .nmax = nmax, .pos = pos, .spos = spos,
    .dirs = dirs, .proj = proj, .sproj = sproj,
    .cols = { cols, cols + (size_t) CHUNK * d },
    .keys = { keys, keys + 2 * (size_t) nmax }, .idx = { idx, idx + 2 * (size_t) nmax },
    .svals = svals, .fresh = fresh, .grad = { grad, grad1 },
    .bin_width = cfg->bin_width,
    .count = { (guint32 *) bins, (guint32 *) (bins + bins_half) },
    .ssum = { (double *) (bins + sizeof (guint32) * 2 * NS_SWD_MAX_BINS),
              (double *) (bins + bins_half + sizeof (guint32) * 2 * NS_SWD_MAX_BINS) },
    .gscale = 2.0 * scale / ((double) n * m),
  };
  gboolean parallel = (gint64) (n + ns) * m >= PARALLEL_MIN_WORK;
  /* the two halves share the cores: one BLAS thread each */
  int blas_threads = ns_blas_threads (1);
  run_phase (&t, PROJECT, parallel);
  run_phase (&t, MATCH, parallel);
  double loss = (t.loss[0] + t.loss[1]) / ((double) n * m);
  if (grad)
    {
      memset (grad1, 0, sizeof (float) * plane);
      run_phase (&t, ADJOINT, parallel);
      for (size_t i = 0; i < plane; i++)
        grad[i] += grad1[i];
    }
  ns_blas_threads (blas_threads);
  return loss;
}

/* Losses of the optimisation path: every gradient against central
 * differences of a double-precision reference of the same loss, plus the
 * adjoint of the smooth 2x downsampling the style pyramid goes through. */
#include "ns_blas.h"
#include "ns_loss.h"
#include "ns_imgproc.h"
#include "ns_rng.h"
#include "gradcheck.h"
#include <string.h>

static void
fill_random (float *v, size_t n, guint32 seed)
{
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (size_t i = 0; i < n; i++)
    v[i] = ns_rng_uniform (&rng);
}

static void
to_double (double *dst, const float *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = src[i];
}

/* ---- the k x k x c patch at (py, px), borders mirrored, [c][k][k] -------- */
static void
ref_patch (double *out, const double *img, int c, int h, int w, int k, int py, int px)
{
  int r = k / 2;
  for (int ch = 0; ch < c; ch++)
    for (int dy = 0; dy < k; dy++)
      for (int dx = 0; dx < k; dx++)
        *out++ = img[((size_t) ch * h + ns_reflect_index (py + dy - r, h)) * w
                     + ns_reflect_index (px + dx - r, w)];
}

/* ---- SWD ------------------------------------------------------------------ */

typedef struct
{
  double *x;                 /* the variable */
  const double *style;
  int c, h, w, sh, sw;
  int k, m;
  const float *dirs;         /* [d][m], exactly the loss's directions */
  double bin_width;          /* NsSwdConfig.bin_width */
} SwdRef;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef struct { double v; int i; } Ranked;

static int
cmp_ranked (const void *a, const void *b)
{
  return cmp_double (&((const Ranked *) a)->v, &((const Ranked *) b)->v);
}

static double
swd_ref_loss (gpointer data)
{
  SwdRef *s = data;
  int d = s->c * s->k * s->k, n = s->h * s->w, ns = s->sh * s->sw;
  double *patch = g_new (double, d);
  double *sv = g_new (double, (size_t) ns * s->m);
  Ranked *xv = g_new (Ranked, (size_t) n * s->m);
  for (int i = 0; i < ns; i++)
    {
      ref_patch (patch, s->style, s->c, s->sh, s->sw, s->k, i / s->sw, i % s->sw);
      for (int j = 0; j < s->m; j++)
        {
          double acc = 0;
          for (int t = 0; t < d; t++)
            acc += patch[t] * s->dirs[t * s->m + j];
          sv[(size_t) j * ns + i] = acc;
        }
    }
  for (int i = 0; i < n; i++)
    {
      ref_patch (patch, s->x, s->c, s->h, s->w, s->k, i / s->w, i % s->w);
      for (int j = 0; j < s->m; j++)
        {
          double acc = 0;
          for (int t = 0; t < d; t++)
            acc += patch[t] * s->dirs[t * s->m + j];
          xv[(size_t) j * n + i] = (Ranked) { acc, i };
        }
    }
  double loss = 0;
  for (int j = 0; s->bin_width > 0 && j < s->m; j++)
    {
      /* bins: each value of x against the mean of the style's values over
       * the quantiles its bin covers */
      double *svj = sv + (size_t) j * ns;
      Ranked *xvj = xv + (size_t) j * n;
      qsort (svj, ns, sizeof (double), cmp_double);
      double lo = xvj[0].v, hi = xvj[0].v;
      for (int i = 1; i < n; i++)
        {
          lo = MIN (lo, xvj[i].v);
          hi = MAX (hi, xvj[i].v);
        }
      double width = MAX (s->bin_width, (hi - lo) / NS_SWD_MAX_BINS);
      int nb = MIN (NS_SWD_MAX_BINS, (int) ((hi - lo) / width) + 1);
      int *bin = g_new (int, n), *count = g_new0 (int, nb);
      for (int i = 0; i < n; i++)
        count[bin[i] = MIN (nb - 1, (int) ((xvj[i].v - lo) / width))]++;
      for (int i = 0; i < n; i++)
        {
          int r0 = 0;
          for (int b = 0; b < bin[i]; b++)
            r0 += count[b];
          int r1 = r0 + count[bin[i]];
          int q0 = (int) ((gint64) r0 * ns / n), q1 = (int) ((gint64) r1 * ns / n);
          double target = 0;
          if (q1 <= q0)
            target = svj[MIN (ns - 1, (int) (((gint64) r0 + r1) * ns / (2 * (gint64) n)))];
          else
            {
              for (int q = q0; q < q1; q++)
                target += svj[q];
              target /= q1 - q0;
            }
          loss += (xvj[i].v - target) * (xvj[i].v - target);
        }
      g_free (bin);
      g_free (count);
    }
  for (int j = 0; s->bin_width <= 0 && j < s->m; j++)
    {
      qsort (sv + (size_t) j * ns, ns, sizeof (double), cmp_double);
      qsort (xv + (size_t) j * n, n, sizeof (Ranked), cmp_ranked);
      for (int r = 0; r < n; r++)
        {
          int q = (int) (((gint64) 2 * r + 1) * ns / (2 * (gint64) n));
          double diff = xv[(size_t) j * n + r].v - sv[(size_t) j * ns + q];
          loss += diff * diff;
        }
    }
  g_free (patch);
  g_free (sv);
  g_free (xv);
  return loss / ((double) n * s->m);
}

/* The directions ns_loss_swd draws from rng when every patch of both sides
 * is used (stride 1, offset draws from [0, 1)), normalised as it does. */
static void
swd_directions (float *dirs, int d, int m, NsRng rng)
{
  ns_rng_below (&rng, 1);
  ns_rng_below (&rng, 1);
  for (int i = 0; i < d * m; i++)
    dirs[i] = ns_rng_normal (&rng);
  for (int j = 0; j < m; j++)
    {
      double norm = 0;
      for (int i = 0; i < d; i++)
        norm += (double) dirs[i * m + j] * dirs[i * m + j];
      float inv = (float) (1.0 / sqrt (MAX (norm, 1e-20)));
      for (int i = 0; i < d; i++)
        dirs[i * m + j] *= inv;
    }
}

static void
check_swd (int c, int h, int w, int sh, int sw, int k, int m, float bin_width)
{
  size_t len = (size_t) c * h * w, slen = (size_t) c * sh * sw;
  g_autofree float *x = g_new (float, len);
  g_autofree float *style = g_new (float, slen);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 11 + k);
  fill_random (style, slen, 12 + k);
  NsRng rng;
  ns_rng_init (&rng, 5);
  NsRng before = rng;
  NsSwdConfig cfg = { k, m, 1 << 20, bin_width };
  NsLossWork work = { 0 };
  double loss = ns_loss_swd (grad, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng, &work);
  g_assert_false (work.out_of_memory);

  int d = c * k * k;
  g_autofree float *dirs = g_new (float, (size_t) d * m);
  swd_directions (dirs, d, m, before);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *sd = g_new (double, slen);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  to_double (sd, style, slen);
  SwdRef ref = { xd, sd, c, h, w, sh, sw, k, m, dirs, bin_width };
  double ref_loss = swd_ref_loss (&ref);
  g_assert_cmpfloat (fabs (loss - ref_loss), <=, 1e-5 * ref_loss);
  gc_numeric_grad (num, xd, len, swd_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("swd k=%d %dx%dx%d vs %dx%d, bins %g: loss %.6g, gradient error %.2e",
                  k, c, h, w, sh, sw, bin_width, loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  ns_loss_work_clear (&work);
}

static void
test_swd_gradient (void)
{
  check_swd (3, 6, 5, 7, 6, 3, 8, 0);    /* patches, style of another size */
  check_swd (3, 5, 7, 5, 7, 1, 6, 0);    /* single pixels: the palette term */
  check_swd (2, 9, 4, 3, 8, 5, 4, 0);    /* patches larger than a side: mirrored */
  /* bins: a few values share each, the style larger (means over several
   * quantiles) and smaller (one value at the middle) than x */
  check_swd (3, 6, 7, 9, 8, 1, 6, 0.05f);
  check_swd (3, 9, 8, 4, 5, 1, 6, 0.05f);
  check_swd (3, 6, 5, 7, 6, 3, 8, 0.2f);  /* patches too */
}

/* A flat area (values closer than a bin) against a style of two colours
 * (a quarter dark):
 * with bins every pixel gets the same pull and the area moves as one;
 * the sort sends half of it to each colour by its noise, which the
 * optimiser turns into dots. */
static void
test_swd_bins_flat_area_moves_as_one (void)
{
  const int c = 3, h = 16, w = 16, n = h * w;
  g_autofree float *x = g_new (float, c * n), *style = g_new (float, c * n),
                   *noise = g_new (float, c * n), *grad = g_new (float, c * n);
  fill_random (noise, c * n, 31);
  for (int i = 0; i < c * n; i++)
    {
      x[i] = 0.5f + 1e-4f * noise[i];
      style[i] = (i % n) % 4 ? 0.9f : 0.1f;
    }
  for (int bins = 0; bins < 2; bins++)
    {
      NsSwdConfig cfg = { 1, 8, 1 << 20, bins ? 1.0f / 512 : 0 };
      NsLossWork work = { 0 };
      NsRng rng;
      ns_rng_init (&rng, 4);
      memset (grad, 0, sizeof (float) * c * n);
      ns_loss_swd (grad, 1.0f, x, c, h, w, style, h, w, &cfg, &rng, &work);
      ns_loss_work_clear (&work);
      /* spread of the pull over the pixels, against its size */
      double mean[3] = { 0 }, spread = 0, size = 0;
      for (int ch = 0; ch < c; ch++)
        {
          for (int i = 0; i < n; i++)
            mean[ch] += grad[ch * n + i] / n;
          for (int i = 0; i < n; i++)
            {
              spread = MAX (spread, fabs (grad[ch * n + i] - mean[ch]));
              size = MAX (size, fabs (grad[ch * n + i]));
            }
        }
      g_test_message ("%s: largest pull %.3g, largest difference from the mean %.3g",
                      bins ? "bins" : "sort", size, spread);
      if (bins)
        g_assert_cmpfloat (spread, <, 1e-3 * size);
      else
        g_assert_cmpfloat (spread, >, 0.5 * size);
    }
}

/* The style against itself: the distance is zero, whatever the draws. */
static void
test_swd_zero_on_style (void)
{
  int c = 3, h = 12, w = 10;
  g_autofree float *x = g_new (float, c * h * w);
  fill_random (x, c * h * w, 3);
  NsRng rng;
  ns_rng_init (&rng, 1);
  NsSwdConfig cfg = { 5, 16, 1 << 20, 0 };
  NsLossWork work = { 0 };
  double loss = ns_loss_swd (NULL, 1.0f, x, c, h, w, x, h, w, &cfg, &rng, &work);
  g_assert_cmpfloat (loss, <, 1e-12);
  ns_loss_work_clear (&work);
}

/* At the optimisation path's sizes the directions are split over two
 * threads: the gradient must still be the loss's derivative.  A full
 * central-difference check is too slow at this size, so the derivative
 * along a few directions v is checked instead: the same rng state
 * draws the same projections and samples for every evaluation, and
 * (L(x + eps v) - L(x - eps v)) / 2 eps must match <grad, v>. */
static void
test_swd_gradient_large (void)
{
  const int c = 3, h = 80, w = 72, sh = 60, sw = 64;
  const size_t len = (size_t) c * h * w;
  g_autofree float *x = g_new (float, len), *style = g_new (float, c * sh * sw),
                   *grad = g_new0 (float, len), *xp = g_new (float, len),
                   *v = g_new (float, len);
  fill_random (x, len, 11);
  fill_random (style, c * sh * sw, 12);
  NsSwdConfig cfg = { 7, 64, 1 << 15, 0 };   /* 5760 x 64 projections: threaded */
  NsLossWork work = { 0 };
  NsRng rng0, rng;
  ns_rng_init (&rng0, 5);
  rng = rng0;
  ns_loss_swd (grad, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng, &work);
  /* the same call again gives the same bytes (no dependence on timing) */
  g_autofree float *grad2 = g_new0 (float, len);
  rng = rng0;
  ns_loss_swd (grad2, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng, &work);
  g_assert_cmpmem (grad, len * sizeof (float), grad2, len * sizeof (float));
  /* directions: the gradient itself plus growing random parts (a random
   * direction alone is nearly orthogonal to it, and its derivative drowns
   * in rounding) */
  float gmax = 0;
  for (size_t i = 0; i < len; i++)
    gmax = MAX (gmax, fabsf (grad[i]));
  for (int trial = 0; trial < 3; trial++)
    {
      fill_random (v, len, 100 + trial);
      double dot = 0;
      for (size_t i = 0; i < len; i++)
        {
          v[i] = grad[i] / gmax + 0.5f * trial * (v[i] - 0.5f);
          dot += (double) grad[i] * v[i];
        }
      const float eps = 2e-2f;   /* the loss is a float mean: smaller steps drown in rounding */
      double l[2];
      for (int sgn = 0; sgn < 2; sgn++)
        {
          for (size_t i = 0; i < len; i++)
            xp[i] = x[i] + (sgn ? -eps : eps) * v[i];
          rng = rng0;
          l[sgn] = ns_loss_swd (NULL, 1.0f, xp, c, h, w, style, sh, sw, &cfg, &rng, &work);
        }
      double numeric = (l[0] - l[1]) / (2 * eps);
      double rel = fabs (numeric - dot) / MAX (fabs (numeric), fabs (dot));
      g_test_message ("direction %d: analytic %.6g, numeric %.6g, relative error %.2g",
                      trial, dot, numeric, rel);
      g_assert_cmpfloat (rel, <, 0.02);
    }
  ns_loss_work_clear (&work);
}

/* The style's side kept over calls: the second call draws no directions,
 * so it must equal the reference on the first call's directions. */
static void
test_swd_kept (void)
{
  const int c = 3, h = 6, w = 5, sh = 7, sw = 6, k = 3, m = 8, d = c * k * k;
  const size_t len = (size_t) c * h * w, slen = (size_t) c * sh * sw;
  g_autofree float *x = g_new (float, len), *style = g_new (float, slen),
                   *grad = g_new0 (float, len), *dirs = g_new (float, (size_t) d * m);
  fill_random (style, slen, 21);
  NsSwdConfig cfg = { k, m, 1 << 20, 0 };
  NsLossWork work = { 0 };
  NsSwdKept kept = { 0 };
  NsRng rng;
  ns_rng_init (&rng, 5);
  swd_directions (dirs, d, m, rng);
  fill_random (x, len, 22);
  ns_loss_swd_kept (NULL, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng, &work, &kept, 2);
  fill_random (x, len, 23);   /* another x, the same directions */
  double loss = ns_loss_swd_kept (grad, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng,
                                  &work, &kept, 2);
  g_assert_false (work.out_of_memory);
  g_autofree double *xd = g_new (double, len), *sd = g_new (double, slen),
                    *num = g_new (double, len);
  to_double (xd, x, len);
  to_double (sd, style, slen);
  SwdRef ref = { xd, sd, c, h, w, sh, sw, k, m, dirs, 0 };
  double ref_loss = swd_ref_loss (&ref);
  g_assert_cmpfloat (fabs (loss - ref_loss), <=, 1e-5 * ref_loss);
  gc_numeric_grad (num, xd, len, swd_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("kept directions: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  /* the third call draws new directions: another loss on the same x */
  double third = ns_loss_swd_kept (NULL, 1.0f, x, c, h, w, style, sh, sw, &cfg, &rng,
                                   &work, &kept, 2);
  g_assert_cmpfloat (fabs (third - loss), >, 1e-6 * loss);
  ns_swd_kept_clear (&kept);
  ns_loss_work_clear (&work);
}

/* ---- random features: relu(conv(x)) then the SWD of the feature vectors --- */

typedef struct
{
  double *x;
  const NsRandomFeatures *rf;
  int h, w;
  SwdRef swd;             /* over the features; swd.x is filled here */
} RfRef;

static void
ref_features (double *feat, const double *x, const NsRandomFeatures *rf, int h, int w)
{
  int k = rf->k, r = k / 2;
  for (int o = 0; o < rf->out_c; o++)
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++)
        {
          double acc = rf->bias[o];
          for (int c = 0; c < rf->in_c; c++)
            for (int dy = 0; dy < k; dy++)
              for (int dx = 0; dx < k; dx++)
                acc += rf->weight[((o * rf->in_c + c) * k + dy) * k + dx]
                       * x[((size_t) c * h + ns_reflect_index (y + dy - r, h)) * w
                           + ns_reflect_index (xx + dx - r, w)];
          feat[((size_t) o * h + y) * w + xx] = MAX (acc, 0.0);
        }
}

static double
rf_ref_loss (gpointer data)
{
  RfRef *r = data;
  ref_features (r->swd.x, r->x, r->rf, r->h, r->w);
  return swd_ref_loss (&r->swd);
}

static void
test_random_features_gradient (void)
{
  int h = 6, w = 7, sh = 5, sw = 8, out_c = 6, m = 8;
  size_t len = (size_t) 3 * h * w;
  NsRandomFeatures rf;
  g_assert_true (ns_random_features_init (&rf, 3, out_c, 3, 99, NULL));
  g_autofree float *x = g_new (float, len);
  g_autofree float *style = g_new (float, 3 * sh * sw);
  g_autofree float *style_feat = g_new (float, out_c * sh * sw);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 61);
  fill_random (style, 3 * sh * sw, 62);
  NsLossWork work = { 0 };
  g_assert_true (ns_random_features_forward (&rf, style_feat, style, sh, sw, &work));
  NsRng rng;
  ns_rng_init (&rng, 9);
  NsRng before = rng;
  NsSwdConfig cfg = { 7, m, 1 << 20, 0 };    /* the patch size is ignored: 1 */
  double loss = ns_loss_random_features (grad, 1.0f, x, h, w, style_feat, sh, sw,
                                         &rf, &cfg, &rng, &work);
  g_assert_false (work.out_of_memory);

  g_autofree float *dirs = g_new (float, out_c * m);
  swd_directions (dirs, out_c, m, before);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *feat = g_new (double, (size_t) out_c * h * w);
  g_autofree double *sfeat = g_new (double, (size_t) out_c * sh * sw);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  to_double (sfeat, style_feat, (size_t) out_c * sh * sw);
  RfRef ref = { xd, &rf, h, w, { feat, sfeat, out_c, h, w, sh, sw, 1, m, dirs, 0 } };
  double ref_loss = rf_ref_loss (&ref);
  g_assert_cmpfloat (fabs (loss - ref_loss), <=, 1e-4 * ref_loss);
  gc_numeric_grad (num, xd, len, rf_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("random features: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  ns_loss_work_clear (&work);
  ns_random_features_clear (&rf);
}

/* ---- Gram ----------------------------------------------------------------- */

typedef struct
{
  double *x;
  const float *target;
  int c, h, w, k;
} GramRef;

static double
gram_ref_loss (gpointer data)
{
  GramRef *g = data;
  int d = g->c * g->k * g->k, n = g->h * g->w;
  double *patch = g_new (double, d);
  double *gram = g_new0 (double, (size_t) d * d);
  for (int i = 0; i < n; i++)
    {
      ref_patch (patch, g->x, g->c, g->h, g->w, g->k, i / g->w, i % g->w);
      for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
          gram[a * d + b] += patch[a] * patch[b] / n;
    }
  double loss = 0;
  for (int i = 0; i < d * d; i++)
    loss += (gram[i] - g->target[i]) * (gram[i] - g->target[i]);
  g_free (patch);
  g_free (gram);
  return loss / ((double) d * d);
}

static void
test_gram_gradient (void)
{
  int c = 3, h = 6, w = 7, k = 3, d = c * k * k;
  size_t len = (size_t) c * h * w;
  g_autofree float *x = g_new (float, len);
  g_autofree float *style = g_new (float, c * 8 * 5);
  g_autofree float *target = g_new (float, d * d);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 21);
  fill_random (style, c * 8 * 5, 22);
  NsLossWork work = { 0 };
  g_assert_true (ns_gram_target (target, style, c, 8, 5, k, 1 << 20, &work));
  NsRng rng;
  ns_rng_init (&rng, 2);
  double loss = ns_loss_gram (grad, 1.0f, x, c, h, w, target, k, 1 << 20, &rng, &work);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  GramRef ref = { xd, target, c, h, w, k };
  g_assert_cmpfloat (fabs (loss - gram_ref_loss (&ref)), <=, 1e-4 * loss);
  gc_numeric_grad (num, xd, len, gram_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("gram: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  ns_loss_work_clear (&work);
}

/* ---- structure (blurred luminance) ---------------------------------------- */

typedef struct
{
  double *x;
  const float *target;
  int h, w;
  double sigma;
} ContentRef;

static void
ref_blur (double *dst, const double *src, int h, int w, double sigma)
{
  int r = MIN (32, (int) ceilf (3.0f * (float) sigma));
  double k[65], sum = 0;
  for (int t = -r; t <= r; t++)
    sum += k[t + r] = exp (-(double) (t * t) / (2 * sigma * sigma));
  double *tmp = g_new (double, (size_t) h * w);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double acc = 0;
        for (int t = -r; t <= r; t++)
          acc += k[t + r] / sum * src[y * w + ns_reflect_index (x + t, w)];
        tmp[y * w + x] = acc;
      }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double acc = 0;
        for (int t = -r; t <= r; t++)
          acc += k[t + r] / sum * tmp[ns_reflect_index (y + t, h) * w + x];
        dst[y * w + x] = acc;
      }
  g_free (tmp);
}

static double
content_ref_loss (gpointer data)
{
  ContentRef *c = data;
  size_t n = (size_t) c->h * c->w;
  double *y = g_new (double, n), *by = g_new (double, n);
  for (size_t i = 0; i < n; i++)
    y[i] = 0.299 * c->x[i] + 0.587 * c->x[n + i] + 0.114 * c->x[2 * n + i];
  ref_blur (by, y, c->h, c->w, c->sigma);
  double loss = 0;
  for (size_t i = 0; i < n; i++)
    loss += (by[i] - c->target[i]) * (by[i] - c->target[i]);
  g_free (y);
  g_free (by);
  return loss / n;
}

static void
test_content_gradient (void)
{
  int h = 9, w = 11;
  float sigma = 1.5f;
  size_t len = (size_t) 3 * h * w;
  g_autofree float *x = g_new (float, len);
  g_autofree float *photo = g_new (float, len);
  g_autofree float *target = g_new (float, (size_t) h * w);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 31);
  fill_random (photo, len, 32);
  NsLossWork work = { 0 };
  ns_content_target (target, photo, h, w, sigma, &work);
  double loss = ns_loss_content (grad, 1.0f, x, h, w, target, sigma, &work);
  g_assert_false (work.out_of_memory);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  ContentRef ref = { xd, target, h, w, sigma };
  g_assert_cmpfloat (fabs (loss - content_ref_loss (&ref)), <=, 1e-4 * loss);
  gc_numeric_grad (num, xd, len, content_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("content: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);

  /* the photo itself has zero structure loss */
  double zero = ns_loss_content (NULL, 1.0f, photo, h, w, target, sigma, &work);
  g_assert_cmpfloat (zero, <, 1e-12);
  ns_loss_work_clear (&work);
}

/* ---- colour layout: blurred chroma ------------------------------------------ */

static double
chroma_ref_loss (gpointer data)
{
  ContentRef *c = data;
  size_t n = (size_t) c->h * c->w;
  double *ch = g_new (double, n), *bch = g_new (double, n);
  double loss = 0;
  for (int k = 0; k < 3; k++)
    {
      for (size_t i = 0; i < n; i++)
        ch[i] = c->x[k * n + i]
                - (0.299 * c->x[i] + 0.587 * c->x[n + i] + 0.114 * c->x[2 * n + i]);
      ref_blur (bch, ch, c->h, c->w, c->sigma);
      for (size_t i = 0; i < n; i++)
        loss += (bch[i] - c->target[k * n + i]) * (bch[i] - c->target[k * n + i]);
    }
  g_free (ch);
  g_free (bch);
  return loss / (3 * n);
}

static void
test_chroma_gradient (void)
{
  int h = 9, w = 11;
  float sigma = 3.0f;
  size_t n = (size_t) h * w, len = 3 * n;
  g_autofree float *x = g_new (float, len);
  g_autofree float *photo = g_new (float, len);
  g_autofree float *target = g_new (float, len);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 41);
  fill_random (photo, len, 42);
  NsLossWork work = { 0 };
  ns_chroma_target (target, photo, h, w, sigma, &work);
  double loss = ns_loss_chroma (grad, 1.0f, x, h, w, target, sigma, &work);
  g_assert_false (work.out_of_memory);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  ContentRef ref = { xd, target, h, w, sigma };
  g_assert_cmpfloat (fabs (loss - chroma_ref_loss (&ref)), <=, 1e-4 * loss);
  gc_numeric_grad (num, xd, len, chroma_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("chroma: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);

  /* brightness is the structure loss's: the photo made lighter or darker
   * by the same amount in every plane costs nothing ... */
  for (size_t i = 0; i < len; i++)
    x[i] = photo[i] + (i % n < n / 2 ? 0.2f : -0.1f);
  g_assert_cmpfloat (ns_loss_chroma (NULL, 1.0f, x, h, w, target, sigma, &work), <, 1e-12);
  /* ... a shift of hue does */
  for (size_t i = 0; i < n; i++)
    x[i] = photo[i] + 0.1f;
  g_assert_cmpfloat (ns_loss_chroma (NULL, 1.0f, x, h, w, target, sigma, &work), >, 1e-4);
  ns_loss_work_clear (&work);
}

/* ---- variation consistency: local contrast of two outputs ----------------- */

typedef struct
{
  double *ab;           /* a then b, 3 planes each: the variable */
  int     h, w;
  double  stroke_sigma, sigma;
} VariationRef;

static void
ref_local_contrast (double *r, const double *rgb, const VariationRef *v)
{
  size_t n = (size_t) v->h * v->w;
  double *y = g_new (double, n), *by = g_new (double, n);
  for (size_t i = 0; i < n; i++)
    y[i] = 0.299 * rgb[i] + 0.587 * rgb[n + i] + 0.114 * rgb[2 * n + i];
  ref_blur (by, y, v->h, v->w, v->stroke_sigma);
  for (size_t i = 0; i < n; i++)
    y[i] = (y[i] - by[i]) * (y[i] - by[i]);
  ref_blur (r, y, v->h, v->w, v->sigma);
  for (size_t i = 0; i < n; i++)
    r[i] = sqrt (r[i] + 1e-6);
  g_free (y);
  g_free (by);
}

static double
variation_ref_loss (gpointer data)
{
  VariationRef *v = data;
  size_t n = (size_t) v->h * v->w;
  double *ra = g_new (double, n), *rb = g_new (double, n), loss = 0;
  ref_local_contrast (ra, v->ab, v);
  ref_local_contrast (rb, v->ab + 3 * n, v);
  for (size_t i = 0; i < n; i++)
    loss += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  g_free (ra);
  g_free (rb);
  return loss / n;
}

static void
test_variation_gradient (void)
{
  int h = 9, w = 11;
  size_t len = (size_t) 3 * h * w;
  g_autofree float *ab = g_new (float, 2 * len);
  g_autofree float *grad = g_new0 (float, 2 * len);
  fill_random (ab, 2 * len, 51);
  NsLossWork work = { 0 };
  double loss = ns_loss_variation (grad, grad + len, 1.0f, ab, ab + len, h, w,
                                   1.5f, 2.0f, &work);
  g_assert_false (work.out_of_memory);
  g_autofree double *abd = g_new (double, 2 * len);
  g_autofree double *num = g_new (double, 2 * len);
  to_double (abd, ab, 2 * len);
  VariationRef ref = { abd, h, w, 1.5, 2.0 };
  g_assert_cmpfloat (fabs (loss - variation_ref_loss (&ref)), <=, 1e-4 * loss);
  gc_numeric_grad (num, abd, 2 * len, variation_ref_loss, &ref);
  double err = gc_rel_error (grad, num, 2 * len);
  g_test_message ("variation: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  ns_loss_work_clear (&work);
}

/* Strokes laid elsewhere cost little, a cluster of them much: a field of
 * dots on a 4 px lattice against the same lattice moved by 2 px, and
 * against the field with its dots gathered in one corner. */
static void
test_variation_spares_layout (void)
{
  int h = 48, w = 48;
  size_t n = (size_t) h * w, len = 3 * n;
  g_autofree float *a = g_new (float, len);
  g_autofree float *moved = g_new (float, len);
  g_autofree float *cluster = g_new (float, len);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int k = 0; k < 3; k++)
        {
          size_t i = (size_t) k * n + (size_t) y * w + x;
          a[i] = y % 4 == 0 && x % 4 == 0 ? 0.2f : 0.6f;
          moved[i] = y % 4 == 2 && x % 4 == 2 ? 0.2f : 0.6f;
          cluster[i] = y < 24 && x < 24 && y % 2 == 0 && x % 2 == 0 ? 0.2f : 0.6f;
        }
  NsLossWork work = { 0 };
  double l_moved = ns_loss_variation (NULL, NULL, 1.0f, a, moved, h, w, 1.5f, 4.0f, &work);
  double l_cluster = ns_loss_variation (NULL, NULL, 1.0f, a, cluster, h, w, 1.5f, 4.0f, &work);
  g_test_message ("variation: moved %.3g, clustered %.3g", l_moved, l_cluster);
  g_assert_cmpfloat (l_moved, <, 0.05 * l_cluster);
  g_assert_cmpfloat (ns_loss_variation (NULL, NULL, 1.0f, a, a, h, w, 1.5f, 4.0f, &work), ==, 0.0);
  ns_loss_work_clear (&work);
}

/* ---- strokes: SWD of high-passed luminance patches ------------------------ */

typedef struct
{
  double *x;            /* RGB, the variable */
  SwdRef  swd;          /* over the high-passed luminance */
  double  sigma;
} StrokeRef;

static void
ref_highpass (double *hp, const double *rgb, int h, int w, double sigma)
{
  size_t n = (size_t) h * w;
  double *y = g_new (double, n), *by = g_new (double, n);
  for (size_t i = 0; i < n; i++)
    y[i] = 0.299 * rgb[i] + 0.587 * rgb[n + i] + 0.114 * rgb[2 * n + i];
  ref_blur (by, y, h, w, sigma);
  for (size_t i = 0; i < n; i++)
    hp[i] = y[i] - by[i];
  g_free (y);
  g_free (by);
}

static double
stroke_ref_loss (gpointer data)
{
  StrokeRef *s = data;
  ref_highpass (s->swd.x, s->x, s->swd.h, s->swd.w, s->sigma);
  return swd_ref_loss (&s->swd);
}

static void
test_stroke_gradient (void)
{
  const int h = 7, w = 6, sh = 8, sw = 7, k = 3, m = 6;
  const float sigma = 1.5f;
  size_t len = (size_t) 3 * h * w, slen = (size_t) 3 * sh * sw;
  g_autofree float *x = g_new (float, len);
  g_autofree float *style = g_new (float, slen);
  g_autofree float *style_hp = g_new (float, (size_t) sh * sw);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, 41);
  fill_random (style, slen, 42);
  NsLossWork work = { 0 };
  g_assert_true (ns_stroke_target (style_hp, style, sh, sw, sigma, &work));
  NsRng rng;
  ns_rng_init (&rng, 9);
  NsRng before = rng;
  NsSwdConfig cfg = { k, m, 1 << 20, 0 };
  double loss = ns_loss_stroke (grad, 1.0f, x, h, w, style_hp, sh, sw, sigma, &cfg,
                                &rng, &work);
  g_assert_false (work.out_of_memory);

  g_autofree float *dirs = g_new (float, (size_t) k * k * m);
  swd_directions (dirs, k * k, m, before);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *hp = g_new (double, (size_t) h * w);
  g_autofree double *sd = g_new (double, slen);
  g_autofree double *shp = g_new (double, (size_t) sh * sw);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  to_double (sd, style, slen);
  ref_highpass (shp, sd, sh, sw, sigma);
  StrokeRef ref = { xd, { hp, shp, 1, h, w, sh, sw, k, m, dirs, 0 }, sigma };
  double ref_loss = stroke_ref_loss (&ref);
  g_assert_cmpfloat (fabs (loss - ref_loss), <=, 1e-4 * ref_loss);
  gc_numeric_grad (num, xd, len, stroke_ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("stroke: loss %.6g, gradient error %.2e", loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
  ns_loss_work_clear (&work);
}

/* What the loss is for: a flat recolour of a textured style gains nothing
 * (any flat image has the same, zero, high-pass), while the style's own
 * texture scores zero. */
static void
test_stroke_ignores_recolour (void)
{
  const int h = 16, w = 16;
  const float sigma = 1.5f;
  size_t n = (size_t) h * w;
  g_autofree float *style = g_new (float, 3 * n);
  g_autofree float *style_hp = g_new (float, n);
  g_autofree float *flat_a = g_new (float, 3 * n);
  g_autofree float *flat_b = g_new (float, 3 * n);
  fill_random (style, 3 * n, 51);
  for (size_t i = 0; i < 3 * n; i++)
    {
      flat_a[i] = 0.2f;
      flat_b[i] = i < n ? 0.9f : 0.4f;   /* another colour, also flat */
    }
  NsLossWork work = { 0 };
  g_assert_true (ns_stroke_target (style_hp, style, h, w, sigma, &work));
  NsSwdConfig cfg = { 5, 16, 1 << 20, 0 };
  NsRng r1, r2, r3;
  ns_rng_init (&r1, 3);
  r2 = r3 = r1;
  double la = ns_loss_stroke (NULL, 1.0f, flat_a, h, w, style_hp, h, w, sigma, &cfg, &r1, &work);
  double lb = ns_loss_stroke (NULL, 1.0f, flat_b, h, w, style_hp, h, w, sigma, &cfg, &r2, &work);
  double ls = ns_loss_stroke (NULL, 1.0f, style, h, w, style_hp, h, w, sigma, &cfg, &r3, &work);
  g_assert_cmpfloat (la, >, 1e-4);
  g_assert_cmpfloat (fabs (la - lb), <=, 1e-6 * la);
  g_assert_cmpfloat (ls, <=, 1e-10);
  ns_loss_work_clear (&work);
}

/* ---- total variation ------------------------------------------------------ */

typedef struct { double *x; int c, h, w; } TvRef;

static double
tv_ref_loss (gpointer data)
{
  TvRef *t = data;
  double loss = 0;
  for (int ch = 0; ch < t->c; ch++)
    for (int y = 0; y < t->h; y++)
      for (int x = 0; x < t->w; x++)
        {
          const double *p = t->x + ((size_t) ch * t->h + y) * t->w + x;
          if (x + 1 < t->w)
            loss += (p[1] - p[0]) * (p[1] - p[0]);
          if (y + 1 < t->h)
            loss += (p[t->w] - p[0]) * (p[t->w] - p[0]);
        }
  return loss / ((double) t->c * t->h * t->w);
}

typedef double (*PlaneLoss) (float *grad, float scale, const float *x, int c, int h, int w);

/* A smoothness prior on c planes of h x w against its double reference:
 * the loss, and its gradient against central differences; called with
 * scale 0.5 twice, so the gradient is dL/dx once and checks that it adds. */
static void
check_plane_loss (const char *name, PlaneLoss loss_fn, double (*ref_loss) (gpointer),
                  int c, int h, int w, guint32 seed)
{
  size_t len = (size_t) c * h * w;
  g_autofree float *x = g_new (float, len);
  g_autofree float *grad = g_new0 (float, len);
  fill_random (x, len, seed);
  double loss = loss_fn (grad, 0.5f, x, c, h, w);
  loss_fn (grad, 0.5f, x, c, h, w);
  g_autofree double *xd = g_new (double, len);
  g_autofree double *num = g_new (double, len);
  to_double (xd, x, len);
  TvRef ref = { xd, c, h, w };
  g_assert_cmpfloat (fabs (loss - ref_loss (&ref)), <=, 1e-5 * loss);
  gc_numeric_grad (num, xd, len, ref_loss, &ref);
  double err = gc_rel_error (grad, num, len);
  g_test_message ("%s: loss %.6g, gradient error %.2e", name, loss, err);
  g_assert_cmpfloat (err, <, GC_TOLERANCE);
}

static void
test_tv_gradient (void)
{
  check_plane_loss ("tv", ns_loss_tv, tv_ref_loss, 3, 5, 8, 41);
}

/* ---- lone dots: the squared difference to the 4 neighbours' mean --------- */

static double
dots_ref_loss (gpointer data)
{
  TvRef *t = data;
  double loss = 0;
  for (int ch = 0; ch < t->c; ch++)
    for (int y = 1; y + 1 < t->h; y++)
      for (int x = 1; x + 1 < t->w; x++)
        {
          const double *p = t->x + ((size_t) ch * t->h + y) * t->w + x;
          double r = p[0] - 0.25 * (p[-1] + p[1] + p[-t->w] + p[t->w]);
          loss += r * r;
        }
  return loss / ((double) t->c * t->h * t->w);
}

static void
test_dots_gradient (void)
{
  check_plane_loss ("dots", ns_loss_dots, dots_ref_loss, 3, 6, 7, 43);
  /* a lone dot costs more than eight rows of a straight edge of the same
   * height (the edge crosses 7 interior rows) */
  float img[9 * 9] = { 0 }, edge[9 * 9] = { 0 };
  img[4 * 9 + 4] = 1;
  for (int y = 0; y < 9; y++)
    for (int xx = 5; xx < 9; xx++)
      edge[y * 9 + xx] = 1;
  g_assert_cmpfloat (ns_loss_dots (NULL, 1, img, 1, 9, 9), >,
                     ns_loss_dots (NULL, 1, edge, 1, 9, 9) / 7 * 8);
}

/* ---- the smooth downsampling: backward is the exact adjoint --------------- */

static void
check_down2_adjoint (int c, int h, int w)
{
  int oh = MAX (1, h / 2), ow = MAX (1, w / 2);
  size_t n = (size_t) c * h * w, m = (size_t) c * oh * ow;
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, m);
  g_autofree float *ax = g_new (float, m);
  g_autofree float *aty = g_new0 (float, n);
  fill_random (x, n, 51);
  fill_random (y, m, 52);
  ns_down2_smooth_forward (ax, x, c, h, w);
  ns_down2_smooth_backward (aty, y, c, h, w);
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < m; i++)
    lhs += (double) ax[i] * y[i];
  for (size_t i = 0; i < n; i++)
    rhs += (double) x[i] * aty[i];
  g_assert_cmpfloat (fabs (lhs - rhs), <=, 1e-5 * fabs (lhs));
}

static void
test_down2_smooth_adjoint (void)
{
  check_down2_adjoint (3, 8, 6);
  check_down2_adjoint (2, 7, 5);    /* odd sides */
  check_down2_adjoint (1, 1, 9);    /* one row */
  check_down2_adjoint (1, 3, 1);

  /* a constant stays the same constant */
  float flat[4 * 6], out[2 * 3];
  for (int i = 0; i < 24; i++)
    flat[i] = 0.25f;
  ns_down2_smooth_forward (out, flat, 1, 4, 6);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (fabsf (out[i] - 0.25f), <, 1e-6f);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loss/swd-gradient", test_swd_gradient);
  g_test_add_func ("/loss/swd-zero-on-style", test_swd_zero_on_style);
  g_test_add_func ("/loss/swd-bins-flat-area-moves-as-one",
                   test_swd_bins_flat_area_moves_as_one);
  g_test_add_func ("/loss/swd-gradient-large", test_swd_gradient_large);
  g_test_add_func ("/loss/swd-kept", test_swd_kept);
  g_test_add_func ("/loss/random-features-gradient", test_random_features_gradient);
  g_test_add_func ("/loss/gram-gradient", test_gram_gradient);
  g_test_add_func ("/loss/content-gradient", test_content_gradient);
  g_test_add_func ("/loss/chroma-gradient", test_chroma_gradient);
  g_test_add_func ("/loss/variation-gradient", test_variation_gradient);
  g_test_add_func ("/loss/variation-spares-layout", test_variation_spares_layout);
  g_test_add_func ("/loss/stroke-gradient", test_stroke_gradient);
  g_test_add_func ("/loss/stroke-ignores-recolour", test_stroke_ignores_recolour);
  g_test_add_func ("/loss/tv-gradient", test_tv_gradient);
  g_test_add_func ("/loss/dots-gradient", test_dots_gradient);
  g_test_add_func ("/loss/down2-smooth-adjoint", test_down2_smooth_adjoint);
  return g_test_run ();
}

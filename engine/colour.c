/* Colour statistics and transfer, luminance/chroma, planar <-> interleaved. */
#include "ns_imgproc.h"
#include "ns_error.h"
#include "tasks.h"
#include <float.h>
#include <math.h>
#include <string.h>

/* Variance floor: a flat image (std below ~0.01) is treated as that faint
 * texture, so the maps below never divide by zero. */
#define NS_COLOUR_VAR_EPS 1e-4

NsPlanes *
ns_planes_new (int c, int h, int w, GError **error)
{
  gsize n = (gsize) c * h * w;
  float *data = g_try_malloc0_n (n ? n : 1, sizeof (float));
  if (!data)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "Out of memory for %d planes of %d x %d", c, w, h);
      return NULL;
    }
  NsPlanes *p = g_new (NsPlanes, 1);
  *p = (NsPlanes) { c, h, w, data };
  return p;
}

void
ns_planes_free (NsPlanes *p)
{
  if (!p)
    return;
  g_free (p->data);
  g_free (p);
}

void
ns_planes_read_image_rgb (float *rgb, const NsImage *img)
{
  size_t n = (size_t) img->width * img->height;
  int ch = img->channels;
  gboolean grey = ch < 3;
  for (size_t i = 0; i < n; i++)
    {
      const float *px = img->data + i * ch;
      for (int c = 0; c < 3; c++)
        rgb[c * n + i] = grey ? px[0] : px[c];
    }
}

NsPlanes *
ns_planes_from_image_rgb (const NsImage *img, GError **error)
{
  NsPlanes *rgb = ns_planes_new (3, img->height, img->width, error);
  if (rgb)
    ns_planes_read_image_rgb (rgb->data, img);
  return rgb;
}

static inline float
clamp01 (float v)
{
  return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

void
ns_planes_to_image_rgb (const NsPlanes *rgb, NsImage *img)
{
  size_t n = (size_t) img->width * img->height;
  int ch = img->channels;
  const float *r = rgb->data, *g = r + n, *b = g + n;
  for (size_t i = 0; i < n; i++)
    {
      float *px = img->data + i * ch;
      if (ch < 3)
        px[0] = clamp01 (0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i]);
      else
        {
          px[0] = clamp01 (r[i]);
          px[1] = clamp01 (g[i]);
          px[2] = clamp01 (b[i]);
        }
    }
}

void
ns_colour_sums_add (NsColourSums *sums, const float *rgb, size_t n, size_t first,
                    size_t step)
{
  if (step < 1)
    step = 1;
  for (size_t i = first; i < n; i += step, sums->count++)
    {
      double v[3] = { rgb[i], rgb[n + i], rgb[2 * n + i] };
      for (int a = 0; a < 3; a++)
        {
          sums->s[a] += v[a];
          for (int b = 0; b < 3; b++)
            sums->ss[a * 3 + b] += v[a] * v[b];
        }
    }
}

void
ns_colour_sums_result (const NsColourSums *sums, double mean[3], double cov[9])
{
  double inv = sums->count ? 1.0 / sums->count : 0.0;
  for (int a = 0; a < 3; a++)
    mean[a] = sums->s[a] * inv;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      cov[a * 3 + b] = sums->ss[a * 3 + b] * inv - mean[a] * mean[b];
}

void
ns_colour_stats (const float *rgb, size_t n, size_t step,
                 double mean[3], double cov[9])
{
  NsColourSums sums = { .count = 0 };
  ns_colour_sums_add (&sums, rgb, n, 0, step);
  ns_colour_sums_result (&sums, mean, cov);
}

/* Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations:
 * a = v diag(e) v^T, eigenvectors in the columns of v. */
static void
sym3_eigen (const double a_in[9], double e[3], double v[9])
{
  double a[9];
  memcpy (a, a_in, sizeof a);
  for (int i = 0; i < 9; i++)
    v[i] = (i % 4 == 0) ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 50; sweep++)
    {
      double off = fabs (a[1]) + fabs (a[2]) + fabs (a[5]);
      if (off < 1e-30)
        break;
      for (int p = 0; p < 2; p++)
        for (int q = p + 1; q < 3; q++)
          {
            double apq = a[p * 3 + q];
            if (fabs (apq) < 1e-300)
              continue;
            double theta = (a[q * 3 + q] - a[p * 3 + p]) / (2.0 * apq);
            double t = (theta >= 0 ? 1.0 : -1.0)
                       / (fabs (theta) + sqrt (theta * theta + 1.0));
            double c = 1.0 / sqrt (t * t + 1.0), s = t * c;
            for (int k = 0; k < 3; k++)
              {
                /* columns p and q of a */
                double akp = a[k * 3 + p], akq = a[k * 3 + q];
                a[k * 3 + p] = c * akp - s * akq;
                a[k * 3 + q] = s * akp + c * akq;
              }
            for (int k = 0; k < 3; k++)
              {
                /* rows p and q of a */
                double apk = a[p * 3 + k], aqk = a[q * 3 + k];
                a[p * 3 + k] = c * apk - s * aqk;
                a[q * 3 + k] = s * apk + c * aqk;
              }
            for (int k = 0; k < 3; k++)
              {
                double vkp = v[k * 3 + p], vkq = v[k * 3 + q];
                v[k * 3 + p] = c * vkp - s * vkq;
                v[k * 3 + q] = s * vkp + c * vkq;
              }
          }
    }
  for (int i = 0; i < 3; i++)
    e[i] = a[i * 4];
}

/* out = v diag(f(e)) v^T */
static void
sym3_rebuild (const double e[3], const double v[9], double out[9])
{
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      {
        double s = 0;
        for (int k = 0; k < 3; k++)
          s += v[r * 3 + k] * e[k] * v[c * 3 + k];
        out[r * 3 + c] = s;
      }
}

static void
mat3_mul (const double a[9], const double b[9], double out[9])
{
  double t[9];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      t[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  memcpy (out, t, sizeof t);
}

void
ns_colour_transfer_map (const double mean_a[3], const double cov_a[9],
                        const double mean_b[3], const double cov_b[9],
                        double m[9], double off[3])
{
  double ca[9], cb[9], e[3], v[9], sq[3], isq[3];
  memcpy (ca, cov_a, sizeof ca);
  memcpy (cb, cov_b, sizeof cb);
  for (int i = 0; i < 3; i++)
    {
      ca[i * 4] += NS_COLOUR_VAR_EPS;
      cb[i * 4] += NS_COLOUR_VAR_EPS;
    }
  /* m = A^-1/2 (A^1/2 B A^1/2)^1/2 A^-1/2 */
  double a_half[9], a_ihalf[9], mid[9], mid_half[9];
  sym3_eigen (ca, e, v);
  for (int i = 0; i < 3; i++)
    {
      double ev = MAX (e[i], NS_COLOUR_VAR_EPS);
      sq[i] = sqrt (ev);
      isq[i] = 1.0 / sq[i];
    }
  sym3_rebuild (sq, v, a_half);
  sym3_rebuild (isq, v, a_ihalf);
  mat3_mul (a_half, cb, mid);
  mat3_mul (mid, a_half, mid);
  sym3_eigen (mid, e, v);
  for (int i = 0; i < 3; i++)
    sq[i] = sqrt (MAX (e[i], 0.0));
  sym3_rebuild (sq, v, mid_half);
  mat3_mul (a_ihalf, mid_half, m);
  mat3_mul (m, a_ihalf, m);
  for (int r = 0; r < 3; r++)
    off[r] = mean_b[r] - (m[r * 3] * mean_a[0] + m[r * 3 + 1] * mean_a[1]
                          + m[r * 3 + 2] * mean_a[2]);
}

/* NS_TASK_PART pixels a task: a megapixel photo's map runs on every core */

typedef struct
{
  float *rgb;
  size_t n;
  float m[9], off[3];
} ApplyJob;

static void
apply_part (gpointer data, int part, int thread)
{
  const ApplyJob *j = data;
  const float *m = j->m, *of = j->off;
  float *r = j->rgb, *g = r + j->n, *b = g + j->n;
  const size_t end = MIN ((size_t) part * NS_TASK_PART + NS_TASK_PART, j->n);
  (void) thread;
  for (size_t i = (size_t) part * NS_TASK_PART; i < end; i++)
    {
      float x = r[i], y = g[i], z = b[i];
      r[i] = m[0] * x + m[1] * y + m[2] * z + of[0];
      g[i] = m[3] * x + m[4] * y + m[5] * z + of[1];
      b[i] = m[6] * x + m[7] * y + m[8] * z + of[2];
    }
}

void
ns_colour_apply (float *rgb, size_t n, const double m[9], const double off[3])
{
  ApplyJob j = { .rgb = rgb, .n = n };
  for (int i = 0; i < 9; i++)
    j.m[i] = (float) m[i];
  for (int i = 0; i < 3; i++)
    j.off[i] = (float) off[i];
  ns_tasks_run (ns_task_parts (n), apply_part, &j);
}

/* The palette map stretches the photo's contrast along any colour axis by at
 * most this much: an unbounded map multiplies a dark or near-grey photo's
 * JPEG chroma noise into coloured fringes (gains of 5 and more; thousands
 * for a grey photo) and pushes its highlights far past white. */
#define NS_PALETTE_MAX_GAIN 2.0
/* Values beyond [toe, knee] = [s t, 1 - s t] roll off smoothly towards 0 and
 * 1 instead of clipping flat (s = this, t the map's strength): highlights
 * keep their shading, and at t = 0 nothing in [0, 1] moves. */
#define NS_PALETTE_SHOULDER 0.2

/* The map y = m x + off of ns_colour_transfer_map (m symmetric) with its
 * eigenvalues, the gains along its axes, cut to at most max_gain; the mean
 * still lands on mean. */
static void
cap_gain (double m[9], double off[3], const double mean_x[3], const double mean[3],
          double max_gain)
{
  double e[3], v[9];
  sym3_eigen (m, e, v);
  if (MAX (MAX (e[0], e[1]), e[2]) <= max_gain)
    return;   /* as it is, to the bit */
  for (int i = 0; i < 3; i++)
    e[i] = MIN (e[i], max_gain);
  sym3_rebuild (e, v, m);
  for (int r = 0; r < 3; r++)
    off[r] = mean[r] - (m[r * 3] * mean_x[0] + m[r * 3 + 1] * mean_x[1]
                        + m[r * 3 + 2] * mean_x[2]);
}

/* x inside [toe, 1 - toe] as it is; beyond, a tanh that meets it with the
 * same slope and tends to 0 or 1: monotonic, never outside (0, 1) */
static inline float
soft_range (float x, float toe)
{
  const float knee = 1.0f - toe;
  if (x > knee)
    return knee + toe * tanhf ((x - knee) / toe);
  if (x < toe)
    return toe - toe * tanhf ((toe - x) / toe);
  return x;
}

/* BT.601, as ns_rgb_to_ycc */
static const float luma_weights[3] = { 0.299f, 0.587f, 0.114f };

void
ns_luma_histogram (const float *rgb, size_t n, size_t step, double hist[NS_LUMA_BINS])
{
  const float *r = rgb, *g = rgb + n, *b = rgb + 2 * n;
  size_t count = 0;
  memset (hist, 0, sizeof (double) * NS_LUMA_BINS);
  for (size_t i = 0; i < n; i += step, count++)
    {
      float y = luma_weights[0] * r[i] + luma_weights[1] * g[i] + luma_weights[2] * b[i];
      /* compared before the cast: casting NaN or a huge float to int is undefined */
      hist[y > 0 ? MIN ((int) (MIN (y, 1.0f) * NS_LUMA_BINS), NS_LUMA_BINS - 1) : 0] += 1;
    }
  for (int k = 0; k < NS_LUMA_BINS; k++)
    hist[k] /= MAX (count, 1);
}

/* The tone curve's knots: the luminance at these many evenly spaced
 * quantiles, and the share of the way from x's towards the painting's
 * (all of the way cost style where the painting's tones are far from the
 * photo's; docs/generator.md, "The tone curve"). */
#define NS_TONE_KNOTS  32
#define NS_TONE_WEIGHT 0.5

/* the u-quantile of a histogram, linear inside its bin */
static double
histogram_quantile (const double hist[NS_LUMA_BINS], double u)
{
  double below = 0;
  for (int k = 0; k < NS_LUMA_BINS; k++)
    {
      if (below + hist[k] >= u && hist[k] > 0)
        return (k + (u - below) / hist[k]) / NS_LUMA_BINS;
      below += hist[k];
    }
  return 1;
}

/* y = f(v), piecewise linear through the knots, slope 1 beyond them */
static inline float
tone_curve (float v, const float *kx, const float *ky)
{
  if (v <= kx[0])
    return ky[0] + (v - kx[0]);
  if (v >= kx[NS_TONE_KNOTS - 1])
    return ky[NS_TONE_KNOTS - 1] + (v - kx[NS_TONE_KNOTS - 1]);
  int lo = 0, hi = NS_TONE_KNOTS - 1;
  while (hi - lo > 1)
    {
      int mid = (lo + hi) / 2;
      if (v < kx[mid])
        hi = mid;
      else
        lo = mid;
    }
  float span = kx[hi] - kx[lo];
  return span > 0 ? ky[lo] + (v - kx[lo]) * (ky[hi] - ky[lo]) / span : ky[lo];
}

/* Adds to each pixel's R, G and B the change t * NS_TONE_WEIGHT * (f(y) - y)
 * of its luminance y, f mapping x's luminance quantiles onto luma's with
 * the slope between knots held within [1 / max_gain, max_gain] (built
 * outwards from the median, which lands on the painting's). */
static void
tone_map (float *x, size_t n, const double luma[NS_LUMA_BINS], double max_gain, double t)
{
  double from[NS_LUMA_BINS];
  ns_luma_histogram (x, n, MAX (1, n >> 18), from);
  float kx[NS_TONE_KNOTS], ky[NS_TONE_KNOTS];
  double want[NS_TONE_KNOTS];
  for (int k = 0; k < NS_TONE_KNOTS; k++)
    {
      double u = (k + 0.5) / NS_TONE_KNOTS;
      kx[k] = (float) histogram_quantile (from, u);
      want[k] = histogram_quantile (luma, u);
    }
  const int mid = NS_TONE_KNOTS / 2;
  ky[mid] = (float) want[mid];
  for (int k = mid + 1; k < NS_TONE_KNOTS; k++)
    {
      double dx = kx[k] - kx[k - 1];
      ky[k] = ky[k - 1] + (float) CLAMP (want[k] - want[k - 1], dx / max_gain, dx * max_gain);
    }
  for (int k = mid - 1; k >= 0; k--)
    {
      double dx = kx[k + 1] - kx[k];
      ky[k] = ky[k + 1] - (float) CLAMP (want[k + 1] - want[k], dx / max_gain, dx * max_gain);
    }
  const float w = (float) (t * NS_TONE_WEIGHT);
  float *r = x, *g = x + n, *b = x + 2 * n;
  for (size_t i = 0; i < n; i++)
    {
      float y = luma_weights[0] * r[i] + luma_weights[1] * g[i] + luma_weights[2] * b[i];
      float d = w * (tone_curve (y, kx, ky) - y);
      r[i] += d;
      g[i] += d;
      b[i] += d;
    }
}

void
ns_palette_map (float *x, size_t n, const double mean_x[3], const double cov_x[9],
                const double mean[3], const double cov[9],
                const double luma[NS_LUMA_BINS], double t)
{
  double map[9], off[3];
  if (t <= 0)
    return;
  t = MIN (t, 1.0);
  ns_colour_transfer_map (mean_x, cov_x, mean, cov, map, off);
  cap_gain (map, off, mean_x, mean, NS_PALETTE_MAX_GAIN);
  for (int i = 0; i < 3; i++)
    {
      for (int j = 0; j < 3; j++)
        map[3 * i + j] = t * map[3 * i + j] + (1 - t) * (i == j);
      off[i] *= t;
    }
  ns_colour_apply (x, n, map, off);
  if (luma)
    tone_map (x, n, luma, NS_PALETTE_MAX_GAIN, t);
  const float toe = MAX ((float) (NS_PALETTE_SHOULDER * t), FLT_MIN);
  for (size_t j = 0; j < 3 * n; j++)
    x[j] = soft_range (x[j], toe);
}

void
ns_rgb_to_ycc (float *planes, size_t n)
{
  float *r = planes, *g = planes + n, *b = planes + 2 * n;
  for (size_t i = 0; i < n; i++)
    {
      float y = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
      float cb = 0.564f * (b[i] - y), cr = 0.713f * (r[i] - y);
      r[i] = y;
      g[i] = cb;
      b[i] = cr;
    }
}

void
ns_ycc_to_rgb (float *planes, size_t n)
{
  float *yp = planes, *cbp = planes + n, *crp = planes + 2 * n;
  for (size_t i = 0; i < n; i++)
    {
      float y = yp[i], cb = cbp[i], cr = crp[i];
      float r = y + 1.402f * cr, b = y + 1.772f * cb;
      yp[i] = r;
      cbp[i] = (y - 0.299f * r - 0.114f * b) / 0.587f;
      crp[i] = b;
    }
}

void
ns_keep_chroma (float *result, float *photo, size_t n)
{
  ns_rgb_to_ycc (result, n);
  ns_rgb_to_ycc (photo, n);
  memcpy (result + n, photo + n, sizeof (float) * 2 * n);
  ns_ycc_to_rgb (result, n);
}

void
ns_luma (float *y, const float *rgb, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = luma_weights[0] * rgb[i] + luma_weights[1] * rgb[n + i]
           + luma_weights[2] * rgb[2 * n + i];
}

void
ns_luma_backward (float *drgb, const float *dy, size_t n)
{
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < n; i++)
      drgb[c * n + i] += luma_weights[c] * dy[i];
}

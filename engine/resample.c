/* Resizing, blurring, 2x downsampling and guided upsampling of planes. */
#include "ns_imgproc.h"
#include "ns_error.h"
#include <math.h>
#include <string.h>

/* Keys cubic, a = -0.5 (Catmull-Rom): sharp, interpolating. */
static double
cubic (double x)
{
  x = fabs (x);
  if (x < 1.0)
    return (1.5 * x - 2.5) * x * x + 1.0;
  if (x < 2.0)
    return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0;
  return 0.0;
}

/* Taps of one output index: n weights starting at first[j] * max_taps. */
typedef struct
{
  int    max_taps;
  int   *index;    /* [dn * max_taps] source indices (mirrored) */
  float *weight;   /* [dn * max_taps] normalised weights, 0 past the taps */
} Taps;

static void
taps_init (Taps *t, int sn, int dn)
{
  double scale = (double) sn / dn;
  double widen = MAX (1.0, scale);
  double support = 2.0 * widen;
  t->max_taps = (int) ceil (2.0 * support) + 2;
  t->index = g_new (int, (gsize) dn * t->max_taps);
  t->weight = g_new0 (float, (gsize) dn * t->max_taps);
  for (int j = 0; j < dn; j++)
    {
      double centre = (j + 0.5) * scale - 0.5;
      int lo = (int) floor (centre - support) + 1;
      double sum = 0;
      int *idx = t->index + (gsize) j * t->max_taps;
      float *wt = t->weight + (gsize) j * t->max_taps;
      for (int k = 0; k < t->max_taps; k++)
        {
          double wv = cubic ((lo + k - centre) / widen);
          idx[k] = ns_reflect_index (lo + k, sn);
          wt[k] = (float) wv;
          sum += wv;
        }
      for (int k = 0; k < t->max_taps; k++)
        wt[k] = (float) (wt[k] / sum);
    }
}

static void
taps_clear (Taps *t)
{
  g_free (t->index);
  g_free (t->weight);
}

/* The horizontal pass of a resize: mid[sh][dw] from one plane s[sh][sw]. */
static void
resize_rows_across (float *mid, const float *s, int sh, int sw, int dw, const Taps *tw)
{
  for (int y = 0; y < sh; y++)
    for (int x = 0; x < dw; x++)
      {
        const int *idx = tw->index + (gsize) x * tw->max_taps;
        const float *wt = tw->weight + (gsize) x * tw->max_taps;
        float acc = 0;
        for (int k = 0; k < tw->max_taps; k++)
          acc += wt[k] * s[(gsize) y * sw + idx[k]];
        mid[(gsize) y * dw + x] = acc;
      }
}

/* The vertical pass, output rows y0..y1-1 only, into d (row y0 first);
 * mid holds the across-resized rows from m0 on. */
static void
resize_rows_down (float *d, const float *mid, int m0, int dw, const Taps *th, int y0,
                  int y1)
{
  for (int y = y0; y < y1; y++)
    {
      const int *idx = th->index + (gsize) y * th->max_taps;
      const float *wt = th->weight + (gsize) y * th->max_taps;
      float *row = d + (gsize) (y - y0) * dw;
      memset (row, 0, sizeof (float) * dw);
      for (int k = 0; k < th->max_taps; k++)
        {
          if (wt[k] == 0.0f)
            continue;
          const float *mrow = mid + (gsize) (idx[k] - m0) * dw;
          for (int x = 0; x < dw; x++)
            row[x] += wt[k] * mrow[x];
        }
    }
}

void
ns_resize (const float *src, int c, int sh, int sw, float *dst, int dh, int dw)
{
  if (sh == dh && sw == dw)
    {
      memcpy (dst, src, sizeof (float) * c * sh * sw);
      return;
    }
  Taps th, tw;
  taps_init (&tw, sw, dw);
  taps_init (&th, sh, dh);
  float *mid = g_new (float, (gsize) sh * dw);
  for (int ch = 0; ch < c; ch++)
    {
      resize_rows_across (mid, src + (gsize) ch * sh * sw, sh, sw, dw, &tw);
      resize_rows_down (dst + (gsize) ch * dh * dw, mid, 0, dw, &th, 0, dh);
    }
  g_free (mid);
  taps_clear (&tw);
  taps_clear (&th);
}

static int
gauss_kernel (float sigma, float *k, int max_r)
{
  int r = MIN (max_r, (int) ceilf (3.0f * sigma));
  double sum = 0;
  for (int t = -r; t <= r; t++)
    sum += k[t + r] = expf (-(float) (t * t) / (2.0f * sigma * sigma));
  for (int t = 0; t <= 2 * r; t++)
    k[t] = (float) (k[t] / sum);
  return r;
}

#define MAX_BLUR_RADIUS 32

void
ns_blur_forward (float *dst, const float *src, int c, int h, int w,
                 float sigma, float *tmp)
{
  float k[2 * MAX_BLUR_RADIUS + 1];
  int r = gauss_kernel (sigma, k, MAX_BLUR_RADIUS);
  for (int ch = 0; ch < c; ch++)
    {
      const float *s = src + (gsize) ch * h * w;
      float *d = dst + (gsize) ch * h * w;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            const float *row = s + (gsize) y * w;
            float acc = 0;
            if (x >= r && x + r < w)    /* no reflection: same sums, faster */
              for (int t = -r; t <= r; t++)
                acc += k[t + r] * row[x + t];
            else
              for (int t = -r; t <= r; t++)
                acc += k[t + r] * row[ns_reflect_index (x + t, w)];
            tmp[(gsize) y * w + x] = acc;
          }
      /* row by row (the same sums, in the same order, as column by column) */
      for (int y = 0; y < h; y++)
        {
          float *drow = d + (gsize) y * w;
          memset (drow, 0, sizeof (float) * w);
          for (int t = -r; t <= r; t++)
            {
              const float *trow = tmp + (gsize) ns_reflect_index (y + t, h) * w;
              for (int x = 0; x < w; x++)
                drow[x] += k[t + r] * trow[x];
            }
        }
    }
}

void
ns_blur_backward (float *dsrc, const float *ddst, int c, int h, int w,
                  float sigma, float *tmp)
{
  float k[2 * MAX_BLUR_RADIUS + 1];
  int r = gauss_kernel (sigma, k, MAX_BLUR_RADIUS);
  for (int ch = 0; ch < c; ch++)
    {
      const float *dd = ddst + (gsize) ch * h * w;
      float *ds = dsrc + (gsize) ch * h * w;
      /* adjoint of the vertical pass, then of the horizontal pass */
      memset (tmp, 0, sizeof (float) * h * w);
      for (int y = 0; y < h; y++)
        for (int t = -r; t <= r; t++)
          {
            float *trow = tmp + (gsize) ns_reflect_index (y + t, h) * w;
            const float *drow = dd + (gsize) y * w;
            for (int x = 0; x < w; x++)
              trow[x] += k[t + r] * drow[x];
          }
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            float g = tmp[(gsize) y * w + x];
            float *row = ds + (gsize) y * w;
            if (x >= r && x + r < w)
              for (int t = -r; t <= r; t++)
                row[x + t] += k[t + r] * g;
            else
              for (int t = -r; t <= r; t++)
                row[ns_reflect_index (x + t, w)] += k[t + r] * g;
          }
    }
}

void
ns_down2_forward (float *dst, const float *src, int c, int h, int w)
{
  int oh = MAX (1, h / 2), ow = MAX (1, w / 2);
  int fy = h > 1 ? 2 : 1, fx = w > 1 ? 2 : 1;
  float inv = 1.0f / (fy * fx);
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        {
          const float *s = src + ((gsize) ch * h + y * fy) * w + x * fx;
          float acc = 0;
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++)
              acc += s[(gsize) dy * w + dx];
          dst[((gsize) ch * oh + y) * ow + x] = acc * inv;
        }
}

void
ns_down2_backward (float *dsrc, const float *ddst, int c, int h, int w)
{
  int oh = MAX (1, h / 2), ow = MAX (1, w / 2);
  int fy = h > 1 ? 2 : 1, fx = w > 1 ? 2 : 1;
  float inv = 1.0f / (fy * fx);
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        {
          float g = ddst[((gsize) ch * oh + y) * ow + x] * inv;
          float *s = dsrc + ((gsize) ch * h + y * fy) * w + x * fx;
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++)
              s[(gsize) dy * w + dx] += g;
        }
}

static const float binomial4[4] = { 0.125f, 0.375f, 0.375f, 0.125f };

/* Output index o of an axis of n (>= 2) samples reads 2o-1 .. 2o+2. */
void
ns_down2_smooth_forward (float *dst, const float *src, int c, int h, int w)
{
  int oh = MAX (1, h / 2), ow = MAX (1, w / 2);
  for (int ch = 0; ch < c; ch++)
    {
      const float *s = src + (gsize) ch * h * w;
      float *d = dst + (gsize) ch * oh * ow;
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          {
            float acc = 0;
            /* away from the borders: no reflection, same sums */
            gboolean inside = h > 1 && w > 1 && y >= 1 && 2 * y + 2 < h
                              && x >= 1 && 2 * x + 2 < w;
            for (int ty = 0; ty < 4; ty++)
              {
                float wy = h > 1 ? binomial4[ty] : (ty == 1 ? 1.0f : 0.0f);
                if (wy == 0.0f)
                  continue;
                int ry = inside ? 2 * y - 1 + ty : ns_reflect_index (2 * y - 1 + ty, h);
                const float *row = s + (gsize) ry * w;
                if (inside)
                  for (int tx = 0; tx < 4; tx++)
                    acc += wy * binomial4[tx] * row[2 * x - 1 + tx];
                else
                  for (int tx = 0; tx < 4; tx++)
                    {
                      float wx = w > 1 ? binomial4[tx] : (tx == 1 ? 1.0f : 0.0f);
                      acc += wy * wx * row[ns_reflect_index (2 * x - 1 + tx, w)];
                    }
              }
            d[(gsize) y * ow + x] = acc;
          }
    }
}

void
ns_down2_smooth_backward (float *dsrc, const float *ddst, int c, int h, int w)
{
  int oh = MAX (1, h / 2), ow = MAX (1, w / 2);
  for (int ch = 0; ch < c; ch++)
    {
      float *s = dsrc + (gsize) ch * h * w;
      const float *d = ddst + (gsize) ch * oh * ow;
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          {
            float g = d[(gsize) y * ow + x];
            gboolean inside = h > 1 && w > 1 && y >= 1 && 2 * y + 2 < h
                              && x >= 1 && 2 * x + 2 < w;
            for (int ty = 0; ty < 4; ty++)
              {
                float wy = h > 1 ? binomial4[ty] : (ty == 1 ? 1.0f : 0.0f);
                if (wy == 0.0f)
                  continue;
                int ry = inside ? 2 * y - 1 + ty : ns_reflect_index (2 * y - 1 + ty, h);
                float *row = s + (gsize) ry * w;
                if (inside)
                  for (int tx = 0; tx < 4; tx++)
                    row[2 * x - 1 + tx] += wy * binomial4[tx] * g;
                else
                  for (int tx = 0; tx < 4; tx++)
                    {
                      float wx = w > 1 ? binomial4[tx] : (tx == 1 ? 1.0f : 0.0f);
                      row[ns_reflect_index (2 * x - 1 + tx, w)] += wy * wx * g;
                    }
              }
          }
    }
}

void
ns_box_mean (float *dst, const float *src, int h, int w, int r, float *tmp)
{
  /* running sums along rows, then along columns; windows clipped */
  for (int y = 0; y < h; y++)
    {
      const float *s = src + (gsize) y * w;
      float *t = tmp + (gsize) y * w;
      double acc = 0;
      for (int x = 0; x < MIN (r, w); x++)
        acc += s[x];
      for (int x = 0; x < w; x++)
        {
          if (x + r < w)
            acc += s[x + r];
          if (x - r - 1 >= 0)
            acc -= s[x - r - 1];
          t[x] = (float) (acc / (MIN (w - 1, x + r) - MAX (0, x - r) + 1));
        }
    }
  for (int x = 0; x < w; x++)
    {
      double acc = 0;
      for (int y = 0; y < MIN (r, h); y++)
        acc += tmp[(gsize) y * w + x];
      for (int y = 0; y < h; y++)
        {
          if (y + r < h)
            acc += tmp[(gsize) (y + r) * w + x];
          if (y - r - 1 >= 0)
            acc -= tmp[(gsize) (y - r - 1) * w + x];
          dst[(gsize) y * w + x] = (float) (acc / (MIN (h - 1, y + r) - MAX (0, y - r) + 1));
        }
    }
}

struct _NsGuidedUp
{
  int    c, h, w, H, W, band_rows;
  /* per channel k: plane k the smoothed gain a, plane c + k the offset b */
  NsPlanes *coef;
  gboolean same;
  Taps   th, tw;
  /* low-resolution rows lo .. lo + n_rows - 1 of every coefficient plane,
   * resized across (2c blocks of cap rows of W) */
  float *across;
  int    lo, n_rows, cap;
  float *band;     /* 2 x band_rows x W: one band of a and b, resized down */
};

/* The low-resolution rows the taps of full-size rows y0..y1-1 read. */
static void
tap_window (const Taps *th, int y0, int y1, int *lo, int *hi)
{
  *lo = G_MAXINT;
  *hi = -1;
  for (int y = y0; y < y1; y++)
    for (int k = 0; k < th->max_taps; k++)
      if (th->weight[(gsize) y * th->max_taps + k] != 0.0f)
        {
          int i = th->index[(gsize) y * th->max_taps + k];
          *lo = MIN (*lo, i);
          *hi = MAX (*hi, i);
        }
}

void
ns_guided_up_free (NsGuidedUp *up)
{
  if (!up)
    return;
  ns_planes_free (up->coef);
  if (!up->same)
    {
      taps_clear (&up->th);
      taps_clear (&up->tw);
    }
  g_free (up->across);
  g_free (up->band);
  g_free (up);
}

NsGuidedUp *
ns_guided_up_new (const NsPlanes *guide_lo, const NsPlanes *result_lo, int H, int W,
                  int radius, float eps, int band_rows, GError **error)
{
  int c = guide_lo->c, h = guide_lo->h, w = guide_lo->w;
  gsize n = (gsize) h * w;
  band_rows = CLAMP (band_rows, 1, H);
  g_autoptr (NsPlanes) lo = ns_planes_new (5, h, w, error);
  NsGuidedUp *up = g_new0 (NsGuidedUp, 1);
  *up = (NsGuidedUp) { .c = c, .h = h, .w = w, .H = H, .W = W, .band_rows = band_rows };
  up->same = h == H && w == W;
  up->coef = ns_planes_new (2 * c, h, w, error);
  if (!lo || !up->coef)
    {
      up->same = TRUE;   /* no taps to clear */
      ns_guided_up_free (up);
      return NULL;
    }
  if (!up->same)
    {
      taps_init (&up->tw, w, W);
      taps_init (&up->th, h, H);
      for (int y0 = 0; y0 < H; y0 += band_rows)
        {
          int a, b;
          tap_window (&up->th, y0, MIN (H, y0 + band_rows), &a, &b);
          up->cap = MAX (up->cap, b - a + 1);
        }
      up->across = g_try_malloc_n ((gsize) 2 * c * up->cap * W, sizeof (float));
      up->band = g_try_malloc_n ((gsize) 2 * band_rows * W, sizeof (float));
      if (!up->across || !up->band)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                       "Out of memory for the upsampling of %d x %d", W, H);
          ns_guided_up_free (up);
          return NULL;
        }
    }
  float *m_i = lo->data, *m_r = m_i + n, *m_ii = m_r + n, *prod = m_ii + n,
        *tmp = prod + n;
  for (int k = 0; k < c; k++)
    {
      const float *gi = guide_lo->data + k * n, *rr = result_lo->data + k * n;
      float *a = up->coef->data + k * n, *m_ir = up->coef->data + (c + k) * n;
      ns_box_mean (m_i, gi, h, w, radius, tmp);
      ns_box_mean (m_r, rr, h, w, radius, tmp);
      for (gsize i = 0; i < n; i++)
        prod[i] = gi[i] * gi[i];
      ns_box_mean (m_ii, prod, h, w, radius, tmp);
      for (gsize i = 0; i < n; i++)
        prod[i] = gi[i] * rr[i];
      ns_box_mean (m_ir, prod, h, w, radius, tmp);
      for (gsize i = 0; i < n; i++)
        {
          float var = MAX (0.0f, m_ii[i] - m_i[i] * m_i[i]);
          /* a negative or huge gain would invert or exaggerate detail */
          prod[i] = CLAMP ((m_ir[i] - m_i[i] * m_r[i]) / (var + eps), 0.0f, 2.0f);
        }
      ns_box_mean (a, prod, h, w, radius, tmp);
      /* offset plane: the guided filter's smoothed offset plus the residual
       * it leaves out (the painted texture) is simply rr - a * guide, so the
       * result at low resolution is reproduced exactly and the full
       * resolution adds a * (the guide's finer detail). */
      for (gsize i = 0; i < n; i++)
        m_ir[i] = rr[i] - a[i] * gi[i];
    }
  return up;
}

/* Moves the across-resized window to the low-resolution rows lo..hi,
 * keeping the rows it already holds. */
static void
across_window (NsGuidedUp *up, int lo, int hi)
{
  int n_new = hi - lo + 1, W = up->W;
  int keep0 = MAX (lo, up->lo), keep1 = MIN (hi, up->lo + up->n_rows - 1);
  gboolean keep = up->n_rows > 0 && keep0 <= keep1 && keep0 == lo;
  for (int p = 0; p < 2 * up->c; p++)
    {
      float *blk = up->across + (gsize) p * up->cap * W;
      const float *plane = up->coef->data + (gsize) p * up->h * up->w;
      int from = lo;
      if (keep)
        {
          memmove (blk, blk + (gsize) (keep0 - up->lo) * W,
                   sizeof (float) * (gsize) (keep1 - keep0 + 1) * W);
          from = keep1 + 1;
        }
      if (from <= hi)
        resize_rows_across (blk + (gsize) (from - lo) * W, plane + (gsize) from * up->w,
                            hi - from + 1, up->w, W, &up->tw);
    }
  up->lo = lo;
  up->n_rows = n_new;
}

void
ns_guided_up_rows (NsGuidedUp *up, float *hi, gsize plane_stride, int y0, int n)
{
  int W = up->W, c = up->c;
  gsize count = (gsize) n * W;
  if (up->same)
    {
      gsize off = (gsize) y0 * W;
      for (int k = 0; k < c; k++)
        {
          const float *a = up->coef->data + (gsize) k * up->h * W + off;
          const float *b = up->coef->data + (gsize) (c + k) * up->h * W + off;
          float *g = hi + k * plane_stride;
          for (gsize i = 0; i < count; i++)
            g[i] = a[i] * g[i] + b[i];
        }
      return;
    }
  /* the same sums as ns_resize of the whole planes, a band at a time */
  /* the window's room (cap) is sized for these bands */
  g_return_if_fail (n <= up->band_rows && y0 % up->band_rows == 0);
  int lo, top;
  tap_window (&up->th, y0, y0 + n, &lo, &top);
  across_window (up, lo, top);
  float *ba = up->band, *bb = ba + (gsize) up->band_rows * W;
  for (int k = 0; k < c; k++)
    {
      resize_rows_down (ba, up->across + (gsize) k * up->cap * W, lo, W, &up->th,
                        y0, y0 + n);
      resize_rows_down (bb, up->across + (gsize) (c + k) * up->cap * W, lo, W, &up->th,
                        y0, y0 + n);
      float *g = hi + k * plane_stride;
      for (gsize i = 0; i < count; i++)
        g[i] = ba[i] * g[i] + bb[i];
    }
}

gboolean
ns_guided_upsample (NsPlanes *hi, const NsPlanes *guide_lo,
                    const NsPlanes *result_lo, int radius, float eps,
                    const volatile gint *cancel, GError **error)
{
  g_autoptr (NsGuidedUp) up = ns_guided_up_new (guide_lo, result_lo, hi->h, hi->w, radius,
                                                eps, NS_BAND_ROWS, error);
  if (!up)
    return FALSE;
  for (int y0 = 0; y0 < hi->h; y0 += NS_BAND_ROWS)
    {
      if (cancel && g_atomic_int_get (cancel))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "Stylization cancelled");
          return FALSE;
        }
      ns_guided_up_rows (up, hi->data + (gsize) y0 * hi->w, (gsize) hi->h * hi->w, y0,
                         MIN (NS_BAND_ROWS, hi->h - y0));
    }
  return TRUE;
}

void
ns_fit_long_side (int h, int w, int side, int *oh, int *ow)
{
  double s = (double) side / MAX (h, w);
  *oh = MAX (1, (int) lround (h * s));
  *ow = MAX (1, (int) lround (w * s));
}

NsPlanes *
ns_planes_resized (const NsPlanes *src, int h, int w, GError **error)
{
  /* big reductions (a 4000 px photo to 512) halve with a 2x2 box first:
   * the cubic's kernel would otherwise grow as wide as the ratio */
  g_autoptr (NsPlanes) half = NULL;
  while (src->h >= 4 * h && src->w >= 4 * w)
    {
      NsPlanes *next = ns_planes_new (src->c, src->h / 2, src->w / 2, error);
      if (!next)
        return NULL;
      ns_down2_forward (next->data, src->data, src->c, src->h, src->w);
      g_clear_pointer (&half, ns_planes_free);
      src = half = next;
    }
  NsPlanes *dst = ns_planes_new (src->c, h, w, error);
  if (dst)
    ns_resize (src->data, src->c, src->h, src->w, dst->data, h, w);
  return dst;
}

/* ---- resizing from rows read a band at a time --------------------------- */

/* The 2x2 box halvings of ns_planes_resized as a cascade: level l keeps
 * one row until its partner comes, so only the last level is held whole. */
typedef struct
{
  int     c, levels;
  int    *h, *w;       /* [levels + 1] */
  int    *count;       /* rows pushed into each level so far */
  float **pair;        /* [levels] c planes of 2 rows of w[l] */
  float **row;         /* [levels + 1] one row of level l (c planes) */
  NsPlanes *last;      /* level `levels`, whole */
} Cascade;

static void
cascade_push (Cascade *k, int l, const float *row)
{
  int w = k->w[l];
  if (l == k->levels)
    {
      int y = k->count[l]++;
      for (int ch = 0; ch < k->c; ch++)
        memcpy (k->last->data + ((gsize) ch * k->h[l] + y) * w, row + (gsize) ch * w,
                sizeof (float) * w);
      return;
    }
  int r = k->count[l]++ % 2;
  for (int ch = 0; ch < k->c; ch++)
    memcpy (k->pair[l] + ((gsize) ch * 2 + r) * w, row + (gsize) ch * w, sizeof (float) * w);
  /* an odd last row is dropped, as ns_down2_forward drops it */
  if (r == 1)
    {
      ns_down2_forward (k->row[l + 1], k->pair[l], k->c, 2, w);
      cascade_push (k, l + 1, k->row[l + 1]);
    }
}

NsPlanes *
ns_rows_resized (NsRowsFunc rows, gpointer data, int c, int H, int W, int h, int w,
                 gboolean halve, int band_rows, const volatile gint *cancel,
                 GError **error)
{
  band_rows = CLAMP (band_rows, 1, H);
  int levels = 0;
  for (int lh = H, lw = W; halve && lh >= 4 * h && lw >= 4 * w; lh /= 2, lw /= 2)
    levels++;
  Cascade k = { .c = c, .levels = levels };
  k.h = g_new (int, levels + 1);
  k.w = g_new (int, levels + 1);
  k.count = g_new0 (int, levels + 1);
  k.pair = g_new0 (float *, levels + 1);
  k.row = g_new0 (float *, levels + 1);
  k.h[0] = H;
  k.w[0] = W;
  for (int l = 1; l <= levels; l++)
    {
      k.h[l] = k.h[l - 1] / 2;
      k.w[l] = k.w[l - 1] / 2;
    }
  int lh = k.h[levels], lw = k.w[levels];
  /* without halving, the cubic's across pass runs on the rows as they come
   * (ns_resize's sums), and its down pass on the whole */
  gboolean across_now = levels == 0 && !(lh == h && lw == w);
  Taps tw = { 0 };
  if (across_now)
    taps_init (&tw, W, w);
  gboolean ok = TRUE;
  g_autoptr (NsPlanes) result = NULL;
  float *band = g_try_malloc_n ((gsize) c * band_rows * W, sizeof (float));
  float *one = g_try_malloc_n ((gsize) c * W, sizeof (float));
  k.last = ns_planes_new (c, lh, across_now ? w : lw, error);
  ok = band && one && k.last;
  for (int l = 0; ok && l < levels; l++)
    {
      k.pair[l] = g_try_malloc_n ((gsize) c * 2 * k.w[l], sizeof (float));
      k.row[l + 1] = g_try_malloc_n ((gsize) c * k.w[l + 1], sizeof (float));
      ok = k.pair[l] && k.row[l + 1];
    }
  if (!ok && !(error && *error))
    g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                 "Out of memory for resizing a %d x %d image", W, H);
  for (int y0 = 0; ok && y0 < H; y0 += band_rows)
    {
      if (cancel && g_atomic_int_get (cancel))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "Stylization cancelled");
          ok = FALSE;
          break;
        }
      int n = MIN (band_rows, H - y0);
      rows (data, y0, n, band);
      for (int y = 0; y < n; y++)
        if (across_now)
          for (int ch = 0; ch < c; ch++)
            resize_rows_across (k.last->data + ((gsize) ch * H + y0 + y) * w,
                                band + ((gsize) ch * n + y) * W, 1, W, w, &tw);
        else
          {
            for (int ch = 0; ch < c; ch++)
              memcpy (one + (gsize) ch * W, band + ((gsize) ch * n + y) * W,
                      sizeof (float) * W);
            cascade_push (&k, 0, one);
          }
    }
  if (ok && !across_now && lh == h && lw == w)   /* the size asked for: no copy */
    result = g_steal_pointer (&k.last);
  else if (ok && (result = ns_planes_new (c, h, w, error)) && across_now)
    {
      Taps th;
      taps_init (&th, H, h);
      for (int ch = 0; ch < c; ch++)
        resize_rows_down (result->data + (gsize) ch * h * w,
                          k.last->data + (gsize) ch * H * w, 0, w, &th, 0, h);
      taps_clear (&th);
    }
  else if (result)
    ns_resize (k.last->data, c, lh, lw, result->data, h, w);
  if (across_now)
    taps_clear (&tw);
  for (int l = 0; l <= levels; l++)
    {
      g_free (k.pair[l]);
      g_free (k.row[l]);
    }
  g_free (k.pair);
  g_free (k.row);
  g_free (k.h);
  g_free (k.w);
  g_free (k.count);
  ns_planes_free (k.last);
  g_free (band);
  g_free (one);
  return g_steal_pointer (&result);
}

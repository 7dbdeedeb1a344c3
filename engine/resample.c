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

/* The vertical pass, output rows y0..y1-1 only, into d (row y0 first). */
static void
resize_rows_down (float *d, const float *mid, int dw, const Taps *th, int y0, int y1)
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
          const float *mrow = mid + (gsize) idx[k] * dw;
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
      resize_rows_down (dst + (gsize) ch * dh * dw, mid, dw, &th, 0, dh);
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

/* full-size rows per band of the guided upsampling: its memory is set by
 * the working size and this, not by the image */
#define GUIDED_BAND_ROWS 64

gboolean
ns_guided_upsample (NsPlanes *hi, const NsPlanes *guide_lo,
                    const NsPlanes *result_lo, int radius, float eps,
                    const volatile gint *cancel, GError **error)
{
  int h = guide_lo->h, w = guide_lo->w, H = hi->h, W = hi->w;
  gsize n = (gsize) h * w, N = (gsize) H * W;
  g_autoptr (NsPlanes) lo = ns_planes_new (7, h, w, error);
  /* the coefficients resized across (h x W each), then one band down */
  g_autoptr (NsPlanes) across = ns_planes_new (2, h, W, error);
  g_autoptr (NsPlanes) band = ns_planes_new (2, MIN (H, GUIDED_BAND_ROWS), W, error);
  if (!lo || !across || !band)
    return FALSE;
  float *m_i = lo->data, *m_r = m_i + n, *m_ii = m_r + n, *m_ir = m_ii + n;
  float *a = m_ir + n, *prod = a + n, *tmp = prod + n;
  Taps th, tw;
  gboolean same = h == H && w == W;
  if (!same)
    {
      taps_init (&tw, w, W);
      taps_init (&th, h, H);
    }
  gboolean ok = TRUE;
  for (int c = 0; ok && c < hi->c; c++)
    {
      if (cancel && g_atomic_int_get (cancel))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "Stylization cancelled");
          ok = FALSE;
          break;
        }
      const float *gi = guide_lo->data + c * n, *rr = result_lo->data + c * n;
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
          a[i] = CLAMP ((m_ir[i] - m_i[i] * m_r[i]) / (var + eps), 0.0f, 2.0f);
        }
      ns_box_mean (m_ii, a, h, w, radius, tmp);
      /* offset plane: the guided filter's smoothed offset plus the residual
       * it leaves out (the painted texture) is simply rr - a * guide, so the
       * result at low resolution is reproduced exactly and the full
       * resolution adds a * (the guide's finer detail). */
      for (gsize i = 0; i < n; i++)
        m_ir[i] = rr[i] - m_ii[i] * gi[i];
      float *g = hi->data + c * N;
      if (same)
        {
          for (gsize i = 0; i < N; i++)
            g[i] = m_ii[i] * g[i] + m_ir[i];
          continue;
        }
      /* the same sums as ns_resize of the whole planes, a band at a time */
      float *ca = across->data, *cb = ca + (gsize) h * W;
      float *ba = band->data, *bb = ba + (gsize) band->h * W;
      resize_rows_across (ca, m_ii, h, w, W, &tw);
      resize_rows_across (cb, m_ir, h, w, W, &tw);
      for (int y0 = 0; y0 < H; y0 += GUIDED_BAND_ROWS)
        {
          int y1 = MIN (H, y0 + GUIDED_BAND_ROWS);
          resize_rows_down (ba, ca, W, &th, y0, y1);
          resize_rows_down (bb, cb, W, &th, y0, y1);
          float *gr = g + (gsize) y0 * W;
          for (gsize i = 0, e = (gsize) (y1 - y0) * W; i < e; i++)
            gr[i] = ba[i] * gr[i] + bb[i];
        }
    }
  if (!same)
    {
      taps_clear (&tw);
      taps_clear (&th);
    }
  return ok;
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

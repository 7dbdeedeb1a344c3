/* Tensor op tests: every forward against a naive double-precision reference,
 * every backward (every input and parameter) against central differences of
 * that reference, on random small shapes from a fixed seed.
 *
 * Each backward runs twice into the same gradient buffers: the first result
 * (from zeroed buffers) is checked against the numeric gradient, the second
 * must have doubled it, which checks that backward passes ADD. */
#include "ns_blas.h"
#include "ns_ops.h"
#include "ns_rng.h"
#include "gradcheck.h"
#include <string.h>

#define SEED 20240611u

/* forward vs reference: |got - want| <= FWD_RTOL * scale + FWD_ATOL */
#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6

/* Instance norm centres exactly even when the plane's mean is far from 0
 * (a float mean alone costs ~2e-4 at 100 +- 0.01); measured error ~2e-7, so
 * a bound well under GC_TOLERANCE keeps that property tested. */
#define NORM_TOLERANCE 1e-5

static const char *
pad_name (NsPad pad)
{
  return pad == NS_PAD_ZERO ? "zero" : "reflect";
}

/* Largest |got - want| / (rtol * scale + atol); <= 1 passes.  scale is the
 * magnitude each value is made of (NULL: |want|). */
static double
forward_violation (const float *got, const double *want, const double *scale,
                   size_t len, double rtol, double atol)
{
  double worst = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      double s = scale ? scale[j] : fabs (want[j]);
      double v = fabs (got[j] - want[j]) / (rtol * s + atol);
      if (!(v <= worst))
        worst = isnan (v) ? INFINITY : v;
    }
  return worst;
}

/* The second backward into the same buffers must give twice the first. */
static double
accumulation_error (const float *twice, const float *once, size_t len)
{
  double diff = 0.0, norm = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      double d = twice[j] - 2.0 * once[j];
      diff += d * d;
      norm += 4.0 * once[j] * once[j];
    }
  return norm > 1e-30 ? sqrt (diff / norm) : sqrt (diff);
}

static float *
copy_floats (const float *x, size_t len)
{
  float *copy = g_new (float, MAX (len, 1));
  memcpy (copy, x, sizeof (float) * len);
  return copy;
}

/* ======================================================================== */
/* conv2d                                                                    */

/* Reflection written differently from the engine's periodic formula: fold
 * at the edges until the index lands inside. */
static int
ref_reflect (int i, int n)
{
  if (n == 1)
    return 0;
  while (i < 0 || i >= n)
    {
      if (i < 0)
        i = -i;
      if (i >= n)
        i = 2 * (n - 1) - i;
    }
  return i;
}

static void
ref_conv2d (double *out, const double *in, const double *w, const double *b,
            const NsConv2dShape *s)
{
  const int k = s->k, p = k / 2;
  for (int n = 0; n < s->n; n++)
    for (int oc = 0; oc < s->out_c; oc++)
      for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++)
          {
            double acc = b ? b[oc] : 0.0;
            for (int ic = 0; ic < s->in_c; ic++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  {
                    int iy = oy * s->stride - p + ky, ix = ox * s->stride - p + kx;
                    if (s->pad == NS_PAD_ZERO)
                      {
                        if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                          continue;
                      }
                    else
                      {
                        iy = ref_reflect (iy, s->h);
                        ix = ref_reflect (ix, s->w);
                      }
                    acc += w[((oc * s->in_c + ic) * k + ky) * k + kx]
                           * in[(((size_t) n * s->in_c + ic) * s->h + iy) * s->w + ix];
                  }
            out[(((size_t) n * s->out_c + oc) * s->out_h + oy) * s->out_w + ox] = acc;
          }
}

typedef struct
{
  NsConv2dShape s;
  double *in, *w, *b, *out;
  const float *r; /* the fixed random dL/dout */
} ConvCase;

static size_t conv_in_len (const NsConv2dShape *s) { return (size_t) s->n * s->in_c * s->h * s->w; }
static size_t conv_w_len (const NsConv2dShape *s) { return (size_t) s->out_c * s->in_c * s->k * s->k; }
static size_t conv_out_len (const NsConv2dShape *s) { return (size_t) s->n * s->out_c * s->out_h * s->out_w; }

static double
conv_loss (gpointer data)
{
  ConvCase *c = data;
  ref_conv2d (c->out, c->in, c->w, c->b, &c->s);
  return gc_dot (c->out, c->r, conv_out_len (&c->s));
}

/* Checks forward and all three gradients of one shape. */
static void
check_conv2d_case (NsRng *rng, const NsConv2dShape *s, gboolean bias,
                   GcWorst *fwd, GcWorst *worst_in, GcWorst *worst_w,
                   GcWorst *worst_b, GcWorst *accum)
{
  const size_t in_len = conv_in_len (s), w_len = conv_w_len (s), out_len = conv_out_len (s);
  float *in = g_new (float, in_len), *w = g_new (float, w_len);
  float *b = g_new (float, s->out_c), *r = g_new (float, out_len);
  float *out = g_new (float, out_len);
  gc_fill_uniform (rng, in, in_len, -1, 1);
  gc_fill_uniform (rng, w, w_len, -1, 1);
  gc_fill_uniform (rng, b, s->out_c, -1, 1);
  gc_fill_uniform (rng, r, out_len, -1, 1);
  size_t ws_len = ns_conv2d_workspace (s);
  /* a pointwise conv needs no workspace: NULL proves it is not touched */
  float *ws = ws_len ? g_new (float, ws_len) : NULL;
  char where[160];
  g_snprintf (where, sizeof where, "n=%d c=%d->%d %dx%d k=%d s=%d %s%s",
              s->n, s->in_c, s->out_c, s->h, s->w, s->k, s->stride,
              pad_name (s->pad), bias ? " bias" : "");

  ConvCase c = { *s, gc_to_double (in, in_len), gc_to_double (w, w_len),
                 bias ? gc_to_double (b, s->out_c) : NULL,
                 g_new (double, out_len), r };

  /* forward; the bound scales with sum |w*x| + |b|, i.e. the conv of |.| */
  ns_conv2d_forward (out, in, w, bias ? b : NULL, s, ws);
  double *want = g_new (double, out_len), *mag = g_new (double, out_len);
  ref_conv2d (want, c.in, c.w, c.b, s);
  {
    ConvCase a = { *s, gc_to_double (in, in_len), gc_to_double (w, w_len),
                   bias ? gc_to_double (b, s->out_c) : NULL, NULL, NULL };
    for (size_t j = 0; j < in_len; j++) a.in[j] = fabs (a.in[j]);
    for (size_t j = 0; j < w_len; j++) a.w[j] = fabs (a.w[j]);
    for (int j = 0; bias && j < s->out_c; j++) a.b[j] = fabs (a.b[j]);
    ref_conv2d (mag, a.in, a.w, a.b, s);
    g_free (a.in); g_free (a.w); g_free (a.b);
  }
  gc_worst_update (fwd, forward_violation (out, want, mag, out_len, FWD_RTOL, FWD_ATOL),
                   "%s", where);

  /* backward twice: zeroed buffers, then accumulate */
  float *din = g_new0 (float, in_len), *dw = g_new0 (float, w_len);
  float *db = g_new0 (float, s->out_c);
  ns_conv2d_backward (din, dw, bias ? db : NULL, r, in, w, s, ws);
  float *din1 = copy_floats (din, in_len), *dw1 = copy_floats (dw, w_len);
  float *db1 = copy_floats (db, s->out_c);
  ns_conv2d_backward (din, dw, bias ? db : NULL, r, in, w, s, ws);
  double acc = MAX (accumulation_error (din, din1, in_len),
                    accumulation_error (dw, dw1, w_len));
  if (bias)
    acc = MAX (acc, accumulation_error (db, db1, s->out_c));
  gc_worst_update (accum, acc, "%s", where);

  double *num = g_new (double, MAX (in_len, w_len));
  gc_numeric_grad (num, c.in, in_len, conv_loss, &c);
  gc_worst_update (worst_in, gc_rel_error (din1, num, in_len), "%s", where);
  gc_numeric_grad (num, c.w, w_len, conv_loss, &c);
  gc_worst_update (worst_w, gc_rel_error (dw1, num, w_len), "%s", where);
  if (bias)
    {
      gc_numeric_grad (num, c.b, s->out_c, conv_loss, &c);
      gc_worst_update (worst_b, gc_rel_error (db1, num, s->out_c), "%s", where);
    }

  g_free (num); g_free (din); g_free (dw); g_free (db);
  g_free (din1); g_free (dw1); g_free (db1); g_free (want); g_free (mag);
  g_free (c.in); g_free (c.w); g_free (c.b); g_free (c.out);
  g_free (in); g_free (w); g_free (b); g_free (r); g_free (out); g_free (ws);
}

static void
test_conv2d (void)
{
  static const int kernels[] = { 1, 3, 5, 9 };
  NsRng rng;
  ns_rng_init (&rng, SEED);
  GcWorst fwd = { 0 }, g_in = { 0 }, g_w = { 0 }, g_b = { 0 }, accum = { 0 };
  int cases = 0;

  for (guint ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
    for (int stride = 1; stride <= 2; stride++)
      for (int pad = NS_PAD_ZERO; pad <= NS_PAD_REFLECT; pad++)
        for (int rep = 0; rep < 3; rep++)
          {
            int k = kernels[ki];
            /* rep 0: batch 2 with bias; rep 1: random; rep 2: a 1x1 image */
            int n = rep == 0 ? 2 : 1 + (int) ns_rng_below (&rng, 2);
            int in_c = 1 + ns_rng_below (&rng, 3), out_c = 1 + ns_rng_below (&rng, 4);
            int max_side = k == 9 ? 7 : 9;
            int h = rep == 2 ? 1 : 1 + ns_rng_below (&rng, max_side);
            int w = rep == 2 ? 1 : 1 + ns_rng_below (&rng, max_side);
            gboolean bias = rep == 0 || ns_rng_below (&rng, 2);
            NsConv2dShape s;
            ns_conv2d_shape (&s, n, in_c, h, w, out_c, k, stride, pad);
            check_conv2d_case (&rng, &s, bias, &fwd, &g_in, &g_w, &g_b, &accum);
            cases++;
          }
  /* 3x3 stride 2 (enc2, enc3, the discriminator) wider than the sizes
   * above, so that din's paired interior columns span several outputs;
   * odd and even sides */
  static const int sides[][2] = { { 13, 11 }, { 12, 16 }, { 5, 17 } };
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    for (int pad = NS_PAD_ZERO; pad <= NS_PAD_REFLECT; pad++)
      {
        NsConv2dShape s;
        ns_conv2d_shape (&s, 2, 2, sides[i][0], sides[i][1], 3, 3, 2, pad);
        check_conv2d_case (&rng, &s, TRUE, &fwd, &g_in, &g_w, &g_b, &accum);
        cases++;
      }
  g_test_message ("conv2d: %d shapes", cases);
  gc_worst_report (&fwd, "conv2d forward violation of 1e-5*sum|w*x| + 1e-6 (<= 1 passes)", 1.0);
  gc_worst_report (&accum, "conv2d accumulation error (second backward vs 2x first)", 1e-5);
  gc_worst_report (&g_in, "conv2d din gradient error", GC_TOLERANCE);
  gc_worst_report (&g_w, "conv2d dw gradient error", GC_TOLERANCE);
  gc_worst_report (&g_b, "conv2d db gradient error", GC_TOLERANCE);
}

/* Shapes with out_h and out_w from the shape formula, reflection of a 1x1
 * image and a pad wider than the image, against hand-derived values. */
static void
test_conv2d_shape_and_reflection (void)
{
  NsConv2dShape s;
  ns_conv2d_shape (&s, 1, 1, 7, 6, 1, 3, 2, NS_PAD_REFLECT);
  g_assert_cmpint (s.out_h, ==, 4);
  g_assert_cmpint (s.out_w, ==, 3);
  ns_conv2d_shape (&s, 1, 1, 1, 1, 1, 9, 1, NS_PAD_REFLECT);
  g_assert_cmpint (s.out_h, ==, 1);
  g_assert_cmpint (s.out_w, ==, 1);

  /* 1x1 image, 9x9 kernel of ones, reflection: every tap reads the pixel */
  float px = 0.5f, w[81], out = 0.0f;
  for (int j = 0; j < 81; j++)
    w[j] = 1.0f;
  float *ws = g_new (float, ns_conv2d_workspace (&s));
  ns_conv2d_forward (&out, &px, w, NULL, &s, ws);
  g_assert_cmpfloat_with_epsilon (out, 40.5f, 1e-5f);
  /* and every tap's gradient lands on it */
  float din = 0.0f, one = 1.0f;
  ns_conv2d_backward (&din, NULL, NULL, &one, &px, w, &s, ws);
  g_assert_cmpfloat_with_epsilon (din, 81.0f, 1e-5f);
  g_free (ws);

  /* a row [1 2 3] under a 1x7 horizontal tap picking offset +3 (kernel 7x7
   * with a single one at (3, 6)): reflection with period 4 reads
   * index 3 -> 1, 4 -> 0, 5 -> 1 for outputs 0, 1, 2 */
  float row[3] = { 1, 2, 3 }, w7[49] = { 0 }, out3[3];
  w7[3 * 7 + 6] = 1.0f;
  ns_conv2d_shape (&s, 1, 1, 1, 3, 1, 7, 1, NS_PAD_REFLECT);
  ws = g_new (float, ns_conv2d_workspace (&s));
  ns_conv2d_forward (out3, row, w7, NULL, &s, ws);
  g_assert_cmpfloat (out3[0], ==, 2.0f);
  g_assert_cmpfloat (out3[1], ==, 1.0f);
  g_assert_cmpfloat (out3[2], ==, 2.0f);
  g_free (ws);
}

/* Images big enough to span many im2col bands and long interior runs:
 * forward against the reference, backward by the adjoint identities
 * <conv(x; w), r> = <x, din> = <w, dw> (no bias), which hold for any r. */
static void
test_conv2d_large (void)
{
  static const struct { int n, in_c, h, w, out_c, k, stride; NsPad pad; } shapes[] = {
    { 1, 16, 61, 130, 3, 9, 1, NS_PAD_REFLECT },
    { 1, 16, 64, 129, 2, 9, 2, NS_PAD_ZERO },
    { 2, 48, 40, 200, 4, 3, 1, NS_PAD_ZERO },
    { 2, 24, 66, 300, 5, 5, 2, NS_PAD_REFLECT },
  };
  NsRng rng;
  ns_rng_init (&rng, SEED + 1);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      NsConv2dShape s;
      ns_conv2d_shape (&s, shapes[i].n, shapes[i].in_c, shapes[i].h, shapes[i].w,
                       shapes[i].out_c, shapes[i].k, shapes[i].stride, shapes[i].pad);
      size_t in_len = conv_in_len (&s), w_len = conv_w_len (&s), out_len = conv_out_len (&s);
      size_t ws_len = ns_conv2d_workspace (&s);
      /* the workspace is a band, not the whole image's columns */
      size_t full = (size_t) s.in_c * s.k * s.k * s.out_h * s.out_w; /* per image */
      g_assert_cmpuint (ws_len, <, full);

      float *in = g_new (float, in_len), *w = g_new (float, w_len);
      float *r = g_new (float, out_len), *out = g_new (float, out_len);
      float *ws = g_new (float, ws_len);
      gc_fill_uniform (&rng, in, in_len, -1, 1);
      gc_fill_uniform (&rng, w, w_len, -1, 1);
      gc_fill_uniform (&rng, r, out_len, -1, 1);

      ns_conv2d_forward (out, in, w, NULL, &s, ws);
      double *din_in = gc_to_double (in, in_len), *dw_in = gc_to_double (w, w_len);
      double *want = g_new (double, out_len), *mag = g_new (double, out_len);
      ref_conv2d (want, din_in, dw_in, NULL, &s);
      for (size_t j = 0; j < in_len; j++) din_in[j] = fabs (din_in[j]);
      for (size_t j = 0; j < w_len; j++) dw_in[j] = fabs (dw_in[j]);
      ref_conv2d (mag, din_in, dw_in, NULL, &s);
      double v = forward_violation (out, want, mag, out_len, FWD_RTOL, FWD_ATOL);
      g_test_message ("large conv %d: forward violation %.3g", i, v);
      g_assert_cmpfloat (v, <=, 1.0);

      float *din = g_new0 (float, in_len), *dw = g_new0 (float, w_len);
      ns_conv2d_backward (din, dw, NULL, r, in, w, &s, ws);
      double lhs = gc_dot (want, r, out_len), mag_lhs = 0.0, mag_in = 0.0, mag_w = 0.0;
      double rhs_in = 0.0, rhs_w = 0.0;
      for (size_t j = 0; j < out_len; j++)
        mag_lhs += fabs (want[j] * r[j]);
      for (size_t j = 0; j < in_len; j++)
        {
          rhs_in += (double) din[j] * in[j];
          mag_in += fabs ((double) din[j] * in[j]);
        }
      for (size_t j = 0; j < w_len; j++)
        {
          rhs_w += (double) dw[j] * w[j];
          mag_w += fabs ((double) dw[j] * w[j]);
        }
      double err_in = fabs (lhs - rhs_in) / MAX (mag_lhs, mag_in);
      double err_w = fabs (lhs - rhs_w) / MAX (mag_lhs, mag_w);
      g_test_message ("large conv %d: adjoint error din %.3g, dw %.3g", i, err_in, err_w);
      g_assert_cmpfloat (err_in, <=, 1e-5);
      g_assert_cmpfloat (err_w, <=, 1e-5);

      g_free (in); g_free (w); g_free (r); g_free (out); g_free (ws);
      g_free (din_in); g_free (dw_in); g_free (want); g_free (mag);
      g_free (din); g_free (dw);
    }

  /* a 64-channel 3x3 layer on a 4096^2 image needs one band per core of
   * at most about a row's columns or a few MiB, not the 38 GB of the whole
   * image's columns (the direct kernels: 3 padded rows and 1 output row
   * of the band, 2 x 4 rows per core) */
  const size_t cores = MIN (g_get_num_processors (), 8);
  NsConv2dShape big;
  ns_conv2d_shape (&big, 1, 64, 4096, 4096, 64, 3, 1, NS_PAD_REFLECT);
  g_assert_cmpuint (ns_conv2d_workspace (&big), <=, cores * 64 * 9 * 4096);
  ns_conv2d_shape (&big, 1, 64, 4096, 256, 64, 3, 1, NS_PAD_REFLECT);
  g_assert_cmpuint (ns_conv2d_workspace (&big) * sizeof (float), <=, cores * (4u << 20));
}

/* NULL gradients are skipped and do not change the others. */
static void
test_conv2d_null_gradients (void)
{
  NsRng rng;
  ns_rng_init (&rng, SEED + 2);
  NsConv2dShape s;
  ns_conv2d_shape (&s, 2, 3, 6, 5, 4, 3, 1, NS_PAD_REFLECT);
  size_t in_len = conv_in_len (&s), w_len = conv_w_len (&s), out_len = conv_out_len (&s);
  float *in = g_new (float, in_len), *w = g_new (float, w_len), *r = g_new (float, out_len);
  float *ws = g_new (float, ns_conv2d_workspace (&s));
  gc_fill_uniform (&rng, in, in_len, -1, 1);
  gc_fill_uniform (&rng, w, w_len, -1, 1);
  gc_fill_uniform (&rng, r, out_len, -1, 1);

  float *din = g_new0 (float, in_len), *dw = g_new0 (float, w_len), *db = g_new0 (float, 4);
  ns_conv2d_backward (din, dw, db, r, in, w, &s, ws);
  float *din_only = g_new0 (float, in_len), *dw_only = g_new0 (float, w_len);
  float *db_only = g_new0 (float, 4);
  ns_conv2d_backward (din_only, NULL, NULL, r, in, w, &s, ws);
  ns_conv2d_backward (NULL, dw_only, NULL, r, in, w, &s, ws);
  ns_conv2d_backward (NULL, NULL, db_only, r, in, w, &s, ws);
  ns_conv2d_backward (NULL, NULL, NULL, r, in, w, &s, ws);
  for (size_t j = 0; j < in_len; j++)
    g_assert_cmpfloat_with_epsilon (din_only[j], din[j], 1e-6f);
  for (size_t j = 0; j < w_len; j++)
    g_assert_cmpfloat_with_epsilon (dw_only[j], dw[j], 1e-5f);
  for (int j = 0; j < 4; j++)
    g_assert_cmpfloat_with_epsilon (db_only[j], db[j], 1e-5f);

  g_free (in); g_free (w); g_free (r); g_free (ws); g_free (din); g_free (dw);
  g_free (db); g_free (din_only); g_free (dw_only); g_free (db_only);
}

/* The shapes the generator and discriminator run (every kernel size,
 * stride and channel count, odd image sizes, a batch of 2, channel counts
 * off the kernels' blocks), on the kernels named by the test's data against
 * im2col + BLAS and the double reference: forward values, and din, dw, db
 * norm-wise against im2col's (its own gradients are checked above).
 * The forward bound holds for Winograd F(4,3) too: its transforms'
 * constants (up to 8 and 1/6) make its error up to ~0.35 of the bound where the
 * direct kernels' is ~0.02. */
static void
test_conv2d_model_shapes (gconstpointer data)
{
  const char *kernel = data;
  static const struct { int n, in_c, h, w, out_c, k, stride; NsPad pad; } shapes[] = {
    { 2, 3, 23, 37, 16, 9, 1, NS_PAD_REFLECT },    /* enc1 */
    { 1, 16, 29, 19, 32, 3, 2, NS_PAD_REFLECT },   /* enc2 */
    { 1, 32, 15, 13, 64, 3, 2, NS_PAD_REFLECT },   /* enc3 */
    { 2, 64, 9, 11, 64, 3, 1, NS_PAD_REFLECT },    /* res */
    { 1, 64, 14, 18, 32, 3, 1, NS_PAD_REFLECT },   /* dec1 */
    { 1, 32, 21, 35, 16, 3, 1, NS_PAD_REFLECT },   /* dec2 */
    { 2, 16, 17, 45, 3, 3, 1, NS_PAD_REFLECT },    /* out */
    { 1, 16, 13, 21, 3, 9, 1, NS_PAD_REFLECT },    /* out, 9x9 */
    { 1, 3, 33, 31, 8, 3, 2, NS_PAD_REFLECT },     /* discriminator */
    { 1, 8, 17, 16, 1, 3, 1, NS_PAD_REFLECT },     /* its logits */
    { 1, 5, 12, 40, 12, 5, 1, NS_PAD_ZERO },       /* off the blocks */
    { 1, 7, 10, 9, 5, 7, 2, NS_PAD_ZERO },
    { 1, 2, 4, 5, 3, 9, 1, NS_PAD_REFLECT },       /* pad wider than the image */
    /* Winograd's 4x4 tiles: images smaller than a tile, sizes off the
     * tiles, several blocks of tiles with a partial last one */
    { 1, 64, 1, 1, 64, 3, 1, NS_PAD_REFLECT },
    { 1, 64, 2, 3, 32, 3, 1, NS_PAD_REFLECT },
    { 2, 32, 5, 7, 16, 3, 1, NS_PAD_REFLECT },
    { 1, 64, 33, 17, 64, 3, 1, NS_PAD_REFLECT },
    { 1, 16, 4, 4, 16, 3, 1, NS_PAD_REFLECT },
    { 1, 16, 53, 61, 16, 3, 1, NS_PAD_REFLECT },
    { 2, 16, 5, 7, 16, 3, 1, NS_PAD_ZERO },
    { 1, 20, 33, 17, 27, 3, 1, NS_PAD_ZERO },       /* off the channel blocks */
  };
  if (!ns_conv2d_set_kernel (kernel))
    {
      g_test_skip ("this CPU cannot run these kernels");
      return;
    }
  NsRng rng;
  ns_rng_init (&rng, SEED + 3);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      NsConv2dShape s;
      ns_conv2d_shape (&s, shapes[i].n, shapes[i].in_c, shapes[i].h, shapes[i].w,
                       shapes[i].out_c, shapes[i].k, shapes[i].stride, shapes[i].pad);
      size_t in_len = conv_in_len (&s), w_len = conv_w_len (&s), out_len = conv_out_len (&s);
      float *in = g_new (float, in_len), *w = g_new (float, w_len), *b = g_new (float, s.out_c);
      float *r = g_new (float, out_len), *out = g_new (float, out_len);
      float *ws = g_new (float, MAX (ns_conv2d_workspace (&s), 1));
      gc_fill_uniform (&rng, in, in_len, -1, 1);
      gc_fill_uniform (&rng, w, w_len, -1, 1);
      gc_fill_uniform (&rng, b, s.out_c, -1, 1);
      gc_fill_uniform (&rng, r, out_len, -1, 1);

      ns_conv2d_forward (out, in, w, b, &s, ws);
      double *din_in = gc_to_double (in, in_len), *dw_in = gc_to_double (w, w_len);
      double *db_in = gc_to_double (b, s.out_c);
      double *want = g_new (double, out_len), *mag = g_new (double, out_len);
      ref_conv2d (want, din_in, dw_in, db_in, &s);
      for (size_t j = 0; j < in_len; j++) din_in[j] = fabs (din_in[j]);
      for (size_t j = 0; j < w_len; j++) dw_in[j] = fabs (dw_in[j]);
      for (int j = 0; j < s.out_c; j++) db_in[j] = fabs (db_in[j]);
      ref_conv2d (mag, din_in, dw_in, db_in, &s);
      double v = forward_violation (out, want, mag, out_len, FWD_RTOL, FWD_ATOL);

      /* backward twice (it adds), against im2col's */
      float *g[2][3];
      for (int pass = 0; pass < 2; pass++)
        {
          g_assert_true (ns_conv2d_set_kernel (pass ? "im2col" : kernel));
          g[pass][0] = g_new0 (float, in_len);
          g[pass][1] = g_new0 (float, w_len);
          g[pass][2] = g_new0 (float, s.out_c);
          for (int rep = 0; rep < 2; rep++)
            ns_conv2d_backward (g[pass][0], g[pass][1], g[pass][2], r, in, w, &s, ws);
        }
      g_assert_true (ns_conv2d_set_kernel (kernel));
      const size_t lens[3] = { in_len, w_len, s.out_c };
      double err = 0.0;
      for (int t = 0; t < 3; t++)
        {
          double *ref = gc_to_double (g[1][t], lens[t]);
          err = MAX (err, gc_rel_error (g[0][t], ref, lens[t]));
          g_free (ref);
          g_free (g[0][t]);
          g_free (g[1][t]);
        }
      g_test_message ("%s n=%d %d->%d %dx%d k=%d s=%d: forward violation %.3g, "
                      "gradients vs im2col %.3g", kernel, s.n, s.in_c, s.out_c, s.h,
                      s.w, s.k, s.stride, v, err);
      g_assert_cmpfloat (v, <=, 1.0);
      g_assert_cmpfloat (err, <=, 1e-5);

      g_free (in); g_free (w); g_free (b); g_free (r); g_free (out); g_free (ws);
      g_free (din_in); g_free (dw_in); g_free (db_in); g_free (want); g_free (mag);
    }
}

/* ns_conv2d_forward_upsampled against upsampling first and then
 * ns_conv2d_forward, bit for bit: the decoder's shapes (the generator's
 * dec1 and dec2) and some off them, odd half sizes, a 1x1 half, several
 * blocks of tiles, both upsamplings, zero padding; each computed on the
 * pool and, at the same time, by three threads that find the pool busy and
 * run alone.  Kernels that do not fuse say so. */
typedef struct
{
  const NsConv2dShape *s;
  const float *in, *w, *b, *want;
  NsUpsampleRowFunc up;
} UpsampledRun;

static gpointer
upsampled_run (gpointer data)
{
  const UpsampledRun *u = data;
  const size_t out_len = conv_out_len (u->s);
  float *out = g_new (float, out_len), *ws = g_new (float, ns_conv2d_workspace (u->s));
  gboolean same = TRUE;
  for (int rep = 0; rep < 3 && same; rep++)
    {
      ns_conv2d_forward_upsampled (out, u->in, u->up, u->w, u->b, u->s, ws);
      same = memcmp (out, u->want, sizeof (float) * out_len) == 0;
    }
  g_free (out);
  g_free (ws);
  return GINT_TO_POINTER (same);
}

static void
test_conv2d_upsampled (gconstpointer data)
{
  const char *kernel = data;
  static const struct { int n, in_c, h, w, out_c; NsPad pad; } shapes[] = {
    { 1, 64, 9, 7, 32, NS_PAD_REFLECT },     /* dec1 (half sizes) */
    { 2, 32, 11, 17, 16, NS_PAD_REFLECT },   /* dec2, a batch */
    { 1, 32, 1, 1, 16, NS_PAD_REFLECT },
    { 1, 16, 2, 3, 16, NS_PAD_REFLECT },
    { 1, 16, 50, 61, 16, NS_PAD_REFLECT },   /* many blocks, rows across them */
    { 1, 16, 5, 101, 16, NS_PAD_REFLECT },   /* a block of whole vectors inside a row */
    { 1, 20, 13, 8, 27, NS_PAD_ZERO },
  };
  if (!ns_conv2d_set_kernel (kernel))
    {
      g_test_skip ("this CPU cannot run these kernels");
      return;
    }
  NsRng rng;
  ns_rng_init (&rng, SEED + 14);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int bilinear = 0; bilinear < 2; bilinear++)
      {
        NsConv2dShape s;
        const int hh = shapes[i].h, hw = shapes[i].w, n = shapes[i].n, c = shapes[i].in_c;
        ns_conv2d_shape (&s, n, c, 2 * hh, 2 * hw, shapes[i].out_c, 3, 1, shapes[i].pad);
        if (!ns_conv2d_reads_upsampled (&s))
          {
            /* only Winograd fuses */
            g_assert_true (strstr (kernel, "direct") || strcmp (kernel, "im2col") == 0);
            continue;
          }
        const size_t half_len = (size_t) n * c * hh * hw, out_len = conv_out_len (&s);
        float *half = g_new (float, half_len), *up = g_new (float, conv_in_len (&s));
        float *w = g_new (float, conv_w_len (&s)), *b = g_new (float, s.out_c);
        float *want = g_new (float, out_len), *ws = g_new (float, ns_conv2d_workspace (&s));
        gc_fill_uniform (&rng, half, half_len, -1, 1);
        gc_fill_uniform (&rng, w, conv_w_len (&s), -1, 1);
        gc_fill_uniform (&rng, b, s.out_c, -1, 1);
        (bilinear ? ns_upsample2x_bilinear_forward : ns_upsample2x_forward) (up, half, n, c, hh, hw);
        ns_conv2d_forward (want, up, w, b, &s, ws);

        UpsampledRun run = { &s, half, w, b, want,
                             bilinear ? ns_upsample2x_bilinear_row : ns_upsample2x_row };
        GThread *others[3];
        for (int t = 0; t < 3; t++)
          others[t] = g_thread_new ("upsampled", upsampled_run, &run);
        gboolean same = GPOINTER_TO_INT (upsampled_run (&run));
        for (int t = 0; t < 3; t++)
          same = GPOINTER_TO_INT (g_thread_join (others[t])) && same;
        g_test_message ("%s %s n=%d %d->%d from %dx%d: %s", kernel,
                        bilinear ? "bilinear" : "nearest", n, c, s.out_c, hh, hw,
                        same ? "the same bits" : "DIFFERENT");
        g_assert_true (same);
        g_free (half); g_free (up); g_free (w); g_free (b); g_free (want); g_free (ws);
      }
}

/* Runs one of the conv2d tests above on the kernels named by `kernel`
 * (skipped where the CPU cannot run them). */
typedef struct
{
  const char *kernel;
  GTestFunc test;
} KernelTest;

static void
test_on_kernel (gconstpointer data)
{
  const KernelTest *t = data;
  if (!ns_conv2d_set_kernel (t->kernel))
    {
      g_test_skip ("this CPU cannot run these kernels");
      return;
    }
  t->test ();
}

/* ======================================================================== */
/* instance norm and conditional instance norm                              */

static void
ref_instnorm (double *out, const double *in, const double *gamma,
              const double *beta, int n, int c, int hw)
{
  for (int i = 0; i < n * c; i++)
    {
      const double *x = in + (size_t) i * hw;
      double mean = 0.0, var = 0.0;
      for (int j = 0; j < hw; j++)
        mean += x[j] / hw;
      for (int j = 0; j < hw; j++)
        var += (x[j] - mean) * (x[j] - mean) / hw;
      double inv = 1.0 / sqrt (var + (double) NS_INSTNORM_EPS);
      for (int j = 0; j < hw; j++)
        out[(size_t) i * hw + j] = gamma[i % c] * (x[j] - mean) * inv + beta[i % c];
    }
}

typedef struct
{
  int n, c, hw, n_styles;
  double *in, *gamma, *beta, *mix, *out; /* cond: gamma/beta are [n_styles][c] */
  const float *r;
} NormCase;

static double
instnorm_loss (gpointer data)
{
  NormCase *t = data;
  ref_instnorm (t->out, t->in, t->gamma, t->beta, t->n, t->c, t->hw);
  return gc_dot (t->out, t->r, (size_t) t->n * t->c * t->hw);
}

static void
mix_styles (double *eff, const double *rows, const double *mix, int n_styles, int c)
{
  for (int ch = 0; ch < c; ch++)
    {
      eff[ch] = 0.0;
      for (int s = 0; s < n_styles; s++)
        eff[ch] += mix[s] * rows[s * c + ch];
    }
}

#define MAX_NORM_C 3

static double
cond_instnorm_loss (gpointer data)
{
  NormCase *t = data;
  double gamma[MAX_NORM_C], beta[MAX_NORM_C];
  mix_styles (gamma, t->gamma, t->mix, t->n_styles, t->c);
  mix_styles (beta, t->beta, t->mix, t->n_styles, t->c);
  ref_instnorm (t->out, t->in, gamma, beta, t->n, t->c, t->hw);
  return gc_dot (t->out, t->r, (size_t) t->n * t->c * t->hw);
}

/* Random sizes: a few planes of 1..7 x 1..7 pixels, the first of one pixel
 * (its din is exactly 0).  Two-pixel planes are left out: they normalise to
 * +-1 whatever the input, so their true din is O(eps / var), smaller than the
 * float rounding of rstd times the O(1) terms it is computed from; a relative
 * error there measures that conditioning, not the backward. */
static void
random_norm_shape (NsRng *rng, int index, int *n, int *c, int *hw)
{
  *n = index % 2 ? 2 : 1;
  *c = 1 + ns_rng_below (rng, MAX_NORM_C);
  do
    *hw = index == 0 ? 1 : (1 + ns_rng_below (rng, 7)) * (1 + ns_rng_below (rng, 7));
  while (*hw == 2);
  /* one plane long enough for the vectorised sums' lanes, with a tail */
  if (index == 11)
    *hw = 16 * 64 + 7;
}

static void
test_instnorm (void)
{
  NsRng rng;
  ns_rng_init (&rng, SEED + 3);
  GcWorst fwd = { 0 }, g_in = { 0 }, g_gamma = { 0 }, g_beta = { 0 }, accum = { 0 };

  for (int t = 0; t < 12; t++)
    {
      int n, c, hw;
      random_norm_shape (&rng, t, &n, &c, &hw);
      size_t len = (size_t) n * c * hw;
      /* an offset and a spread per case: the variance must be computed
       * stably, not as E[x^2] - E[x]^2 */
      float offset = t % 3 == 2 ? 100.0f : 0.0f, spread = t % 4 == 3 ? 0.01f : 1.0f;
      float *in = g_new (float, len), *gamma = g_new (float, c), *beta = g_new (float, c);
      float *r = g_new (float, len), *out = g_new (float, len);
      float *mean = g_new (float, n * c), *rstd = g_new (float, n * c);
      gc_fill_uniform (&rng, in, len, offset - spread, offset + spread);
      gc_fill_uniform (&rng, gamma, c, 0.5f, 1.5f);
      gc_fill_uniform (&rng, beta, c, -1, 1);
      gc_fill_uniform (&rng, r, len, -1, 1);
      char where[96];
      g_snprintf (where, sizeof where, "n=%d c=%d hw=%d offset=%g spread=%g",
                  n, c, hw, offset, spread);

      NormCase nc = { n, c, hw, 1, gc_to_double (in, len), gc_to_double (gamma, c),
                      gc_to_double (beta, c), NULL, g_new (double, len), r };
      ns_instnorm_forward (out, mean, rstd, in, gamma, beta, n, c, hw, FALSE);
      {
        /* the fused ReLU: max (0, the plain output), bit for bit */
        float *relu = g_new (float, len);
        ns_instnorm_forward (relu, mean, rstd, in, gamma, beta, n, c, hw, TRUE);
        for (size_t j = 0; j < len; j++)
          g_assert_cmpfloat (relu[j], ==, out[j] > 0.0f ? out[j] : 0.0f);
        g_free (relu);
      }
      instnorm_loss (&nc);
      gc_worst_update (&fwd, forward_violation (out, nc.out, NULL, len, FWD_RTOL, FWD_ATOL),
                       "%s", where);

      float *din = g_new0 (float, len), *dgamma = g_new0 (float, c), *dbeta = g_new0 (float, c);
      ns_instnorm_backward (din, dgamma, dbeta, r, in, mean, rstd, gamma, n, c, hw);
      float *din1 = copy_floats (din, len), *dgamma1 = copy_floats (dgamma, c);
      float *dbeta1 = copy_floats (dbeta, c);
      ns_instnorm_backward (din, dgamma, dbeta, r, in, mean, rstd, gamma, n, c, hw);
      gc_worst_update (&accum, MAX (accumulation_error (din, din1, len),
                                    MAX (accumulation_error (dgamma, dgamma1, c),
                                         accumulation_error (dbeta, dbeta1, c))),
                       "%s", where);

      double *num = g_new (double, len);
      gc_numeric_grad (num, nc.in, len, instnorm_loss, &nc);
      gc_worst_update (&g_in, gc_rel_error (din1, num, len), "%s", where);
      gc_numeric_grad (num, nc.gamma, c, instnorm_loss, &nc);
      gc_worst_update (&g_gamma, gc_rel_error (dgamma1, num, c), "%s", where);
      gc_numeric_grad (num, nc.beta, c, instnorm_loss, &nc);
      gc_worst_update (&g_beta, gc_rel_error (dbeta1, num, c), "%s", where);

      g_free (num); g_free (din); g_free (dgamma); g_free (dbeta);
      g_free (din1); g_free (dgamma1); g_free (dbeta1);
      g_free (nc.in); g_free (nc.gamma); g_free (nc.beta); g_free (nc.out);
      g_free (in); g_free (gamma); g_free (beta); g_free (r); g_free (out);
      g_free (mean); g_free (rstd);
    }
  /* NULL gamma and beta mean no affine transform */
  {
    float x[6] = { 1, 2, 4, -1, 0, 7 }, y[6], y_affine[6], mean[1], rstd[1];
    float one = 1.0f, zero = 0.0f, dx[6] = { 0 }, dx_affine[6] = { 0 }, g[6] = { 1, -2, 0, 3, 1, 1 };
    ns_instnorm_forward (y, mean, rstd, x, NULL, NULL, 1, 1, 6, FALSE);
    ns_instnorm_forward (y_affine, mean, rstd, x, &one, &zero, 1, 1, 6, FALSE);
    g_assert_cmpmem (y, sizeof y, y_affine, sizeof y_affine);
    ns_instnorm_backward (dx, NULL, NULL, g, x, mean, rstd, NULL, 1, 1, 6);
    ns_instnorm_backward (dx_affine, NULL, NULL, g, x, mean, rstd, &one, 1, 1, 6);
    g_assert_cmpmem (dx, sizeof dx, dx_affine, sizeof dx_affine);
  }
  gc_worst_report (&fwd, "instnorm forward violation (<= 1 passes)", 1.0);
  gc_worst_report (&accum, "instnorm accumulation error", 1e-5);
  gc_worst_report (&g_in, "instnorm din gradient error", NORM_TOLERANCE);
  gc_worst_report (&g_gamma, "instnorm dgamma gradient error", NORM_TOLERANCE);
  gc_worst_report (&g_beta, "instnorm dbeta gradient error", GC_TOLERANCE);
}

/* A layer large enough to run its planes on the worker pool gives the
 * same bits as each plane normalised alone (on the calling thread), and
 * the conditional backward (threaded by channel) the same as the plain one
 * (plane by plane) with one style. */
static void
test_instnorm_threaded (void)
{
  NsRng rng;
  ns_rng_init (&rng, SEED + 9);
  const int n = 1, c = 5, hw = 16 * 1000 + 3;   /* 80015 floats: threaded */
  const size_t len = (size_t) n * c * hw;
  float *in = g_new (float, len), *r = g_new (float, len);
  gc_fill_uniform (&rng, in, len, -1, 1);
  gc_fill_uniform (&rng, r, len, -1, 1);
  float gamma[5], beta[5], mix[1] = { 1.0f }, mean[5], rstd[5], geff[5], beff[5];
  gc_fill_uniform (&rng, gamma, c, 0.5f, 1.5f);
  gc_fill_uniform (&rng, beta, c, -1, 1);
  float *out = g_new (float, len), *one = g_new (float, hw);
  for (int relu = 0; relu < 2; relu++)
    {
      ns_cond_instnorm_forward (out, mean, rstd, geff, beff, in, gamma, beta, mix,
                                1, n, c, hw, relu);
      for (int ch = 0; ch < c; ch++)
        {
          float m1, r1;
          ns_instnorm_forward (one, &m1, &r1, in + (size_t) ch * hw, gamma + ch,
                               beta + ch, 1, 1, hw, relu);
          g_assert_cmpmem (one, sizeof (float) * hw, out + (size_t) ch * hw,
                           sizeof (float) * hw);
          g_assert_cmpfloat (m1, ==, mean[ch]);
          g_assert_cmpfloat (r1, ==, rstd[ch]);
        }
    }
  float *din = g_new0 (float, len), *din_ref = g_new0 (float, len);
  float dg[5] = { 0 }, db[5] = { 0 }, dg_ref[5] = { 0 }, db_ref[5] = { 0 };
  ns_cond_instnorm_backward (din, dg, db, r, in, mean, rstd, geff, mix, 1, n, c, hw);
  ns_instnorm_backward (din_ref, dg_ref, db_ref, r, in, mean, rstd, geff, n, c, hw);
  g_assert_cmpmem (din, sizeof (float) * len, din_ref, sizeof (float) * len);
  g_assert_cmpmem (dg, sizeof dg, dg_ref, sizeof dg_ref);
  g_assert_cmpmem (db, sizeof db, db_ref, sizeof db_ref);
  g_free (in); g_free (r); g_free (out); g_free (one); g_free (din); g_free (din_ref);
}

static void
test_cond_instnorm (void)
{
  NsRng rng;
  ns_rng_init (&rng, SEED + 4);
  GcWorst fwd = { 0 }, g_in = { 0 }, g_gammas = { 0 }, g_betas = { 0 }, accum = { 0 };

  for (int t = 0; t < 12; t++)
    {
      int n, c, hw;
      random_norm_shape (&rng, t, &n, &c, &hw);
      int styles = 1 + t % 3;
      float offset = t % 3 == 2 ? 100.0f : 0.0f, spread = t % 4 == 3 ? 0.01f : 1.0f;
      size_t len = (size_t) n * c * hw, plen = (size_t) styles * c;
      float *in = g_new (float, len), *gammas = g_new (float, plen);
      float *betas = g_new (float, plen), *mix = g_new (float, styles);
      float *r = g_new (float, len), *out = g_new (float, len);
      float *mean = g_new (float, n * c), *rstd = g_new (float, n * c);
      float *gamma_eff = g_new (float, c), *beta_eff = g_new (float, c);
      gc_fill_uniform (&rng, in, len, offset - spread, offset + spread);
      gc_fill_uniform (&rng, gammas, plen, 0.5f, 1.5f);
      gc_fill_uniform (&rng, betas, plen, -1, 1);
      gc_fill_uniform (&rng, r, len, -1, 1);
      /* alternately one-hot (pick the last style) and a convex mix */
      float total = 0.0f;
      for (int s = 0; s < styles; s++)
        {
          if (t % 2)
            mix[s] = s == styles - 1 ? 1.0f : 0.0f;
          else
            mix[s] = 0.1f + ns_rng_uniform (&rng);
          total += mix[s];
        }
      for (int s = 0; s < styles; s++)
        mix[s] /= total;
      char where[96];
      g_snprintf (where, sizeof where, "n=%d c=%d hw=%d offset=%g spread=%g styles=%d %s",
                  n, c, hw, offset, spread, styles, t % 2 ? "one-hot" : "mixed");

      NormCase nc = { n, c, hw, styles, gc_to_double (in, len), gc_to_double (gammas, plen),
                      gc_to_double (betas, plen), gc_to_double (mix, styles),
                      g_new (double, len), r };
      ns_cond_instnorm_forward (out, mean, rstd, gamma_eff, beta_eff, in, gammas,
                                betas, mix, styles, n, c, hw, FALSE);
      cond_instnorm_loss (&nc);
      double v = forward_violation (out, nc.out, NULL, len, FWD_RTOL, FWD_ATOL);
      double gamma_want[MAX_NORM_C], beta_want[MAX_NORM_C];
      mix_styles (gamma_want, nc.gamma, nc.mix, styles, c);
      mix_styles (beta_want, nc.beta, nc.mix, styles, c);
      v = MAX (v, forward_violation (gamma_eff, gamma_want, NULL, c, FWD_RTOL, FWD_ATOL));
      v = MAX (v, forward_violation (beta_eff, beta_want, NULL, c, FWD_RTOL, FWD_ATOL));
      gc_worst_update (&fwd, v, "%s", where);

      float *din = g_new0 (float, len), *dgammas = g_new0 (float, plen);
      float *dbetas = g_new0 (float, plen);
      ns_cond_instnorm_backward (din, dgammas, dbetas, r, in, mean, rstd, gamma_eff,
                                 mix, styles, n, c, hw);
      float *din1 = copy_floats (din, len), *dgammas1 = copy_floats (dgammas, plen);
      float *dbetas1 = copy_floats (dbetas, plen);
      ns_cond_instnorm_backward (din, dgammas, dbetas, r, in, mean, rstd, gamma_eff,
                                 mix, styles, n, c, hw);
      gc_worst_update (&accum, MAX (accumulation_error (din, din1, len),
                                    MAX (accumulation_error (dgammas, dgammas1, plen),
                                         accumulation_error (dbetas, dbetas1, plen))),
                       "%s", where);

      double *num = g_new (double, MAX (len, plen));
      gc_numeric_grad (num, nc.in, len, cond_instnorm_loss, &nc);
      gc_worst_update (&g_in, gc_rel_error (din1, num, len), "%s", where);
      gc_numeric_grad (num, nc.gamma, plen, cond_instnorm_loss, &nc);
      gc_worst_update (&g_gammas, gc_rel_error (dgammas1, num, plen), "%s", where);
      gc_numeric_grad (num, nc.beta, plen, cond_instnorm_loss, &nc);
      gc_worst_update (&g_betas, gc_rel_error (dbetas1, num, plen), "%s", where);

      g_free (num); g_free (din); g_free (dgammas); g_free (dbetas);
      g_free (din1); g_free (dgammas1); g_free (dbetas1);
      g_free (nc.in); g_free (nc.gamma); g_free (nc.beta); g_free (nc.mix); g_free (nc.out);
      g_free (in); g_free (gammas); g_free (betas); g_free (mix); g_free (r); g_free (out);
      g_free (mean); g_free (rstd); g_free (gamma_eff); g_free (beta_eff);
    }
  gc_worst_report (&fwd, "cond_instnorm forward violation (<= 1 passes)", 1.0);
  gc_worst_report (&accum, "cond_instnorm accumulation error", 1e-5);
  gc_worst_report (&g_in, "cond_instnorm din gradient error", NORM_TOLERANCE);
  gc_worst_report (&g_gammas, "cond_instnorm dgammas gradient error", NORM_TOLERANCE);
  gc_worst_report (&g_betas, "cond_instnorm dbetas gradient error", GC_TOLERANCE);
}

/* ======================================================================== */
/* element-wise and resampling ops, through one generic single-input case  */

typedef void (*RefUnary) (double *out, const double *in, gconstpointer params);

typedef struct
{
  RefUnary ref;
  gconstpointer params;
  double *in, *out;
  size_t out_len;
  const float *r;
} UnaryCase;

static double
unary_loss (gpointer data)
{
  UnaryCase *u = data;
  u->ref (u->out, u->in, u->params);
  return gc_dot (u->out, u->r, u->out_len);
}

typedef struct { NsAct act; float slope; size_t len; } ActParams;

static void
ref_act (double *out, const double *in, gconstpointer params)
{
  const ActParams *p = params;
  for (size_t j = 0; j < p->len; j++)
    {
      double x = in[j];
      switch (p->act)
        {
        case NS_ACT_RELU: out[j] = x > 0 ? x : 0; break;
        case NS_ACT_LEAKY_RELU: out[j] = x > 0 ? x : p->slope * x; break;
        case NS_ACT_TANH: out[j] = tanh (x); break;
        case NS_ACT_SIGMOID: out[j] = 1.0 / (1.0 + exp (-x)); break;
        }
    }
}

static void
test_act (gconstpointer data)
{
  const NsAct act = GPOINTER_TO_INT (data);
  static const char *names[] = { "relu", "leaky_relu", "tanh", "sigmoid" };
  NsRng rng;
  ns_rng_init (&rng, SEED + 5 + act);
  GcWorst fwd = { 0 }, g_in = { 0 }, accum = { 0 };

  for (int t = 0; t < 6; t++)
    {
      ActParams p = { act, 0.2f, 1 + ns_rng_below (&rng, 300) };
      float *in = g_new (float, p.len), *out = g_new (float, p.len), *r = g_new (float, p.len);
      /* 0.01 keeps the finite difference (step 1e-6) off the ReLU kink */
      gc_fill_away_from_zero (&rng, in, p.len, 4.0f, 0.01f);
      gc_fill_uniform (&rng, r, p.len, -1, 1);
      UnaryCase u = { ref_act, &p, gc_to_double (in, p.len), g_new (double, p.len), p.len, r };

      ns_act_forward (out, in, p.len, act, p.slope);
      unary_loss (&u);
      gc_worst_update (&fwd, forward_violation (out, u.out, NULL, p.len, FWD_RTOL, FWD_ATOL),
                       "len=%zu", p.len);
      /* in-place forward gives the same */
      float *inplace = copy_floats (in, p.len);
      ns_act_forward (inplace, inplace, p.len, act, p.slope);
      g_assert_cmpmem (inplace, sizeof (float) * p.len, out, sizeof (float) * p.len);

      float *din = g_new0 (float, p.len);
      ns_act_backward (din, r, in, out, p.len, act, p.slope);
      float *din1 = copy_floats (din, p.len);
      ns_act_backward (din, r, in, out, p.len, act, p.slope);
      gc_worst_update (&accum, accumulation_error (din, din1, p.len), "len=%zu", p.len);
      double *num = g_new (double, p.len);
      gc_numeric_grad (num, u.in, p.len, unary_loss, &u);
      gc_worst_update (&g_in, gc_rel_error (din1, num, p.len), "len=%zu", p.len);

      g_free (num); g_free (din); g_free (din1); g_free (inplace);
      g_free (u.in); g_free (u.out); g_free (in); g_free (out); g_free (r);
    }

  /* saturation: no NaN or overflow far out */
  float far[4] = { -100.0f, -30.0f, 30.0f, 100.0f }, far_out[4];
  ns_act_forward (far_out, far, 4, act, 0.2f);
  for (int j = 0; j < 4; j++)
    g_assert_true (isfinite (far_out[j]));

  char label[64];
  g_snprintf (label, sizeof label, "%s forward violation (<= 1 passes)", names[act]);
  gc_worst_report (&fwd, label, 1.0);
  g_snprintf (label, sizeof label, "%s accumulation error", names[act]);
  gc_worst_report (&accum, label, 1e-5);
  g_snprintf (label, sizeof label, "%s din gradient error", names[act]);
  gc_worst_report (&g_in, label, GC_TOLERANCE);
}

typedef struct { int n, c, h, w; } PlaneParams;

static void
ref_upsample (double *out, const double *in, gconstpointer params)
{
  const PlaneParams *p = params;
  for (int i = 0; i < p->n * p->c; i++)
    for (int y = 0; y < 2 * p->h; y++)
      for (int x = 0; x < 2 * p->w; x++)
        out[((size_t) i * 2 * p->h + y) * 2 * p->w + x] =
          in[((size_t) i * p->h + y / 2) * p->w + x / 2];
}

/* bilinear x2 from its definition: sample at (y + 0.5) / 2 - 0.5, clamped */
static double
ref_bilinear_tap (const double *plane, int h, int w, double sy, double sx)
{
  int y0 = (int) floor (sy), x0 = (int) floor (sx);
  double fy = sy - y0, fx = sx - x0, sum = 0.0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++)
      {
        int y = CLAMP (y0 + dy, 0, h - 1), x = CLAMP (x0 + dx, 0, w - 1);
        sum += (dy ? fy : 1 - fy) * (dx ? fx : 1 - fx) * plane[(size_t) y * w + x];
      }
  return sum;
}

static void
ref_upsample_bilinear (double *out, const double *in, gconstpointer params)
{
  const PlaneParams *p = params;
  for (int i = 0; i < p->n * p->c; i++)
    for (int y = 0; y < 2 * p->h; y++)
      for (int x = 0; x < 2 * p->w; x++)
        out[((size_t) i * 2 * p->h + y) * 2 * p->w + x] =
          ref_bilinear_tap (in + (size_t) i * p->h * p->w, p->h, p->w,
                            (y + 0.5) / 2 - 0.5, (x + 0.5) / 2 - 0.5);
}

static void
ref_avgpool (double *out, const double *in, gconstpointer params)
{
  const PlaneParams *p = params;
  int oh = p->h / 2, ow = p->w / 2;
  for (int i = 0; i < p->n * p->c; i++)
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        {
          double sum = 0.0;
          for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
              sum += in[((size_t) i * p->h + 2 * y + dy) * p->w + 2 * x + dx];
          out[((size_t) i * oh + y) * ow + x] = sum / 4;
        }
}

typedef void (*PlaneForward) (float *out, const float *in, int n, int c, int h, int w);
typedef void (*PlaneBackward) (float *din, const float *dout, int n, int c, int h, int w);

static void
check_resample (const char *name, PlaneForward forward, PlaneBackward backward,
                RefUnary ref, gboolean up, guint64 seed)
{
  NsRng rng;
  ns_rng_init (&rng, seed);
  GcWorst fwd = { 0 }, g_in = { 0 }, accum = { 0 };

  for (int t = 0; t < 8; t++)
    {
      /* odd sizes, 1x1 and single rows included */
      PlaneParams p = { t % 2 ? 2 : 1, 1 + ns_rng_below (&rng, 3),
                        t == 0 ? 1 : 1 + ns_rng_below (&rng, 9),
                        t == 0 ? 1 : 1 + ns_rng_below (&rng, 9) };
      size_t in_len = (size_t) p.n * p.c * p.h * p.w;
      size_t out_len = up ? 4 * in_len : (size_t) p.n * p.c * (p.h / 2) * (p.w / 2);
      float *in = g_new (float, in_len), *out = g_new (float, MAX (out_len, 1));
      float *r = g_new (float, MAX (out_len, 1));
      gc_fill_uniform (&rng, in, in_len, -1, 1);
      gc_fill_uniform (&rng, r, out_len, -1, 1);
      UnaryCase u = { ref, &p, gc_to_double (in, in_len), g_new (double, MAX (out_len, 1)),
                      out_len, r };

      forward (out, in, p.n, p.c, p.h, p.w);
      unary_loss (&u);
      gc_worst_update (&fwd, forward_violation (out, u.out, NULL, out_len, FWD_RTOL, FWD_ATOL),
                       "n=%d c=%d %dx%d", p.n, p.c, p.h, p.w);

      float *din = g_new0 (float, in_len);
      backward (din, r, p.n, p.c, p.h, p.w);
      float *din1 = copy_floats (din, in_len);
      backward (din, r, p.n, p.c, p.h, p.w);
      backward (NULL, r, p.n, p.c, p.h, p.w);
      gc_worst_update (&accum, accumulation_error (din, din1, in_len),
                       "n=%d c=%d %dx%d", p.n, p.c, p.h, p.w);
      double *num = g_new (double, in_len);
      gc_numeric_grad (num, u.in, in_len, unary_loss, &u);
      gc_worst_update (&g_in, gc_rel_error (din1, num, in_len),
                       "n=%d c=%d %dx%d", p.n, p.c, p.h, p.w);

      g_free (num); g_free (din); g_free (din1);
      g_free (u.in); g_free (u.out); g_free (in); g_free (out); g_free (r);
    }
  char label[64];
  g_snprintf (label, sizeof label, "%s forward violation (<= 1 passes)", name);
  gc_worst_report (&fwd, label, 1.0);
  g_snprintf (label, sizeof label, "%s accumulation error", name);
  gc_worst_report (&accum, label, 1e-5);
  g_snprintf (label, sizeof label, "%s din gradient error", name);
  gc_worst_report (&g_in, label, GC_TOLERANCE);
}

static void
test_upsample (void)
{
  check_resample ("upsample2x", ns_upsample2x_forward, ns_upsample2x_backward,
                  ref_upsample, TRUE, SEED + 10);
}

static void
test_upsample_bilinear (void)
{
  check_resample ("upsample2x bilinear", ns_upsample2x_bilinear_forward,
                  ns_upsample2x_bilinear_backward, ref_upsample_bilinear, TRUE, SEED + 12);

  /* a layer large enough for the worker pool: every value as the plain
   * formula gives it (bit for bit), and the backward as plane by plane */
  const int c = 3, h = 150, w = 151;
  const size_t in_len = (size_t) c * h * w, out_len = 4 * in_len;
  NsRng rng;
  ns_rng_init (&rng, SEED + 13);
  float *in = g_new (float, in_len), *out = g_new (float, out_len);
  float *r = g_new (float, out_len), *din = g_new0 (float, in_len);
  float *din1 = g_new0 (float, (size_t) h * w);
  gc_fill_uniform (&rng, in, in_len, -1, 1);
  gc_fill_uniform (&rng, r, out_len, -1, 1);
  ns_upsample2x_bilinear_forward (out, in, 1, c, h, w);
  for (int ch = 0; ch < c; ch++)
    for (int oy = 0; oy < 2 * h; oy++)
      for (int ox = 0; ox < 2 * w; ox++)
        {
          int y0 = oy / 2, x0 = ox / 2;
          int y1 = CLAMP (oy & 1 ? y0 + 1 : y0 - 1, 0, h - 1);
          int x1 = CLAMP (ox & 1 ? x0 + 1 : x0 - 1, 0, w - 1);
          const float *p = in + (size_t) ch * h * w;
          float want = 0.5625f * p[y0 * w + x0] + 0.1875f * (p[y0 * w + x1] + p[y1 * w + x0])
                       + 0.0625f * p[y1 * w + x1];
          g_assert_cmpfloat (out[((size_t) ch * 2 * h + oy) * 2 * w + ox], ==, want);
        }
  /* any span of a row, as the convolutions read it, is the same span of
   * the whole row: starts odd and even, inside the border columns too */
  for (int oy = 0; oy < 2 * h; oy += 7)
    for (int x0 = 0; x0 < 2 * w; x0 += 5)
      for (int x1 = x0 + 1; x1 <= 2 * w; x1 += 1 + x1 / 4)
        {
          float span[2 * 151];
          ns_upsample2x_bilinear_row (span, in, h, w, oy, x0, x1);
          g_assert_cmpmem (span, sizeof (float) * (x1 - x0),
                           out + (size_t) oy * 2 * w + x0, sizeof (float) * (x1 - x0));
        }
  ns_upsample2x_bilinear_backward (din, r, 1, c, h, w);
  for (int ch = 0; ch < c; ch++)
    {
      memset (din1, 0, sizeof (float) * h * w);
      ns_upsample2x_bilinear_backward (din1, r + (size_t) ch * 4 * h * w, 1, 1, h, w);
      g_assert_cmpmem (din1, sizeof (float) * h * w, din + (size_t) ch * h * w,
                       sizeof (float) * h * w);
    }
  g_free (in); g_free (out); g_free (r); g_free (din); g_free (din1);
}

/* A residual add large enough for the pool's parts (and a rest), in place
 * as the generator runs it: every sum as the plain formula gives it. */
static void
test_add_threaded (void)
{
  const size_t len = 3 * (1 << 15) + 17;
  NsRng rng;
  ns_rng_init (&rng, SEED + 15);
  float *a = g_new (float, len), *b = g_new (float, len), *want = g_new (float, len);
  gc_fill_uniform (&rng, a, len, -1, 1);
  gc_fill_uniform (&rng, b, len, -1, 1);
  for (size_t j = 0; j < len; j++)
    want[j] = a[j] + b[j];
  ns_add_forward (a, a, b, len);
  g_assert_cmpmem (a, sizeof (float) * len, want, sizeof (float) * len);
  g_free (a); g_free (b); g_free (want);
}

static void
test_avgpool (void)
{
  check_resample ("avgpool2x2", ns_avgpool2x2_forward, ns_avgpool2x2_backward,
                  ref_avgpool, FALSE, SEED + 11);
}

/* ======================================================================== */
/* two-input ops: residual add, MSE, MAE                                     */

typedef struct
{
  int op; /* 0 add, 1 mse, 2 mae */
  size_t len;
  double *a, *b, *out;
  const float *r;
  float scale;
} BinaryCase;

static double
binary_loss (gpointer data)
{
  BinaryCase *t = data;
  double sum = 0.0;
  switch (t->op)
    {
    case 0:
      for (size_t j = 0; j < t->len; j++)
        t->out[j] = t->a[j] + t->b[j];
      return gc_dot (t->out, t->r, t->len);
    case 1:
      for (size_t j = 0; j < t->len; j++)
        sum += (t->a[j] - t->b[j]) * (t->a[j] - t->b[j]);
      return t->scale * sum / t->len;
    default:
      for (size_t j = 0; j < t->len; j++)
        sum += fabs (t->a[j] - t->b[j]);
      return t->scale * sum / t->len;
    }
}

static void
binary_backward (int op, float *da, float *db, const float *a, const float *b,
                 const float *r, size_t len, float scale)
{
  if (op == 0)
    ns_add_backward (da, db, r, len);
  else if (op == 1)
    ns_mse_backward (da, db, a, b, len, scale);
  else
    ns_mae_backward (da, db, a, b, len, scale);
}

static void
test_binary (gconstpointer data)
{
  const int op = GPOINTER_TO_INT (data);
  static const char *names[] = { "add", "mse", "mae" };
  NsRng rng;
  ns_rng_init (&rng, SEED + 20 + op);
  GcWorst fwd = { 0 }, g_a = { 0 }, g_b = { 0 }, accum = { 0 };

  for (int t = 0; t < 6; t++)
    {
      size_t len = 1 + ns_rng_below (&rng, 400);
      float scale = 0.5f + 2.0f * ns_rng_uniform (&rng);
      float *a = g_new (float, len), *b = g_new (float, len);
      float *r = g_new (float, len), *out = g_new (float, len);
      gc_fill_uniform (&rng, a, len, -1, 1);
      gc_fill_uniform (&rng, r, len, -1, 1);
      /* b = a + d with |d| >= 0.01: MAE's kink at a == b stays out of reach */
      gc_fill_away_from_zero (&rng, b, len, 1.0f, 0.01f);
      for (size_t j = 0; j < len; j++)
        b[j] += a[j];
      BinaryCase bc = { op, len, gc_to_double (a, len), gc_to_double (b, len),
                        g_new (double, len), r, scale };

      double v;
      if (op == 0)
        {
          ns_add_forward (out, a, b, len);
          binary_loss (&bc);
          v = forward_violation (out, bc.out, NULL, len, FWD_RTOL, FWD_ATOL);
        }
      else
        {
          double got = op == 1 ? ns_mse_forward (a, b, len) : ns_mae_forward (a, b, len);
          double want = binary_loss (&bc) / scale;
          v = fabs (got - want) / (1e-12 * fabs (want) + 1e-15);
        }
      gc_worst_update (&fwd, v, "len=%zu", len);

      float *da = g_new0 (float, len), *db = g_new0 (float, len);
      binary_backward (op, da, db, a, b, r, len, scale);
      double *num = g_new (double, len);
      gc_numeric_grad (num, bc.a, len, binary_loss, &bc);
      gc_worst_update (&g_a, gc_rel_error (da, num, len), "len=%zu", len);
      gc_numeric_grad (num, bc.b, len, binary_loss, &bc);
      gc_worst_update (&g_b, gc_rel_error (db, num, len), "len=%zu", len);
      g_free (num);

      /* a second pass adds as much again; each gradient alone (the other
       * NULL) equals the first pass's */
      binary_backward (op, da, db, a, b, r, len, scale);
      float *da1 = g_new0 (float, len), *db1 = g_new0 (float, len);
      binary_backward (op, da1, NULL, a, b, r, len, scale);
      binary_backward (op, NULL, db1, a, b, r, len, scale);
      gc_worst_update (&accum, MAX (accumulation_error (da, da1, len),
                                    accumulation_error (db, db1, len)), "len=%zu", len);

      g_free (da); g_free (db); g_free (da1); g_free (db1);
      g_free (bc.a); g_free (bc.b); g_free (bc.out); g_free (a); g_free (b);
      g_free (r); g_free (out);
    }
  char label[64];
  g_snprintf (label, sizeof label, "%s forward violation (<= 1 passes)", names[op]);
  gc_worst_report (&fwd, label, 1.0);
  g_snprintf (label, sizeof label, "%s accumulation error", names[op]);
  gc_worst_report (&accum, label, 1e-5);
  g_snprintf (label, sizeof label, "%s da gradient error", names[op]);
  gc_worst_report (&g_a, label, GC_TOLERANCE);
  g_snprintf (label, sizeof label, "%s db gradient error", names[op]);
  gc_worst_report (&g_b, label, GC_TOLERANCE);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  /* every conv2d test on every kernel set: im2col + BLAS, and each
   * instruction set's kernels as chosen, direct only and Winograd wherever
   * it applies (portable on any machine, the others where the CPU has them) */
  static const char *const kernels[] = {
    "im2col", "portable", "avx2", "avx512", "portable-direct", "avx2-direct",
    "avx512-direct", "portable-winograd", "avx2-winograd", "avx512-winograd",
  };
  static const struct { const char *name; GTestFunc func; } conv_tests[] = {
    { "gradients", test_conv2d },
    { "shape-and-reflection", test_conv2d_shape_and_reflection },
    { "large", test_conv2d_large },
    { "null-gradients", test_conv2d_null_gradients },
  };
  static KernelTest runs[G_N_ELEMENTS (kernels) * G_N_ELEMENTS (conv_tests)];
  for (guint k = 0; k < G_N_ELEMENTS (kernels); k++)
    {
      for (guint t = 0; t < G_N_ELEMENTS (conv_tests); t++)
        {
          KernelTest *run = &runs[k * G_N_ELEMENTS (conv_tests) + t];
          *run = (KernelTest) { kernels[k], conv_tests[t].func };
          g_autofree char *path = g_strdup_printf ("/ops/conv2d/%s/%s", kernels[k],
                                                   conv_tests[t].name);
          g_test_add_data_func (path, run, test_on_kernel);
        }
      if (k > 0)
        {
          g_autofree char *path = g_strdup_printf ("/ops/conv2d/%s/model-shapes", kernels[k]);
          g_test_add_data_func (path, kernels[k], test_conv2d_model_shapes);
        }
      g_autofree char *up_path = g_strdup_printf ("/ops/conv2d/%s/upsampled", kernels[k]);
      g_test_add_data_func (up_path, kernels[k], test_conv2d_upsampled);
    }
  g_test_add_func ("/ops/instnorm", test_instnorm);
  g_test_add_func ("/ops/cond-instnorm", test_cond_instnorm);
  g_test_add_func ("/ops/instnorm/threaded", test_instnorm_threaded);
  g_test_add_data_func ("/ops/act/relu", GINT_TO_POINTER (NS_ACT_RELU), test_act);
  g_test_add_data_func ("/ops/act/leaky-relu", GINT_TO_POINTER (NS_ACT_LEAKY_RELU), test_act);
  g_test_add_data_func ("/ops/act/tanh", GINT_TO_POINTER (NS_ACT_TANH), test_act);
  g_test_add_data_func ("/ops/act/sigmoid", GINT_TO_POINTER (NS_ACT_SIGMOID), test_act);
  g_test_add_func ("/ops/upsample2x", test_upsample);
  g_test_add_func ("/ops/upsample2x-bilinear", test_upsample_bilinear);
  g_test_add_func ("/ops/avgpool2x2", test_avgpool);
  g_test_add_data_func ("/ops/add", GINT_TO_POINTER (0), test_binary);
  g_test_add_func ("/ops/add/threaded", test_add_threaded);
  g_test_add_data_func ("/ops/mse", GINT_TO_POINTER (1), test_binary);
  g_test_add_data_func ("/ops/mae", GINT_TO_POINTER (2), test_binary);
  return g_test_run ();
}

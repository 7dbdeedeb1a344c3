/* The generator: its whole backward (every parameter and the input) against
 * central differences of its forward on a tiny network, style mixing, the
 * identity start, and the weight-file round trip. */
#include "ns_blas.h"
#include "ns_generator.h"
#include "ns_discriminator.h"
#include "ns_error.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include "ns_arch.h"
#include <math.h>
#include <string.h>

/* The forward is float32, so the differences are taken with a step large
 * enough to swamp its rounding (loss summed in double) and small enough
 * that few steps cross a ReLU kink.  Errors are norm-wise per tensor, so a
 * mistake in a small tensor (one layer's gammas) cannot hide among the
 * large ones; with this step the float noise floor is ~1e-2. */
#define FD_STEP 1e-4f
#define GRAD_TOLERANCE 5e-2
/* a tensor whose true gradient is 0 (a bias right before an instance norm)
 * must come out below this fraction of the whole gradient's norm */
#define ZERO_TOLERANCE 1e-3

typedef struct
{
  NsGenerator *g;          /* the network under test: g or d */
  NsDiscriminator *d;
  int n, h, w;
  float *in, *out, *weight, *mix;
} Probe;

/* L = sum (out * weight): dL/dout = weight */
static double
probe_loss (Probe *p)
{
  g_autoptr (GError) error = NULL;
  if (p->d)
    {
      size_t len;
      const float *logits = ns_discriminator_forward (p->d, p->in, p->n, p->h,
                                                      p->w, &len, &error);
      g_assert_no_error (error);
      double sum = 0.0;
      for (size_t j = 0; j < len; j++)
        sum += (double) logits[j] * p->weight[j];
      return sum;
    }
  gboolean ok = ns_generator_forward (p->g, p->out, p->in, p->mix, p->n, p->h,
                                      p->w, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  double sum = 0.0;
  for (size_t j = 0; j < (size_t) p->n * 3 * p->h * p->w; j++)
    sum += (double) p->out[j] * p->weight[j];
  return sum;
}

static double
central_difference (Probe *p, float *x, float step)
{
  float saved = *x;
  *x = saved + step;
  double up = probe_loss (p);
  *x = saved - step;
  double down = probe_loss (p);
  *x = saved;
  return (up - down) / (2.0 * step);
}

static double
norm2 (const float *x, size_t len)
{
  double sum = 0.0;
  for (size_t j = 0; j < len; j++)
    sum += (double) x[j] * x[j];
  return sqrt (sum);
}

/* Checks analytic against central differences for x[0..len); returns the
 * relative error, or for a zero gradient the numeric norm over total. */
static double
check_tensor (Probe *p, float *x, const float *analytic, size_t len,
              double total, const char *what)
{
  double diff = 0.0, nn = 0.0, na = norm2 (analytic, len);
  for (size_t j = 0; j < len; j++)
    {
      double num = central_difference (p, x + j, FD_STEP);
      diff += (analytic[j] - num) * (analytic[j] - num);
      nn += num * num;
    }
  nn = sqrt (nn);
  diff = sqrt (diff);
  if (MAX (na, nn) < ZERO_TOLERANCE * total)
    {
      g_test_message ("%-22s zero gradient (|numeric| %.2g of %.2g)", what, nn, total);
      return 0.0;
    }
  double err = diff / MAX (na, nn);
  g_test_message ("%-22s relative error %.3g (|grad| %.3g)", what, err, na);
  if (!(err < GRAD_TOLERANCE))
    {
      g_test_message ("FAIL: %s error %.3g exceeds %.3g", what, err, GRAD_TOLERANCE);
      g_test_fail ();
    }
  return err;
}

/* Checks every tensor of a parameter block in the order of its weight-file
 * view (the block's layout); returns the worst error. */
static double
check_param_tensors (Probe *p, const NsWeights *view, float *params,
                     const float *grads, size_t np)
{
  double total = norm2 (grads, np), worst = 0.0;
  size_t off = 0;
  for (int t = 0; t < ns_weights_n_tensors (view); t++)
    {
      const char *name = ns_weights_tensor_name (view, t);
      int dims[NS_WEIGHTS_MAX_DIMS], ndim;
      ns_weights_tensor (view, name, dims, &ndim);
      size_t size = 1;
      for (int d = 0; d < ndim; d++)
        size *= dims[d];
      worst = MAX (worst, check_tensor (p, params + off, grads + off, size,
                                        total, name));
      off += size;
    }
  g_assert_cmpuint (off, ==, np);
  return worst;
}

/* data: the decoder's upsampling, bilinear (non-NULL) or nearest (NULL) */
static void
test_backward (gconstpointer bilinear)
{
  NsGeneratorConfig cfg = { .base_channels = 2, .res_blocks = 1, .n_styles = 2,
                           .out_kernel = 0 /* the default, 9 */,
                           .bilinear = bilinear != NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 7, &error);
  g_assert_no_error (error);

  /* 14 x 18 is not a multiple of 4: the padding and its adjoint are checked */
  Probe p = { .g = g, .n = 2, .h = 14, .w = 18 };
  size_t len = (size_t) p.n * 3 * p.h * p.w, np = ns_generator_n_params (g);
  p.in = g_new (float, len);
  p.out = g_new (float, len);
  p.weight = g_new (float, len);
  p.mix = (float[]) { 0.3f, 0.7f };
  NsRng rng;
  ns_rng_init (&rng, 11);
  for (size_t j = 0; j < len; j++)
    {
      p.in[j] = 0.05f + 0.9f * ns_rng_uniform (&rng);  /* off the logit clamp */
      p.weight[j] = 2.0f * ns_rng_uniform (&rng) - 1.0f;
    }
  /* with variation noise on: it must not change the gradients' form */
  ns_generator_set_noise (g, 0.1f, 5);
  /* a livelier network than the near-identity start: every layer matters */
  float *params = ns_generator_params (g);
  for (size_t j = 0; j < np; j++)
    params[j] += 0.2f * ns_rng_normal (&rng);

  g_assert_true (ns_generator_forward (g, p.out, p.in, p.mix, p.n, p.h, p.w,
                                       TRUE, &error));
  float *din = g_new0 (float, len);
  memset (ns_generator_grads (g), 0, sizeof (float) * np);
  ns_generator_backward (g, din, p.weight);
  float *grads = g_memdup2 (ns_generator_grads (g), sizeof (float) * np);

  /* tensor boundaries from the weight-file view of the same block */
  g_autoptr (NsWeights) view = ns_weights_new ("ns-generator-1");
  g_assert_true (ns_weights_add_style (view, "a", NULL, NULL, 0, &error));
  g_assert_true (ns_weights_add_style (view, "b", NULL, NULL, 0, &error));
  ns_generator_to_weights (g, view);
  double worst = check_param_tensors (&p, view, params, grads, np);
  worst = MAX (worst, check_tensor (&p, p.in, din, len, norm2 (din, len), "input"));
  g_test_message ("worst generator gradient error %.3g", worst);

  /* a second backward adds the same again */
  g_assert_true (ns_generator_forward (g, p.out, p.in, p.mix, p.n, p.h, p.w,
                                       TRUE, &error));
  ns_generator_backward (g, NULL, p.weight);
  const float *twice = ns_generator_grads (g);
  for (size_t j = 0; j < np; j++)
    g_assert_cmpfloat (fabsf (twice[j] - 2.0f * grads[j]), <=,
                       1e-4f * (1.0f + fabsf (grads[j])));

  g_free (grads);
  g_free (din);
  g_free (p.in);
  g_free (p.out);
  g_free (p.weight);
}

/* Fresh networks return (nearly) the photo; outputs stay in (0, 1). */
static void
test_identity_start (void)
{
  NsGeneratorConfig cfg = { 8, 2, 1, 9, FALSE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 1, NULL);
  const int h = 33, w = 47;
  size_t len = 3 * h * w;
  g_autofree float *in = g_new (float, len), *out = g_new (float, len);
  NsRng rng;
  ns_rng_init (&rng, 3);
  for (size_t j = 0; j < len; j++)
    in[j] = 0.1f + 0.8f * ns_rng_uniform (&rng);
  g_assert_true (ns_generator_forward (g, out, in, (float[]) { 1.0f }, 1, h, w,
                                       FALSE, NULL));
  double mae = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      g_assert_cmpfloat (out[j], >, 0.0f);
      g_assert_cmpfloat (out[j], <, 1.0f);
      mae += fabs (out[j] - in[j]);
    }
  mae /= len;
  g_test_message ("untrained generator: mean |out - in| = %.4f", mae);
  g_assert_cmpfloat (mae, <, 0.05);
  g_assert_cmpfloat (mae, >, 0.0);
}

/* A one-hot mix is the preset; mixing two presets lands between them; the
 * result is independent of the plan (a second size, then back). */
static void
test_style_mix (void)
{
  NsGeneratorConfig cfg = { 4, 1, 2, 3, FALSE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 5, NULL);
  float *params = ns_generator_params (g);
  size_t np = ns_generator_n_params (g);
  g_autofree guint8 *mask = g_new (guint8, np);
  NsRng rng;
  ns_rng_init (&rng, 9);
  /* give style 1 its own gamma/beta */
  ns_generator_style_mask (g, 1, mask);
  size_t in_mask = 0;
  for (size_t j = 0; j < np; j++)
    if (mask[j])
      {
        params[j] += 0.5f * ns_rng_normal (&rng);
        in_mask++;
      }
  /* every norm layer (all but 'out') has c' gammas and betas per style */
  g_assert_cmpuint (in_mask, ==, 2 * (4 + 8 + 16 + 16 + 16 + 8 + 4));

  const int h = 16, w = 12;
  size_t len = 3 * h * w;
  g_autofree float *in = g_new (float, len), *a = g_new (float, len),
                   *b = g_new (float, len), *m = g_new (float, len),
                   *a2 = g_new (float, len), *big = g_new (float, 3 * 40 * 40);
  for (size_t j = 0; j < len; j++)
    in[j] = ns_rng_uniform (&rng);
  for (size_t j = 0; j < 3 * 40 * 40; j++)
    big[j] = ns_rng_uniform (&rng);
  g_assert_true (ns_generator_forward (g, a, in, (float[]) { 1, 0 }, 1, h, w, FALSE, NULL));
  g_assert_true (ns_generator_forward (g, b, in, (float[]) { 0, 1 }, 1, h, w, FALSE, NULL));
  g_assert_true (ns_generator_forward (g, m, in, (float[]) { 0.5f, 0.5f }, 1, h, w, FALSE, NULL));
  g_autofree float *big_out = g_new (float, 3 * 40 * 40);
  g_assert_true (ns_generator_forward (g, big_out, big, (float[]) { 1, 0 }, 1, 40, 40, FALSE, NULL));
  g_assert_true (ns_generator_forward (g, a2, in, (float[]) { 1, 0 }, 1, h, w, FALSE, NULL));
  double dab = 0.0, dam = 0.0, dbm = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      g_assert_cmpfloat (a[j], ==, a2[j]);
      dab += fabs (a[j] - b[j]);
      dam += fabs (a[j] - m[j]);
      dbm += fabs (b[j] - m[j]);
    }
  g_test_message ("style distances: |a-b| %.4f |a-mix| %.4f |b-mix| %.4f",
                  dab / len, dam / len, dbm / len);
  g_assert_cmpfloat (dab / len, >, 1e-3);
  g_assert_cmpfloat (dam, <, dab);
  g_assert_cmpfloat (dbm, <, dab);
}

/* At the presets' width (16 base channels) the inference plan lets dec1
 * and dec2 read their upsampled input as they go (ns_conv2d_forward_upsampled)
 * instead of storing it: the same bits as the training plan, which stores
 * it, on odd sizes and a batch, and a smaller arena than a plan on kernels
 * that cannot fuse (the direct ones). */
static void
test_upsample_fused (gconstpointer bilinear)
{
  NsGeneratorConfig cfg = { 16, 1, 2, 3, bilinear != NULL };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 11, NULL);
  const int n = 2, h = 37, w = 29;
  const size_t len = (size_t) n * 3 * h * w;
  g_autofree float *in = g_new (float, len), *a = g_new (float, len), *b = g_new (float, len);
  NsRng rng;
  ns_rng_init (&rng, 12);
  for (size_t j = 0; j < len; j++)
    in[j] = ns_rng_uniform (&rng);
  const float mix[2] = { 0.7f, 0.3f };
  const char *kernel = ns_conv2d_kernel ();
  g_assert_true (ns_generator_forward (g, a, in, mix, n, h, w, FALSE, NULL));
  size_t fused_bytes = ns_generator_plan_bytes (g);
  g_assert_true (ns_generator_forward (g, b, in, mix, n, h, w, TRUE, NULL));
  g_assert_cmpmem (a, sizeof (float) * len, b, sizeof (float) * len);

  g_autoptr (NsGenerator) d = ns_generator_new (&cfg, 11, NULL);
  g_assert_true (ns_conv2d_set_kernel ("portable-direct"));
  g_assert_true (ns_generator_forward (d, b, in, mix, n, h, w, FALSE, NULL));
  size_t stored_bytes = ns_generator_plan_bytes (d);
  /* the kept plan follows a change of kernels */
  g_assert_true (ns_conv2d_set_kernel (kernel));
  g_assert_true (ns_generator_forward (d, b, in, mix, n, h, w, FALSE, NULL));
  g_assert_cmpmem (a, sizeof (float) * len, b, sizeof (float) * len);
  g_test_message ("arena with the upsampled inputs stored %zu bytes, read as they go %zu",
                  stored_bytes, fused_bytes);
  g_assert_cmpuint (fused_bytes, <, stored_bytes);
}

/* A seed is a variation: the same seed repeats, another differs, the
 * amplitude travels with the weights. */
static void
test_noise (void)
{
  NsGeneratorConfig cfg = { 4, 1, 1, 3, FALSE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 6, NULL);
  float *params = ns_generator_params (g);
  NsRng rng;
  ns_rng_init (&rng, 13);
  for (size_t j = 0; j < ns_generator_n_params (g); j++)
    params[j] += 0.3f * ns_rng_normal (&rng);
  const int h = 12, w = 16;
  size_t len = 3 * h * w;
  g_autofree float *in = g_new (float, len), *a = g_new (float, len),
                   *b = g_new (float, len), *c = g_new (float, len);
  for (size_t j = 0; j < len; j++)
    in[j] = ns_rng_uniform (&rng);
  float one = 1.0f;
  ns_generator_set_noise (g, 0.2f, 1);
  g_assert_true (ns_generator_forward (g, a, in, &one, 1, h, w, FALSE, NULL));
  g_assert_true (ns_generator_forward (g, b, in, &one, 1, h, w, FALSE, NULL));
  ns_generator_set_noise (g, 0.2f, 2);
  g_assert_true (ns_generator_forward (g, c, in, &one, 1, h, w, FALSE, NULL));
  g_assert_cmpmem (a, len * 4, b, len * 4);
  double diff = 0;
  for (size_t j = 0; j < len; j++)
    diff += fabs (a[j] - c[j]);
  g_assert_cmpfloat (diff / len, >, 1e-3);

  g_autoptr (NsWeights) wt = ns_weights_new ("ns-generator-1");
  g_assert_true (ns_weights_add_style (wt, "s", NULL, NULL, 0, NULL));
  ns_generator_to_weights (g, wt);
  g_autoptr (NsGenerator) back = ns_generator_new_from_weights (wt, NULL);
  ns_generator_set_noise (back, 0.2f, 2);   /* c's amplitude and seed */
  g_assert_true (ns_generator_forward (back, b, in, &one, 1, h, w, FALSE, NULL));
  g_assert_cmpmem (b, len * 4, c, len * 4);
  double amplitude;
  g_assert_true (ns_weights_get_double (wt, "noise", &amplitude));
  g_assert_cmpfloat_with_epsilon (amplitude, 0.2, 1e-6);
}

/* The variation noise is smooth (neighbours correlate, pixels 4 apart
 * hardly) without blobs, amplitude in deviation, and repeats for a seed. */
static void
test_variation_noise (void)
{
  const int h = 96, w = 80;
  const size_t len = (size_t) h * w;
  g_autofree float *a = g_new (float, len), *b = g_new (float, len),
                   *tmp = g_new (float, 2 * len);
  ns_generator_variation_noise (a, h, w, 0.1f, 7, tmp);
  ns_generator_variation_noise (b, h, w, 0.1f, 7, tmp);
  g_assert_cmpmem (a, len * 4, b, len * 4);
  double sum = 0, sq = 0;
  for (size_t j = 0; j < len; j++)
    sum += a[j], sq += (double) a[j] * a[j];
  double mean = sum / len, sd = sqrt (sq / len - mean * mean);
  g_assert_cmpfloat (fabs (mean), <, 0.01);
  g_assert_cmpfloat (fabs (sqrt (sq / len) - 0.1), <, 1e-5);   /* scaled to it */   /* scaled to it */
  for (int lag = 1; lag <= 4; lag += 3)
    {
      double c = 0;
      for (int y = 0; y < h; y++)
        for (int x = 0; x + lag < w; x++)
          c += (a[y * w + x] - mean) * (a[y * w + x + lag] - mean);
      c /= (double) h * (w - lag) * sd * sd;
      if (lag == 1)
        g_assert_cmpfloat (c, >, 0.6);   /* 0.67 band-limited, 0.78 blurred only */
      else
        g_assert_cmpfloat (fabs (c), <, 0.15);
    }
  /* no blobs: the means of 8 x 8 blocks vary by 0.16 sd band-limited
   * (0.37 sd for the blurred noise alone) */
  double block_sq = 0;
  int blocks = 0;
  for (int by = 0; by + 8 <= h; by += 8)
    for (int bx = 0; bx + 8 <= w; bx += 8, blocks++)
      {
        double m = 0;
        for (int y = by; y < by + 8; y++)
          for (int x = bx; x < bx + 8; x++)
            m += a[y * w + x] - mean;
        block_sq += (m / 64) * (m / 64);
      }
  g_assert_cmpfloat (sqrt (block_sq / blocks), <, 0.25 * sd);
  ns_generator_variation_noise (b, h, w, 0.1f, 8, tmp);
  double diff = 0;
  for (size_t j = 0; j < len; j++)
    diff += fabs (a[j] - b[j]);
  g_assert_cmpfloat (diff / len, >, 0.05);
}

static void
test_weights_round_trip (void)
{
  NsGeneratorConfig cfg = { 3, 2, 2, 3, TRUE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 2, NULL);
  g_autoptr (NsWeights) w = ns_weights_new ("ns-generator-1");
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_weights_add_style (w, "one", NULL, NULL, 0, &error));
  g_assert_true (ns_weights_add_style (w, "two", NULL, NULL, 0, &error));
  ns_generator_to_weights (g, w);
  g_autoptr (GBytes) bytes = ns_weights_to_bytes (w, &error);
  g_assert_no_error (error);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autoptr (NsWeights) back = ns_weights_load_from_data (data, size, "mem", &error);
  g_assert_no_error (error);
  g_autoptr (NsGenerator) g2 = ns_generator_new_from_weights (back, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_generator_n_params (g2), ==, ns_generator_n_params (g));
  g_assert_cmpmem (ns_generator_params (g2), ns_generator_n_params (g) * 4,
                   ns_generator_params (g), ns_generator_n_params (g) * 4);
  g_assert_true (ns_generator_config (g2)->bilinear);

  /* a file without the key (every file before it) is nearest; an unknown
   * mode is refused by the architecture check and by the loader */
  ns_weights_set_string (back, "upsample", NS_ARCH_UPSAMPLE_NEAREST);
  g_autoptr (NsGenerator) g3 = ns_generator_new_from_weights (back, &error);
  g_assert_no_error (error);
  g_assert_false (ns_generator_config (g3)->bilinear);
  ns_weights_set_string (back, "upsample", "bicubic");
  g_assert_false (ns_arch_check (back, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_null (ns_generator_new_from_weights (back, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
}

/* The discriminator's backward, tensor by tensor, and its input gradient
 * (which is what the generator's adversarial term receives). */
static void
test_discriminator_backward (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDiscriminator) d = ns_discriminator_new (3, 2, 4, &error);
  g_assert_no_error (error);
  Probe p = { .d = d, .n = 2, .h = 15, .w = 12 };
  size_t len = (size_t) p.n * 3 * p.h * p.w, np = ns_discriminator_n_params (d);
  p.in = g_new (float, len);
  p.weight = g_new (float, len);   /* more than the logits need */
  NsRng rng;
  ns_rng_init (&rng, 21);
  for (size_t j = 0; j < len; j++)
    {
      p.in[j] = ns_rng_uniform (&rng);
      p.weight[j] = 2.0f * ns_rng_uniform (&rng) - 1.0f;
    }
  size_t n_logits;
  g_assert_nonnull (ns_discriminator_forward (d, p.in, p.n, p.h, p.w, &n_logits, &error));
  /* 15 -> 8 -> 4 (two stride-2 convs), then 'out' keeps 4 x 3 */
  g_assert_cmpuint (n_logits, ==, (size_t) p.n * 4 * 3);
  float *din = g_new0 (float, len);
  memset (ns_discriminator_grads (d), 0, sizeof (float) * np);
  ns_discriminator_backward (d, din, p.weight);
  float *grads = g_memdup2 (ns_discriminator_grads (d), sizeof (float) * np);
  float *params = ns_discriminator_params (d);

  g_autoptr (NsWeights) view = ns_weights_new ("ns-discriminator-1");
  ns_discriminator_to_weights (d, view);
  g_assert_true (ns_arch_check (view, &error));
  double worst = check_param_tensors (&p, view, params, grads, np);
  worst = MAX (worst, check_tensor (&p, p.in, din, len, norm2 (din, len), "input"));
  g_test_message ("worst discriminator gradient error %.3g", worst);

  /* the input gradient alone: the same din, bit for bit, and the grads
   * block as it was */
  float *din2 = g_new0 (float, len);
  ns_discriminator_input_grad (d, din2, p.weight);
  g_assert_cmpmem (din2, sizeof (float) * len, din, sizeof (float) * len);
  g_assert_cmpmem (ns_discriminator_grads (d), sizeof (float) * np, grads, sizeof (float) * np);
  g_free (din2);
  g_free (grads);
  g_free (din);
  g_free (p.in);
  g_free (p.weight);
}

/* Both adversarial losses against central differences of themselves, and
 * their values at a known point. */
static void
test_gan_losses (void)
{
  float logits[] = { -3.0f, -0.5f, 0.0f, 0.7f, 2.5f }, grad[5];
  for (int kind = NS_GAN_LSGAN; kind <= NS_GAN_BCE; kind++)
    for (int real = 0; real <= 1; real++)
      {
        ns_gan_loss (kind, logits, 5, real, grad, 2.0f);
        for (int j = 0; j < 5; j++)
          {
            /* steps of 1/1024 are exact in float */
            float saved = logits[j], step = 1.0f / 1024;
            logits[j] = saved + step;
            double up = ns_gan_loss (kind, logits, 5, real, NULL, 1.0f);
            logits[j] = saved - step;
            double down = ns_gan_loss (kind, logits, 5, real, NULL, 1.0f);
            logits[j] = saved;
            g_assert_cmpfloat_with_epsilon (grad[j], 2.0 * (up - down) / (2 * step), 1e-5);
          }
      }
  float zero = 0.0f;
  g_assert_cmpfloat_with_epsilon (ns_gan_loss (NS_GAN_LSGAN, &zero, 1, TRUE, NULL, 1), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (ns_gan_loss (NS_GAN_BCE, &zero, 1, FALSE, NULL, 1), log (2.0), 1e-12);
  /* no overflow far from 0 */
  float far[] = { -200.0f, 200.0f };
  g_assert_cmpfloat_with_epsilon (ns_gan_loss (NS_GAN_BCE, far, 2, TRUE, NULL, 1), 100.0, 1e-6);

  /* the throttle lets every step through until the loss gets small */
  NsGanThrottle t;
  ns_gan_throttle_init (&t, NS_GAN_LSGAN);
  ns_gan_throttle_record (&t, 0.5);
  for (guint64 s = 1; s < 8; s++)
    g_assert_true (ns_gan_throttle_allows (&t, s));
  for (int i = 0; i < 100; i++)
    ns_gan_throttle_record (&t, 0.01);
  int allowed = 0;
  for (guint64 s = 1; s <= 8; s++)
    allowed += ns_gan_throttle_allows (&t, s);
  g_assert_cmpint (allowed, ==, 2);
}

/* The front-end helper: alpha untouched, grey stays grey, colour as the
 * planar forward gives it. */
static void
test_apply (void)
{
  NsGeneratorConfig cfg = { 4, 1, 1, 3, FALSE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, 8, NULL);
  float *params = ns_generator_params (g);
  NsRng rng;
  ns_rng_init (&rng, 12);
  for (size_t j = 0; j < ns_generator_n_params (g); j++)
    params[j] += 0.3f * ns_rng_normal (&rng);
  const int w = 13, h = 9;
  g_autoptr (NsImage) rgba = ns_image_new (w, h, 4, NULL);
  g_autoptr (NsImage) grey = ns_image_new (w, h, 1, NULL);
  g_autofree float *planar = g_new (float, 3 * w * h), *expect = g_new (float, 3 * w * h);
  for (int i = 0; i < w * h; i++)
    {
      for (int c = 0; c < 4; c++)
        rgba->data[i * 4 + c] = ns_rng_uniform (&rng);
      for (int c = 0; c < 3; c++)
        planar[c * w * h + i] = rgba->data[i * 4 + c];
      grey->data[i] = ns_rng_uniform (&rng);
    }
  g_autoptr (NsImage) before = ns_image_copy (rgba, NULL);
  float one = 1.0f;
  g_assert_true (ns_generator_forward (g, expect, planar, &one, 1, h, w, FALSE, NULL));
  g_assert_true (ns_generator_apply (g, rgba, &one, NULL));
  g_assert_true (ns_generator_apply (g, grey, &one, NULL));
  double changed = 0;
  for (int i = 0; i < w * h; i++)
    {
      g_assert_cmpfloat (rgba->data[i * 4 + 3], ==, before->data[i * 4 + 3]);
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon (rgba->data[i * 4 + c], expect[c * w * h + i], 1e-6);
      changed += fabs (rgba->data[i * 4] - before->data[i * 4]);
      g_assert_cmpfloat (grey->data[i], >=, 0.0f);
      g_assert_cmpfloat (grey->data[i], <=, 1.0f);
    }
  g_assert_cmpfloat (changed, >, 0.0);
}

static void
test_bad_config (void)
{
  NsGeneratorConfig bad[] = { { 0, 2, 1, 3, FALSE }, { 4, 33, 1, 3, FALSE },
                               { 4, 2, 0, 3, FALSE }, { 4, 2, 1, 4, FALSE },
                               { 4, 2, 1, 11, FALSE } };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (ns_generator_new (&bad[i], 1, &error));
      g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
    }
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/generator/backward", NULL, test_backward);
  g_test_add_data_func ("/generator/backward-bilinear", "bilinear", test_backward);
  g_test_add_func ("/generator/identity-start", test_identity_start);
  g_test_add_func ("/generator/style-mix", test_style_mix);
  g_test_add_data_func ("/generator/upsample-fused", NULL, test_upsample_fused);
  g_test_add_data_func ("/generator/upsample-fused-bilinear", "bilinear", test_upsample_fused);
  g_test_add_func ("/generator/weights-round-trip", test_weights_round_trip);
  g_test_add_func ("/generator/apply", test_apply);
  g_test_add_func ("/generator/noise", test_noise);
  g_test_add_func ("/generator/variation-noise", test_variation_noise);
  g_test_add_func ("/generator/bad-config", test_bad_config);
  g_test_add_func ("/discriminator/backward", test_discriminator_backward);
  g_test_add_func ("/discriminator/gan-losses", test_gan_losses);
  return g_test_run ();
}

/* PatchGAN discriminator: a chain of strided convs with leaky ReLUs, and the
 * adversarial losses.  See ns_discriminator.h. */
#include "ns_discriminator.h"
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_ops.h"
#include "ns_rng.h"
#include <math.h>
#include <string.h>

#define LEAKY_SLOPE       0.2f

typedef struct
{
  char   name[8];
  int    in_c, out_c, stride;
  gboolean leaky;
  size_t w_off, b_off;
  NsConv2dShape shape;
  size_t y_off, z_off;   /* conv output and activation (z = y for 'out') */
} DiscLayer;

struct NsDiscriminator
{
  int        base_channels, n_conv;    /* n_conv = layers + 1 */
  DiscLayer  layers[NS_ARCH_MAX_DISC_LAYERS + 1];
  size_t     n_params;
  float     *block;                     /* params | grads | adam m | adam v */

  int        plan_n, plan_h, plan_w;
  size_t     arena_len;
  float     *acts, *dacts, *ws;
  float     *input_copy;                /* the last forward's input */
  size_t     input_len;
};

static NsDiscriminator *
disc_alloc (int c, int layers, GError **error)
{
  if (c < 1 || c > NS_ARCH_MAX_BASE_CHANNELS
      || layers < 1 || layers > NS_ARCH_MAX_DISC_LAYERS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "discriminator needs base_channels 1..%d and 1..%d layers (got %d, %d)",
                   NS_ARCH_MAX_BASE_CHANNELS, NS_ARCH_MAX_DISC_LAYERS, c, layers);
      return NULL;
    }
  NsDiscriminator *d = g_new0 (NsDiscriminator, 1);
  d->base_channels = c;
  d->n_conv = layers + 1;
  size_t off = 0;
  int in = 3;
  for (int i = 0; i <= layers; i++)
    {
      DiscLayer *l = &d->layers[i];
      gboolean last = i == layers;
      if (last)
        g_strlcpy (l->name, "out", sizeof l->name);
      else
        g_snprintf (l->name, sizeof l->name, "d%d", i);
      l->in_c = in;
      l->out_c = last ? 1 : c << i;
      l->stride = last ? 1 : 2;
      l->leaky = !last;
      l->w_off = off;
      off += (size_t) l->out_c * l->in_c * 9;
      l->b_off = off;
      off += l->out_c;
      in = l->out_c;
    }
  d->n_params = off;
  d->block = g_try_new0 (float, 4 * off);
  if (!d->block)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "no memory for %zu discriminator parameters", off);
      g_free (d);
      return NULL;
    }
  return d;
}

NsDiscriminator *
ns_discriminator_new (int base_channels, int layers, guint64 seed, GError **error)
{
  NsDiscriminator *d = disc_alloc (base_channels, layers, error);
  if (!d)
    return NULL;
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (int i = 0; i < d->n_conv; i++)
    {
      const DiscLayer *l = &d->layers[i];
      /* He initialisation for leaky ReLU */
      float std = sqrtf (2.0f / ((1.0f + LEAKY_SLOPE * LEAKY_SLOPE) * l->in_c * 9));
      for (size_t j = l->w_off; j < l->b_off; j++)
        d->block[j] = std * ns_rng_normal (&rng);
    }
  return d;
}

NsDiscriminator *
ns_discriminator_new_from_weights (const NsWeights *w, GError **error)
{
  gint64 c, layers;
  if (g_strcmp0 (ns_weights_arch (w), NS_ARCH_DISCRIMINATOR) != 0
      || !ns_weights_get_int (w, "base_channels", &c)
      || !ns_weights_get_int (w, "layers", &layers)
      || c < 1 || c > NS_ARCH_MAX_BASE_CHANNELS
      || layers < 1 || layers > NS_ARCH_MAX_DISC_LAYERS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "not an " NS_ARCH_DISCRIMINATOR " weight file with valid "
                   "base_channels and layers");
      return NULL;
    }
  g_autoptr (NsDiscriminator) d = disc_alloc ((int) c, (int) layers, error);
  if (!d)
    return NULL;
  for (int i = 0; i < d->n_conv; i++)
    {
      const DiscLayer *l = &d->layers[i];
      const char *suffix[] = { "weight", "bias" };
      size_t off[] = { l->w_off, l->b_off }, len[] = { l->b_off - l->w_off, l->out_c };
      for (int t = 0; t < 2; t++)
        {
          char name[32];
          int dims[NS_WEIGHTS_MAX_DIMS], ndim;
          g_snprintf (name, sizeof name, "%s.%s", l->name, suffix[t]);
          const float *src = ns_weights_tensor (w, name, dims, &ndim);
          size_t have = 1;
          for (int k = 0; src && k < ndim; k++)
            have *= dims[k];
          if (!src || have != len[t])
            {
              g_set_error (error, NS_ERROR, NS_ERROR_SHAPE,
                           "discriminator tensor %s is %s", name,
                           src ? "the wrong size" : "missing");
              return NULL;
            }
          memcpy (d->block + off[t], src, sizeof (float) * len[t]);
        }
    }
  return g_steal_pointer (&d);
}

void
ns_discriminator_to_weights (const NsDiscriminator *d, NsWeights *w)
{
  ns_weights_set_int (w, "base_channels", d->base_channels);
  ns_weights_set_int (w, "layers", d->n_conv - 1);
  for (int i = 0; i < d->n_conv; i++)
    {
      const DiscLayer *l = &d->layers[i];
      char name[32];
      g_snprintf (name, sizeof name, "%s.weight", l->name);
      ns_weights_add_tensor (w, name, 4, (int[]) { l->out_c, l->in_c, 3, 3 },
                             d->block + l->w_off);
      g_snprintf (name, sizeof name, "%s.bias", l->name);
      ns_weights_add_tensor (w, name, 1, (int[]) { l->out_c }, d->block + l->b_off);
    }
}

void
ns_discriminator_free (NsDiscriminator *d)
{
  if (!d)
    return;
  g_free (d->block);
  g_free (d->acts);
  g_free (d->dacts);
  g_free (d->ws);
  g_free (d->input_copy);
  g_free (d);
}

size_t ns_discriminator_n_params (const NsDiscriminator *d) { return d->n_params; }
float *ns_discriminator_params (NsDiscriminator *d) { return d->block; }
float *ns_discriminator_grads  (NsDiscriminator *d) { return d->block + d->n_params; }
float *ns_discriminator_adam_m (NsDiscriminator *d) { return d->block + 2 * d->n_params; }
float *ns_discriminator_adam_v (NsDiscriminator *d) { return d->block + 3 * d->n_params; }

static gboolean
plan (NsDiscriminator *d, int n, int h, int w, GError **error)
{
  if (n < 1 || h < 1 || w < 1 || (double) n * h * w > (double) (1u << 26))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "discriminator input of %d x %d x %d is out of range", n, h, w);
      return FALSE;
    }
  if (d->plan_n == n && d->plan_h == h && d->plan_w == w)
    return TRUE;
  g_clear_pointer (&d->acts, g_free);
  g_clear_pointer (&d->dacts, g_free);
  g_clear_pointer (&d->ws, g_free);
  g_clear_pointer (&d->input_copy, g_free);
  d->plan_n = 0;

  size_t off = 0, ws_len = 1;
  int in_c = 3;
  for (int i = 0; i < d->n_conv; i++)
    {
      DiscLayer *l = &d->layers[i];
      ns_conv2d_shape (&l->shape, n, in_c, h, w, l->out_c, 3, l->stride, NS_PAD_REFLECT);
      size_t len = (size_t) n * l->out_c * l->shape.out_h * l->shape.out_w;
      l->y_off = off;
      off += len;
      l->z_off = l->leaky ? off : l->y_off;
      if (l->leaky)
        off += len;
      ws_len = MAX (ws_len, ns_conv2d_workspace (&l->shape));
      h = l->shape.out_h;
      w = l->shape.out_w;
      in_c = l->out_c;
    }
  d->arena_len = off;
  d->input_len = (size_t) n * 3 * d->layers[0].shape.h * d->layers[0].shape.w;
  d->acts = g_try_new (float, off);
  d->dacts = g_try_new (float, off);
  d->ws = g_try_new (float, ws_len);
  d->input_copy = g_try_new (float, d->input_len);
  if (!d->acts || !d->dacts || !d->ws || !d->input_copy)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "no memory for the discriminator's activations");
      return FALSE;
    }
  d->plan_n = n;
  d->plan_h = d->layers[0].shape.h;
  d->plan_w = d->layers[0].shape.w;
  return TRUE;
}

const float *
ns_discriminator_forward (NsDiscriminator *d, const float *in, int n, int h,
                          int w, size_t *len_out, GError **error)
{
  if (!plan (d, n, h, w, error))
    return NULL;
  /* kept, since the caller may reuse its buffer before the backward */
  memcpy (d->input_copy, in, sizeof (float) * d->input_len);
  const float *prev = d->input_copy;
  for (int i = 0; i < d->n_conv; i++)
    {
      const DiscLayer *l = &d->layers[i];
      float *y = d->acts + l->y_off;
      ns_conv2d_forward (y, prev, d->block + l->w_off, d->block + l->b_off,
                         &l->shape, d->ws);
      if (l->leaky)
        ns_act_forward (d->acts + l->z_off, y,
                        (size_t) n * l->out_c * l->shape.out_h * l->shape.out_w,
                        NS_ACT_LEAKY_RELU, LEAKY_SLOPE);
      prev = d->acts + l->z_off;
    }
  const DiscLayer *last = &d->layers[d->n_conv - 1];
  *len_out = (size_t) n * last->shape.out_h * last->shape.out_w;
  return prev;
}

/* dL/dparams into the grads block (when params), dL/din into din */
static void
backward (NsDiscriminator *d, float *din, const float *dlogits, gboolean params)
{
  g_return_if_fail (d->plan_n > 0);
  float *G = ns_discriminator_grads (d);
  const DiscLayer *last = &d->layers[d->n_conv - 1];
  size_t n_logits = (size_t) d->plan_n * last->shape.out_h * last->shape.out_w;
  memset (d->dacts, 0, sizeof (float) * d->arena_len);
  memcpy (d->dacts + last->z_off, dlogits, sizeof (float) * n_logits);

  for (int i = d->n_conv - 1; i >= 0; i--)
    {
      const DiscLayer *l = &d->layers[i];
      size_t len = (size_t) d->plan_n * l->out_c * l->shape.out_h * l->shape.out_w;
      if (l->leaky)
        ns_act_backward (d->dacts + l->y_off, d->dacts + l->z_off,
                         d->acts + l->y_off, d->acts + l->z_off, len,
                         NS_ACT_LEAKY_RELU, LEAKY_SLOPE);
      const float *in = i > 0 ? d->acts + d->layers[i - 1].z_off : d->input_copy;
      float *dprev = i > 0 ? d->dacts + d->layers[i - 1].z_off : din;
      ns_conv2d_backward (dprev, params ? G + l->w_off : NULL, params ? G + l->b_off : NULL,
                          d->dacts + l->y_off, in, d->block + l->w_off, &l->shape, d->ws);
    }
}

void
ns_discriminator_backward (NsDiscriminator *d, float *din, const float *dlogits)
{
  backward (d, din, dlogits, TRUE);
}

void
ns_discriminator_input_grad (NsDiscriminator *d, float *din, const float *dlogits)
{
  backward (d, din, dlogits, FALSE);
}

/* ---- losses --------------------------------------------------------------- */

/* log (1 + e^x) without overflow */
static inline double
softplus (double x)
{
  return x > 0 ? x + log1p (exp (-x)) : log1p (exp (x));
}

static inline double
sigmoid (double x)
{
  return x >= 0 ? 1.0 / (1.0 + exp (-x)) : exp (x) / (1.0 + exp (x));
}

double
ns_gan_loss (NsGanLoss kind, const float *logits, size_t len,
             gboolean target_real, float *dlogits, float scale)
{
  const double t = target_real ? 1.0 : 0.0;
  double sum = 0.0;
  for (size_t j = 0; j < len; j++)
    {
      double x = logits[j], g;
      if (kind == NS_GAN_LSGAN)
        {
          sum += (x - t) * (x - t);
          g = 2.0 * (x - t);
        }
      else
        {
          /* -t log s(x) - (1-t) log (1 - s(x)) */
          sum += target_real ? softplus (-x) : softplus (x);
          g = sigmoid (x) - t;
        }
      if (dlogits)
        dlogits[j] = (float) (scale * g / len);
    }
  return len ? sum / len : 0.0;
}

void
ns_gan_throttle_init (NsGanThrottle *t, NsGanLoss kind)
{
  /* a discriminator that guesses says 0.25 + 0.25 (LSGAN) or 2 ln 2 (BCE);
   * a fifth of that means it separates real from fake almost surely */
  *t = (NsGanThrottle) {
    .threshold = kind == NS_GAN_LSGAN ? 0.1 : 0.28,
    .every = 4,
  };
}

gboolean
ns_gan_throttle_allows (const NsGanThrottle *t, guint64 step)
{
  return !t->started || t->ema >= t->threshold || step % t->every == 0;
}

void
ns_gan_throttle_record (NsGanThrottle *t, double d_loss)
{
  t->ema = t->started ? 0.9 * t->ema + 0.1 * d_loss : d_loss;
  t->started = TRUE;
}

/* The feed-forward generator: a table of conv layers walked forward and
 * backward over one parameter block and one activation arena.  See
 * ns_generator.h for the architecture. */
#include "ns_generator.h"
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include "ns_ops.h"
#include "ns_rng.h"
#include "tasks.h"
#include <math.h>
#include <string.h>

/* The photo enters the output through logit (clamp (x, EPS, 1 - EPS)):
 * a wider clamp would leave the sigmoid almost flat on white and black
 * pixels and the network unable to change them. */
#define SKIP_EPS 0.02f
/* 'out' starts this much smaller than He initialisation: an untrained
 * network is then close to the identity on the photo. */
#define OUT_INIT_SCALE 0.1f

typedef struct
{
  char     name[24];
  int      in_c, out_c, k, stride;
  gboolean norm;            /* conditional instance norm after the conv */
  gboolean relu;            /* ReLU after the norm */
  gboolean upsample_in;     /* x2 upsampling of the previous output (cfg.bilinear) */
  int      residual_layer;  /* -1, or the layer whose output is added back */
  size_t   w_off, b_off, gamma_off, beta_off;

  /* planned for the current input size */
  NsConv2dShape shape;
  /* the conv reads the upsampled input as it goes (inference), so in_slot
   * is not used: the largest slot of the inference plan */
  gboolean upsample_fused;
  int      in_slot, y_slot, z_slot, out_slot;
  size_t   stats_off;       /* mean, rstd [n*out_c], gamma_eff, beta_eff [out_c] */
} GenLayer;

struct NsGenerator
{
  NsGeneratorConfig cfg;
  GenLayer *layers;
  int       n_layers;

  size_t    n_params;
  float    *block;          /* params | grads | adam m | adam v */

  /* the plan */
  int       plan_n, plan_h, plan_w;   /* 0 when unplanned */
  gboolean  plan_training;
  const char *plan_kernel;            /* the conv kernels it fused upsampling for */
  int       pad_h, pad_w;             /* h, w rounded up to multiples of 4 */
  int       n_slots;
  size_t   *slot_off, *slot_len;
  size_t    arena_len;                /* floats */
  float    *acts, *dacts, *stats, *ws;
  /* their lengths in floats: a new plan reuses a buffer that is long
   * enough, so a generator kept between runs whose size changes a little
   * (the dialog's variations) keeps its pages */
  size_t    acts_cap, dacts_cap, stats_cap, ws_cap;
  float    *mix_copy;                 /* the last forward's mix */
  float     noise;                    /* input noise amplitude, 0 = none */
  guint64   noise_seed;
  const NsProgress *progress;    /* its cancel polled between layers, may be NULL */
};

/* ---- layer table ---------------------------------------------------------- */

static void
add_layer (GArray *layers, const char *name, int in_c, int out_c, int k,
           int stride, gboolean norm, gboolean relu, gboolean upsample_in,
           int residual_layer)
{
  GenLayer l = { 0 };
  g_strlcpy (l.name, name, sizeof l.name);
  l.in_c = in_c;
  l.out_c = out_c;
  l.k = k;
  l.stride = stride;
  l.norm = norm;
  l.relu = relu;
  l.upsample_in = upsample_in;
  l.residual_layer = residual_layer;
  g_array_append_val (layers, l);
}

/* The layers and their parameter offsets, in ns_arch_tensors' order:
 * NAME.weight, NAME.bias, NAME.norm.gamma, NAME.norm.beta. */
static void
build_layers (NsGenerator *g)
{
  const int c = g->cfg.base_channels, S = g->cfg.n_styles;
  GArray *layers = g_array_new (FALSE, TRUE, sizeof (GenLayer));

  add_layer (layers, "enc1", 3, c, 9, 1, TRUE, TRUE, FALSE, -1);
  add_layer (layers, "enc2", c, 2 * c, 3, 2, TRUE, TRUE, FALSE, -1);
  add_layer (layers, "enc3", 2 * c, 4 * c, 3, 2, TRUE, TRUE, FALSE, -1);
  for (int i = 0; i < g->cfg.res_blocks; i++)
    {
      char name[24];
      int block_input = (int) layers->len - 1;
      g_snprintf (name, sizeof name, "res%d.conv1", i);
      add_layer (layers, name, 4 * c, 4 * c, 3, 1, TRUE, TRUE, FALSE, -1);
      g_snprintf (name, sizeof name, "res%d.conv2", i);
      add_layer (layers, name, 4 * c, 4 * c, 3, 1, TRUE, FALSE, FALSE, block_input);
    }
  add_layer (layers, "dec1", 4 * c, 2 * c, 3, 1, TRUE, TRUE, TRUE, -1);
  add_layer (layers, "dec2", 2 * c, c, 3, 1, TRUE, TRUE, TRUE, -1);
  add_layer (layers, "out", c, 3, g->cfg.out_kernel, 1, FALSE, FALSE, FALSE, -1);

  size_t off = 0;
  for (guint i = 0; i < layers->len; i++)
    {
      GenLayer *l = &g_array_index (layers, GenLayer, i);
      l->w_off = off;
      off += (size_t) l->out_c * l->in_c * l->k * l->k;
      l->b_off = off;
      off += l->out_c;
      if (l->norm)
        {
          l->gamma_off = off;
          off += (size_t) S * l->out_c;
          l->beta_off = off;
          off += (size_t) S * l->out_c;
        }
    }
  g->n_params = off;
  g->n_layers = (int) layers->len;
  g->layers = (GenLayer *) g_array_free (layers, FALSE);
}

static gboolean
check_config (const NsGeneratorConfig *cfg, GError **error)
{
  if (cfg->out_kernel < 1 || cfg->out_kernel > 9 || cfg->out_kernel % 2 == 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "generator out_kernel must be odd in 1..9, not %d",
                   cfg->out_kernel);
      return FALSE;
    }
  if (cfg->base_channels < 1 || cfg->base_channels > NS_ARCH_MAX_BASE_CHANNELS
      || cfg->res_blocks < 0 || cfg->res_blocks > NS_ARCH_MAX_RES_BLOCKS
      || cfg->n_styles < 1 || cfg->n_styles > NS_ARCH_MAX_STYLES)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "generator needs base_channels 1..%d, res_blocks 0..%d and "
                   "1..%d styles (got %d, %d, %d)", NS_ARCH_MAX_BASE_CHANNELS,
                   NS_ARCH_MAX_RES_BLOCKS, NS_ARCH_MAX_STYLES, cfg->base_channels,
                   cfg->res_blocks, cfg->n_styles);
      return FALSE;
    }
  return TRUE;
}

static NsGenerator *
generator_alloc (const NsGeneratorConfig *config, GError **error)
{
  NsGeneratorConfig full = *config;
  const NsGeneratorConfig *cfg = &full;
  if (full.out_kernel == 0)
    full.out_kernel = 9;
  if (!check_config (cfg, error))
    return NULL;
  NsGenerator *g = g_new0 (NsGenerator, 1);
  g->cfg = *cfg;
  build_layers (g);
  g->block = g_try_new0 (float, 4 * g->n_params);
  g->mix_copy = g_new0 (float, cfg->n_styles);
  if (!g->block)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "no memory for %zu generator parameters", g->n_params);
      ns_generator_free (g);
      return NULL;
    }
  return g;
}

NsGenerator *
ns_generator_new (const NsGeneratorConfig *cfg, guint64 seed, GError **error)
{
  NsGenerator *g = generator_alloc (cfg, error);
  if (!g)
    return NULL;
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      size_t fan_in = (size_t) l->in_c * l->k * l->k;
      float std = sqrtf (2.0f / fan_in);
      if (!l->norm)
        std *= OUT_INIT_SCALE;
      float *w = g->block + l->w_off;
      for (size_t j = 0; j < fan_in * l->out_c; j++)
        w[j] = std * ns_rng_normal (&rng);
      /* biases and betas stay 0 */
      if (l->norm)
        for (size_t j = 0; j < (size_t) cfg->n_styles * l->out_c; j++)
          g->block[l->gamma_off + j] = 1.0f;
    }
  return g;
}

static void
free_buffers (NsGenerator *g)
{
  g_clear_pointer (&g->acts, g_free);
  g_clear_pointer (&g->dacts, g_free);
  g_clear_pointer (&g->stats, g_free);
  g_clear_pointer (&g->ws, g_free);
  g->acts_cap = g->dacts_cap = g->stats_cap = g->ws_cap = 0;
}

void
ns_generator_free (NsGenerator *g)
{
  if (!g)
    return;
  g_free (g->layers);
  g_free (g->block);
  g_free (g->slot_off);
  g_free (g->slot_len);
  free_buffers (g);
  g_free (g->mix_copy);
  g_free (g);
}

/* ---- weight files ----------------------------------------------------------- */

static gboolean
copy_tensor_in (float *dst, size_t len, const NsWeights *w, const char *name,
                GError **error)
{
  int dims[NS_WEIGHTS_MAX_DIMS], ndim;
  const float *src = ns_weights_tensor (w, name, dims, &ndim);
  size_t have = 1;
  if (src)
    for (int i = 0; i < ndim; i++)
      have *= dims[i];
  if (!src || have != len)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_SHAPE,
                   "generator tensor %s is %s", name,
                   src ? "the wrong size" : "missing");
      return FALSE;
    }
  memcpy (dst, src, sizeof (float) * len);
  return TRUE;
}

NsGenerator *
ns_generator_new_from_weights (const NsWeights *w, GError **error)
{
  gint64 c, r, out_k = 9;
  gboolean bilinear = FALSE;
  ns_weights_get_int (w, "out_kernel", &out_k);   /* optional */
  if (g_strcmp0 (ns_weights_arch (w), NS_ARCH_GENERATOR) != 0
      || !ns_arch_generator_bilinear (w, &bilinear, NULL)
      || !ns_weights_get_int (w, "base_channels", &c)
      || !ns_weights_get_int (w, "res_blocks", &r)
      || c < 1 || c > NS_ARCH_MAX_BASE_CHANNELS || r < 0 || r > NS_ARCH_MAX_RES_BLOCKS
      || out_k < 1 || out_k > 9)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "not an %s weight file with valid "
                   "base_channels, res_blocks, out_kernel and upsample",
                   NS_ARCH_GENERATOR);
      return NULL;
    }
  NsGeneratorConfig cfg = { (int) c, (int) r, ns_weights_n_styles (w), (int) out_k,
                            bilinear };
  g_autoptr (NsGenerator) g = generator_alloc (&cfg, error);
  if (!g)
    return NULL;
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      char name[64];
      size_t S = cfg.n_styles;
      g_snprintf (name, sizeof name, "%s.weight", l->name);
      if (!copy_tensor_in (g->block + l->w_off, l->b_off - l->w_off, w, name, error))
        return NULL;
      g_snprintf (name, sizeof name, "%s.bias", l->name);
      if (!copy_tensor_in (g->block + l->b_off, l->out_c, w, name, error))
        return NULL;
      if (!l->norm)
        continue;
      g_snprintf (name, sizeof name, "%s.norm.gamma", l->name);
      if (!copy_tensor_in (g->block + l->gamma_off, S * l->out_c, w, name, error))
        return NULL;
      g_snprintf (name, sizeof name, "%s.norm.beta", l->name);
      if (!copy_tensor_in (g->block + l->beta_off, S * l->out_c, w, name, error))
        return NULL;
    }
  /* the amplitude it was trained with; the seed is the caller's */
  double noise;
  if (ns_weights_get_double (w, "noise", &noise) && noise > 0 && noise < 1)
    g->noise = (float) noise;
  return g_steal_pointer (&g);
}

void
ns_generator_to_weights (const NsGenerator *g, NsWeights *w)
{
  const int S = g->cfg.n_styles;
  ns_weights_set_int (w, "base_channels", g->cfg.base_channels);
  ns_weights_set_int (w, "res_blocks", g->cfg.res_blocks);
  ns_weights_set_int (w, "out_kernel", g->cfg.out_kernel);
  if (g->cfg.bilinear)   /* files without the key stay nearest */
    ns_weights_set_string (w, "upsample", NS_ARCH_UPSAMPLE_BILINEAR);
  if (g->noise > 0)
    ns_weights_set_double (w, "noise", g->noise);
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      char name[64];
      g_snprintf (name, sizeof name, "%s.weight", l->name);
      ns_weights_add_tensor (w, name, 4, (int[]) { l->out_c, l->in_c, l->k, l->k },
                             g->block + l->w_off);
      g_snprintf (name, sizeof name, "%s.bias", l->name);
      ns_weights_add_tensor (w, name, 1, (int[]) { l->out_c }, g->block + l->b_off);
      if (!l->norm)
        continue;
      g_snprintf (name, sizeof name, "%s.norm.gamma", l->name);
      ns_weights_add_tensor (w, name, 2, (int[]) { S, l->out_c },
                             g->block + l->gamma_off);
      g_snprintf (name, sizeof name, "%s.norm.beta", l->name);
      ns_weights_add_tensor (w, name, 2, (int[]) { S, l->out_c },
                             g->block + l->beta_off);
    }
}

/* ---- accessors -------------------------------------------------------------- */

const NsGeneratorConfig *
ns_generator_config (const NsGenerator *g)
{
  return &g->cfg;
}

size_t ns_generator_n_params (const NsGenerator *g) { return g->n_params; }
float *ns_generator_params (NsGenerator *g) { return g->block; }
float *ns_generator_grads  (NsGenerator *g) { return g->block + g->n_params; }
float *ns_generator_adam_m (NsGenerator *g) { return g->block + 2 * g->n_params; }
float *ns_generator_adam_v (NsGenerator *g) { return g->block + 3 * g->n_params; }

void
ns_generator_set_noise (NsGenerator *g, float amplitude, guint64 seed)
{
  g->noise = MAX (amplitude, 0.0f);
  g->noise_seed = seed;
}

void
ns_generator_variation_noise (float *plane, int h, int w, float amplitude,
                              guint64 seed, float *tmp)
{
  const size_t len = (size_t) h * w;
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (size_t j = 0; j < len; j++)
    tmp[j] = ns_rng_normal (&rng);
  ns_blur_forward (plane, tmp, 1, h, w, NS_GENERATOR_NOISE_SIGMA, tmp + len);
  /* less its own wider blur: no blob wider than a stroke, which the network
   * painted as dark clusters in flat skies (docs/generator.md,
   * "Band-limited variation noise") */
  ns_blur_forward (tmp, plane, 1, h, w, NS_GENERATOR_NOISE_BAND_SIGMA, tmp + len);
  double sq = 0;
  for (size_t j = 0; j < len; j++)
    {
      plane[j] -= tmp[j];
      sq += plane[j] * plane[j];
    }
  const float scale = (float) (amplitude / sqrt (sq / (double) len + 1e-20));
  for (size_t j = 0; j < len; j++)
    plane[j] *= scale;
}

float
ns_generator_noise (const NsGenerator *g)
{
  return g->noise;
}

void
ns_generator_style_mask (const NsGenerator *g, int style, guint8 *mask)
{
  memset (mask, 0, g->n_params);
  if (style < 0 || style >= g->cfg.n_styles)
    return;
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      if (!l->norm)
        continue;
      size_t row = (size_t) style * l->out_c;
      memset (mask + l->gamma_off + row, 1, l->out_c);
      memset (mask + l->beta_off + row, 1, l->out_c);
    }
}

double
ns_generator_flops (const NsGenerator *g, int h, int w)
{
  double flops = 0.0;
  h = (h + 3) & ~3;
  w = (w + 3) & ~3;
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      if (l->upsample_in)
        {
          h *= 2;
          w *= 2;
        }
      int oh = (h - 1) / l->stride + 1, ow = (w - 1) / l->stride + 1;
      flops += 2.0 * l->in_c * l->k * l->k * l->out_c * oh * ow;
      h = oh;
      w = ow;
    }
  return flops;
}

int
ns_generator_n_layers (const NsGenerator *g)
{
  return g->n_layers;
}

const char *
ns_generator_layer (const NsGenerator *g, int i, NsConv2dShape *shape)
{
  g_return_val_if_fail (i >= 0 && i < g->n_layers, NULL);
  if (shape)
    *shape = g->plan_n > 0 ? g->layers[i].shape : (NsConv2dShape) { 0 };
  return g->layers[i].name;
}

/* ---- planning --------------------------------------------------------------- */

static int
new_slot (GArray *lens, size_t len)
{
  g_array_append_val (lens, len);
  return (int) lens->len - 1;
}

static inline size_t
aligned (size_t len)
{
  return (len + 15) & ~(size_t) 15;   /* 64-byte steps */
}

/* Offsets of the slots in the arena; returns its length.  Training keeps
 * every activation for the backward, so slots follow each other.  An
 * inference plan reuses memory: a slot is live from the layer that writes it
 * to the last layer that reads it (the photo until 'out', a block input
 * until its residual add), and goes first-fit into a gap left by slots that
 * died before it was born. */
static size_t
place_slots (NsGenerator *g, gboolean training)
{
  const int n_slots = g->n_slots, last_layer = g->n_layers - 1;
  size_t total = 0;
  if (training)
    {
      for (int i = 0; i < n_slots; i++)
        {
          g->slot_off[i] = total;
          total += aligned (g->slot_len[i]);
        }
      return total;
    }

  g_autofree int *born = g_new0 (int, n_slots), *dies = g_new0 (int, n_slots);
  born[0] = born[1] = -1;
  dies[0] = last_layer;                        /* read by 'out' (the skip) */
  for (int i = 0; i < g->n_layers; i++)
    {
      const GenLayer *l = &g->layers[i];
      int source = i > 0 ? g->layers[i - 1].out_slot : 1;
      born[l->y_slot] = born[l->z_slot] = born[l->out_slot] = i;
      dies[l->y_slot] = MAX (dies[l->y_slot], i);
      dies[source] = MAX (dies[source], i);    /* read directly or upsampled */
      if (l->upsample_in && !l->upsample_fused)
        born[l->in_slot] = dies[l->in_slot] = i;
      if (l->residual_layer >= 0)
        {
          int res = g->layers[l->residual_layer].out_slot;
          dies[res] = MAX (dies[res], i);
        }
    }
  dies[g->layers[last_layer].out_slot] = g->n_layers;   /* cropped at the end */

  /* slots are numbered in birth order */
  for (int i = 0; i < n_slots; i++)
    {
      size_t len = aligned (g->slot_len[i]), at = 0;
      gboolean moved = TRUE;
      while (moved)   /* first fit: step past every live slot in the way */
        {
          moved = FALSE;
          for (int j = 0; j < i; j++)
            if (dies[j] >= born[i] && at < g->slot_off[j] + aligned (g->slot_len[j])
                && g->slot_off[j] < at + len)
              {
                at = g->slot_off[j] + aligned (g->slot_len[j]);
                moved = TRUE;
              }
        }
      g->slot_off[i] = at;
      total = MAX (total, at + len);
    }
  return total;
}

static void
drop_plan (NsGenerator *g)
{
  g_clear_pointer (&g->slot_off, g_free);
  g_clear_pointer (&g->slot_len, g_free);
  g->plan_n = g->plan_h = g->plan_w = 0;
}

/* *buf with room for len floats: the one there when long enough */
static gboolean
reserve (float **buf, size_t *cap, size_t len)
{
  len = MAX (len, 1);
  if (*buf && *cap >= len)
    return TRUE;
  g_free (*buf);
  *buf = g_try_new (float, len);
  *cap = *buf ? len : 0;
  return *buf != NULL;
}

size_t
ns_generator_plan_bytes (const NsGenerator *g)
{
  return sizeof (float) * (g->acts_cap + g->dacts_cap + g->stats_cap + g->ws_cap);
}

gboolean
ns_generator_plan (NsGenerator *g, int n, int h, int w, gboolean training,
                   GError **error)
{
  if (n < 1 || h < 1 || w < 1 || (double) n * h * w > (double) (1u << 28))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "generator input of %d x %d x %d is out of range", n, h, w);
      return FALSE;
    }
  if (g->plan_n == n && g->plan_h == h && g->plan_w == w
      && (g->plan_training || !training) && g->plan_kernel == ns_conv2d_kernel ())
    return TRUE;
  drop_plan (g);

  g->pad_h = (h + 3) & ~3;
  g->pad_w = (w + 3) & ~3;
  g_autoptr (GArray) lens = g_array_new (FALSE, FALSE, sizeof (size_t));
  int cur_h = g->pad_h, cur_w = g->pad_w;
  /* slot 0: the padded photo (the skip into 'out'); slot 1: what enc1
   * reads, the photo plus the variation noise */
  new_slot (lens, (size_t) n * 3 * cur_h * cur_w);
  int prev_out = new_slot (lens, (size_t) n * 3 * cur_h * cur_w);
  size_t stats_len = 0, ws_len = 0;

  for (int i = 0; i < g->n_layers; i++)
    {
      GenLayer *l = &g->layers[i];
      if (l->upsample_in)
        {
          cur_h *= 2;
          cur_w *= 2;
        }
      ns_conv2d_shape (&l->shape, n, l->in_c, cur_h, cur_w, l->out_c, l->k,
                       l->stride, NS_PAD_REFLECT);
      /* training keeps the upsampled input for the backward */
      l->upsample_fused = l->upsample_in && !training && ns_conv2d_reads_upsampled (&l->shape);
      l->in_slot = l->upsample_in && !l->upsample_fused
                   ? new_slot (lens, (size_t) n * l->in_c * cur_h * cur_w) : prev_out;
      size_t len = (size_t) n * l->out_c * l->shape.out_h * l->shape.out_w;
      l->y_slot = new_slot (lens, len);
      if (training)
        {
          l->z_slot = new_slot (lens, len);
          l->out_slot = l->residual_layer >= 0 ? new_slot (lens, len) : l->z_slot;
        }
      else /* nothing is kept for a backward: norm, activation and residual
            * sum all work in place, halving the memory */
        l->z_slot = l->out_slot = l->y_slot;
      l->stats_off = stats_len;
      stats_len += 2 * (size_t) n * l->out_c + 2 * (size_t) l->out_c;
      ws_len = MAX (ws_len, ns_conv2d_workspace (&l->shape));
      cur_h = l->shape.out_h;
      cur_w = l->shape.out_w;
      prev_out = l->out_slot;
    }

  g->n_slots = (int) lens->len;
  g->slot_len = g_memdup2 (lens->data, sizeof (size_t) * lens->len);
  g->slot_off = g_new (size_t, lens->len);
  size_t total = place_slots (g, training);
  g->arena_len = total;
  if (!reserve (&g->acts, &g->acts_cap, total)
      || (training && !reserve (&g->dacts, &g->dacts_cap, total))
      || !reserve (&g->stats, &g->stats_cap, stats_len)
      || !reserve (&g->ws, &g->ws_cap, ws_len))
    {
      drop_plan (g);
      free_buffers (g);
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "no memory for the generator's activations on %d x %d x %d "
                   "(%.0f MiB)", n, h, w, total * (training ? 2 : 1) * 4.0 / 1048576);
      return FALSE;
    }
  g->plan_n = n;
  g->plan_h = h;
  g->plan_w = w;
  g->plan_training = training;
  g->plan_kernel = ns_conv2d_kernel ();
  return TRUE;
}

/* ---- forward / backward ---------------------------------------------------- */

static inline float *
act (NsGenerator *g, int slot)
{
  return g->acts + g->slot_off[slot];
}

static inline float *
dact (NsGenerator *g, int slot)
{
  return g->dacts + g->slot_off[slot];
}

static inline float
skip_logit (float x)
{
  x = CLAMP (x, SKIP_EPS, 1.0f - SKIP_EPS);
  return logf (x / (1.0f - x));
}

/* The photo's planes into the padded ones and back: dst [planes][dh][dw]
 * from src [planes][sh][sw], ROWS_PART rows a task (on the pool: 12 MB each
 * way at 1 MP) */
#define ROWS_PART 64

typedef struct
{
  float *dst;
  const float *src;
  int planes, dh, dw, sh, sw;
} Rows;

/* parts of ROWS_PART rows in one destination plane */
static int
rows_parts (const Rows *r)
{
  return (r->dh + ROWS_PART - 1) / ROWS_PART;
}

static int
rows_tasks (const Rows *r)
{
  return r->planes * rows_parts (r);
}

/* task's plane p and its rows [y0, y1) of the destination */
static void
rows_span (const Rows *r, int task, int *p, int *y0, int *y1)
{
  const int parts = rows_parts (r);
  *p = task / parts;
  *y0 = task % parts * ROWS_PART;
  *y1 = MIN (*y0 + ROWS_PART, r->dh);
}

/* rows of a padded plane: the photo's, the bottom and right by reflection */
static void
pad_rows (gpointer data, int task, int thread)
{
  const Rows *r = data;
  int p, y0, y1;
  rows_span (r, task, &p, &y0, &y1);
  (void) thread;
  for (int y = y0; y < y1; y++)
    {
      const float *src = r->src + ((size_t) p * r->sh + ns_reflect_index (y, r->sh)) * r->sw;
      float *dst = r->dst + ((size_t) p * r->dh + y) * r->dw;
      memcpy (dst, src, sizeof (float) * r->sw);
      for (int xx = r->sw; xx < r->dw; xx++)
        dst[xx] = src[ns_reflect_index (xx, r->sw)];
    }
}

/* rows of a cropped plane */
static void
crop_rows (gpointer data, int task, int thread)
{
  const Rows *r = data;
  int p, y0, y1;
  rows_span (r, task, &p, &y0, &y1);
  (void) thread;
  for (int y = y0; y < y1; y++)
    memcpy (r->dst + ((size_t) p * r->dh + y) * r->dw,
            r->src + ((size_t) p * r->sh + y) * r->sw, sizeof (float) * r->dw);
}

/* The output layer's tasks take its 3 planes by NS_TASK_PART floats, so
 * that both cores have work to the end (one task a plane left one of two
 * cores idle for a third of the layer). */

typedef struct
{
  float *y, *z;
  const float *x;
  size_t len;
} OutJob;

/* a part of the output layer: y += logit of the photo, z = sigmoid (y),
 * while the part is in cache */
static void
out_part (gpointer data, int part, int thread)
{
  const OutJob *o = data;
  const size_t off = (size_t) part * NS_TASK_PART, len = MIN (NS_TASK_PART, o->len - off);
  float *y = o->y + off;
  const float *x = o->x + off;
  (void) thread;
  for (size_t j = 0; j < len; j++)
    y[j] += skip_logit (x[j]);
  ns_act_forward (o->z + off, y, len, NS_ACT_SIGMOID, 0.0f);
}

gboolean
ns_generator_forward (NsGenerator *g, float *out, const float *in,
                      const float *mix, int n, int h, int w, gboolean training,
                      GError **error)
{
  if (!ns_generator_plan (g, n, h, w, training, error))
    return FALSE;
  const int S = g->cfg.n_styles, ph = g->pad_h, pw = g->pad_w;
  const float *P = g->block;
  memcpy (g->mix_copy, mix, sizeof (float) * S);

  /* the photo, padded on the bottom and right by reflection */
  float *x = act (g, 0);
  Rows pad = { x, in, n * 3, ph, pw, h, w };
  ns_tasks_run (rows_tasks (&pad), pad_rows, &pad);

  /* the variation noise: the same for a seed, so a seed is a variation;
   * each image's three planes of 'noisy' serve as the noise's workspace
   * before they take the photo plus the noise */
  float *noisy = act (g, 1);
  const size_t photo_len = (size_t) n * 3 * ph * pw;
  if (g->noise > 0)
    {
      const size_t plane = (size_t) ph * pw;
      for (int b = 0; b < n; b++)
        {
          float *r = noisy + (size_t) b * 3 * plane, *gr = r + plane, *bl = gr + plane;
          const float *xr = x + (size_t) b * 3 * plane, *xg = xr + plane, *xb = xg + plane;
          ns_generator_variation_noise (r, ph, pw, g->noise, g->noise_seed + (guint64) b, gr);
          for (size_t j = 0; j < plane; j++)
            {
              const float v = r[j];
              r[j] = xr[j] + v;
              gr[j] = xg[j] + v;
              bl[j] = xb[j] + v;
            }
        }
    }
  else if (training)   /* enc1's input, kept for its backward */
    memcpy (noisy, x, sizeof (float) * photo_len);

  const float *prev = g->noise > 0 || training ? noisy : x;
  for (int i = 0; i < g->n_layers; i++)
    {
      if (ns_progress_cancelled (g->progress, error))
        return FALSE;
      GenLayer *l = &g->layers[i];
      const NsConv2dShape *s = &l->shape;
      const int hw = s->out_h * s->out_w;
      const size_t len = (size_t) n * l->out_c * hw;
      float *y = act (g, l->y_slot), *z = act (g, l->z_slot);
      float *st = g->stats + l->stats_off;

      if (l->upsample_fused)
        ns_conv2d_forward_upsampled (y, prev, g->cfg.bilinear ? ns_upsample2x_bilinear_row
                                                             : ns_upsample2x_row,
                                     P + l->w_off, P + l->b_off, s, g->ws);
      else
        {
          if (l->upsample_in)
            {
              (g->cfg.bilinear ? ns_upsample2x_bilinear_forward : ns_upsample2x_forward)
                (act (g, l->in_slot), prev, n, l->in_c, s->h / 2, s->w / 2);
              prev = act (g, l->in_slot);
            }
          ns_conv2d_forward (y, prev, P + l->w_off, P + l->b_off, s, g->ws);
        }
      if (l->norm)
        {
          ns_cond_instnorm_forward (z, st, st + n * l->out_c,
                                    st + 2 * n * l->out_c,
                                    st + 2 * n * l->out_c + l->out_c, y,
                                    P + l->gamma_off, P + l->beta_off, mix,
                                    S, n, l->out_c, hw, l->relu);
        }
      else
        {
          /* the output layer: a change over the photo's logit */
          OutJob job = { y, z, x, len };
          ns_tasks_run (ns_task_parts (len), out_part, &job);
        }
      if (l->residual_layer >= 0)
        ns_add_forward (act (g, l->out_slot), z,
                        act (g, g->layers[l->residual_layer].out_slot), len);
      prev = act (g, l->out_slot);
    }

  /* crop the padding away */
  Rows crop = { out, prev, n * 3, h, w, ph, pw };
  ns_tasks_run (rows_tasks (&crop), crop_rows, &crop);
  return TRUE;
}

void
ns_generator_set_progress (NsGenerator *g, const NsProgress *progress)
{
  g->progress = progress;
}

void
ns_generator_backward (NsGenerator *g, float *din, const float *dout)
{
  g_return_if_fail (g->plan_n > 0 && g->plan_training);
  const int n = g->plan_n, h = g->plan_h, w = g->plan_w;
  const int S = g->cfg.n_styles, ph = g->pad_h, pw = g->pad_w;
  const float *P = g->block;
  float *G = ns_generator_grads (g);
  const float *mix = g->mix_copy;
  const GenLayer *last = &g->layers[g->n_layers - 1];

  memset (g->dacts, 0, sizeof (float) * g->arena_len);
  float *dz_last = dact (g, last->out_slot);
  for (int p = 0; p < n * 3; p++)
    for (int y = 0; y < h; y++)
      memcpy (dz_last + ((size_t) p * ph + y) * pw, dout + ((size_t) p * h + y) * w,
              sizeof (float) * w);

  const float *x = act (g, 0);
  float *dx = dact (g, 0);
  for (int i = g->n_layers - 1; i >= 0; i--)
    {
      const GenLayer *l = &g->layers[i];
      const NsConv2dShape *s = &l->shape;
      const int hw = s->out_h * s->out_w;
      const size_t len = (size_t) n * l->out_c * hw;
      const float *y = act (g, l->y_slot), *z = act (g, l->z_slot);
      float *dy = dact (g, l->y_slot), *dz = dact (g, l->z_slot);
      const float *st = g->stats + l->stats_off;

      if (l->residual_layer >= 0)
        ns_add_backward (dz, dact (g, g->layers[l->residual_layer].out_slot),
                         dact (g, l->out_slot), len);
      if (l->norm)
        {
          /* ReLU in place: z > 0 exactly where its input was (a store
           * on every element, so that the loop runs on vectors) */
          if (l->relu)
            for (size_t j = 0; j < len; j++)
              dz[j] = z[j] > 0.0f ? dz[j] : 0.0f;
          ns_cond_instnorm_backward (dy, G + l->gamma_off, G + l->beta_off, dz, y,
                                     st, st + n * l->out_c, st + 2 * n * l->out_c,
                                     mix, S, n, l->out_c, hw);
        }
      else
        {
          ns_act_backward (dy, dz, y, z, len, NS_ACT_SIGMOID, 0.0f);
          for (size_t j = 0; j < len; j++)
            if (x[j] > SKIP_EPS && x[j] < 1.0f - SKIP_EPS)
              dx[j] += dy[j] / (x[j] * (1.0f - x[j]));
        }
      const int in_slot = l->in_slot;
      /* enc1's din (the photo's gradient, a full-resolution 9x9 pass) only
       * when asked for */
      float *d_in = i > 0 || din ? dact (g, in_slot) : NULL;
      ns_conv2d_backward (d_in, G + l->w_off, G + l->b_off, dy,
                          act (g, in_slot), P + l->w_off, s, g->ws);
      if (l->upsample_in)
        (g->cfg.bilinear ? ns_upsample2x_bilinear_backward : ns_upsample2x_backward)
          (dact (g, g->layers[i - 1].out_slot), dact (g, in_slot), n, l->in_c,
           s->h / 2, s->w / 2);
    }

  if (!din)
    return;
  /* the noise is added: its gradient is the photo's */
  const float *dnoisy = dact (g, 1);
  for (size_t j = 0; j < (size_t) n * 3 * ph * pw; j++)
    dx[j] += dnoisy[j];
  /* adjoint of the reflection padding: mirrored pixels fold back */
  for (int p = 0; p < n * 3; p++)
    for (int y = 0; y < ph; y++)
      {
        const float *src = dx + ((size_t) p * ph + y) * pw;
        float *dst = din + ((size_t) p * h + ns_reflect_index (y, h)) * w;
        for (int xx = 0; xx < pw; xx++)
          dst[ns_reflect_index (xx, w)] += src[xx];
      }
}

gboolean
ns_generator_apply (NsGenerator *g, NsImage *img, const float *mix, GError **error)
{
  g_autoptr (NsPlanes) rgb = ns_planes_from_image_rgb (img, error);
  if (!rgb)
    return FALSE;
  g_autoptr (NsPlanes) out = ns_planes_new (3, rgb->h, rgb->w, error);
  if (!out || !ns_generator_forward (g, out->data, rgb->data, mix, 1, rgb->h,
                                     rgb->w, FALSE, error))
    return FALSE;
  ns_planes_to_image_rgb (out, img);
  return TRUE;
}

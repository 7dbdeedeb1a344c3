/* The generator's trainer: data sampling, the four-term objective, Adam on
 * the models' parallel blocks, validation, checkpoints.  See ns_trainer.h. */
#include "ns_trainer.h"
#include "ns_blas.h"
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_generator.h"
#include "ns_imgproc.h"
#include "ns_loss.h"
#include "ns_optim.h"
#include "ns_presets.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define MAX_SCALES      3       /* style loss at crop, crop/2, crop/4 */
#define MIN_SCALE_SIDE  16
#define CONTENT_SIGMA   1.5f    /* px, as the optimisation path */
#define SWD_PATCH       7
#define SWD_PROJECTIONS 32
#define SWD_SAMPLES     4096    /* patches per side and call */
#define STROKE_SIGMA    1.5f    /* px: the stroke loss sees detail below this */
#define CHROMA_SIGMA    3.0f    /* px: colour moves freely below this (strokes) */
#define VARIATION_SIGMA 4.0f    /* px: variations' local contrast is compared over this */
/* Adam: GANs train more stably with a short first-moment memory */
#define ADAM_BETA1      0.5f
#define ADAM_BETA2      0.999f
#define ADAM_EPS        1e-8f
#define CHECKPOINT_FORMAT "ns-train-checkpoint-1"
/* seeds of the independent random streams, mixed with the user's seed */
#define STREAM_SPLIT      0x5151u
#define STREAM_VALIDATION 0xa1a1u

void
ns_train_params_init (NsTrainParams *p)
{
  *p = (NsTrainParams) {
    .base_channels = NS_GENERATOR_BASE_CHANNELS,
    .res_blocks = NS_GENERATOR_RES_BLOCKS,
    .out_kernel = NS_GENERATOR_OUT_KERNEL,
    .steps = 2000, .batch = 4, .crop = 128, .photo_size = 256, .style_size = 512,
    .lr = 1e-3f, .lr_disc = 1e-3f,
    .lambda_adv = 0.02, .lambda_content = 1.0, .lambda_style = 1.0,
    .lambda_stroke = 5.0, .lambda_chroma = 0.0, .lambda_tv = 0.02,
    .gan_loss = NS_GAN_LSGAN,
    .disc_channels = NS_DISCRIMINATOR_BASE_CHANNELS,
    .disc_layers = NS_DISCRIMINATOR_LAYERS,
    .validation_fraction = 0.1, .validate_every = 100,
    .seed = 1, .checkpoint_every = 100,
    .identity = TRUE, .lambda_identity = 10.0,
  };
}

static gboolean
invalid (GError **error, const char *what)
{
  g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT, "training: %s", what);
  return FALSE;
}

gboolean
ns_train_params_validate (const NsTrainParams *p, GError **error)
{
  if (p->n_photos < 1 || !p->photos)
    return invalid (error, "no photos");
  if (p->n_styles < 1 || !p->styles || !p->style_names)
    return invalid (error, "no style image");
  for (int i = 0; i < p->n_photos; i++)
    if (!p->photos[i] || !p->photos[i]->data)
      return invalid (error, "a photo is missing");
  if (p->snapshot && (!p->snapshot_photo || !p->snapshot_photo->data))
    return invalid (error, "a snapshot needs the photo it paints");
  for (int i = 0; i < p->n_styles; i++)
    if (!p->styles[i] || !p->styles[i]->data || !p->style_names[i]
        || !p->style_names[i][0])
      return invalid (error, "every style needs an image and a name");
  if (p->steps < 1 || p->batch < 1 || p->batch > 64)
    return invalid (error, "steps must be >= 1 and batch in 1..64");
  if (p->crop < 16 || p->crop > 1024 || p->photo_size < p->crop
      || p->photo_size > 4096 || p->style_size < p->crop || p->style_size > 4096)
    return invalid (error, "crop must be 16..1024 and photo/style sizes crop..4096");
  if (!(p->lr > 0 && p->lr < 1) || !(p->lr_disc > 0 && p->lr_disc < 1))
    return invalid (error, "learning rates must be in (0, 1)");
  double l[] = { p->lambda_adv, p->lambda_content, p->lambda_style, p->lambda_stroke,
                 p->lambda_chroma, p->lambda_variation, p->lambda_tv };
  for (int i = 0; i < (int) G_N_ELEMENTS (l); i++)
    if (!(l[i] >= 0) || !isfinite (l[i]))
      return invalid (error, "loss weights must be finite and >= 0");
  if (p->lambda_content + p->lambda_style + p->lambda_stroke + p->lambda_adv <= 0)
    return invalid (error, "at least one of the adversarial, content, style and stroke weights must be > 0");
  if (!(p->validation_fraction >= 0 && p->validation_fraction < 1)
      || p->validate_every < 0 || p->checkpoint_every < 0 || p->snapshot_every < 0)
    return invalid (error, "validation fraction must be in [0, 1), intervals >= 0");
  if (p->style_thumbnails && !p->style_thumbnail_lens)
    return invalid (error, "style thumbnails need their lengths");
  if (!(p->noise >= 0 && p->noise < 1))
    return invalid (error, "noise must be in [0, 1)");
  if (p->lambda_variation > 0 && (p->batch % 2 || p->noise <= 0))
    return invalid (error, "the variation weight needs an even batch and noise > 0");
  if (!p->output || !p->output[0])
    return invalid (error, "no output file");
  if (p->resume && !p->checkpoint)
    return invalid (error, "resume needs a checkpoint file");
  if (!(p->lambda_identity >= 0) || !isfinite (p->lambda_identity))
    return invalid (error, "the identity weight must be finite and >= 0");
  for (int i = 0; i < p->n_styles; i++)
    {
      if (strcmp (p->style_names[i], NS_IDENTITY_STYLE) == 0)
        return invalid (error, "\"" NS_IDENTITY_STYLE "\" is reserved for the identity row");
      /* the weight file needs unique names: found now, not after training */
      for (int j = 0; j < i; j++)
        if (strcmp (p->style_names[i], p->style_names[j]) == 0)
          {
            g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                         "the style name \"%s\" is given twice", p->style_names[i]);
            return FALSE;
          }
    }
  return TRUE;
}

/* ---- state ---------------------------------------------------------------- */

/* The colour distribution of a picture, for the palette map (the
 * luminance histogram only of the paintings, the map's targets). */
typedef struct
{
  double mean[3], cov[9];
  double luma[NS_LUMA_BINS];
} Colours;

/* a style image at each scale of the style loss */
typedef struct
{
  NsPlanes *level[MAX_SCALES];
  NsPlanes *stroke[MAX_SCALES];   /* high-passed luminance of each level */
  Colours   colours;               /* of level 0: the palette map's target */
} StyleLevels;

typedef struct
{
  const NsTrainParams *p;
  NsRng        rng;
  int          step;

  NsPlanes   **train;           /* photos at working size */
  Colours     *train_colours;   /* [n_train] */
  int          n_train;
  NsPlanes   **val;
  Colours     *val_colours;     /* [n_val] */
  int          n_val;
  StyleLevels *style;          /* [n_styles] */
  int          n_scales;

  NsGenerator *g;
  NsWeights   *base;            /* add-style: the file the styles go into */
  int          first_style;     /* generator row of p->styles[0] */
  guint8      *mask;            /* parameters trained (NULL: all) */
  NsDiscriminator **d;          /* one per trained style */
  NsGanThrottle *throttle;
  gboolean     disc_used;       /* lambda_adv > 0 */
  float        noise;           /* the network's variation noise amplitude */
  gboolean     identity;        /* a new network's last row is the identity */
  gboolean     palette_before;  /* styles paint on photos in their palette */

  float       *mix, *x, *y, *dy, *real, *dlogits, *target;
  float       *level[MAX_SCALES], *dlevel[MAX_SCALES];
  NsLossWork   work;
} Trainer;

static void
trainer_clear (Trainer *tr)
{
  const NsTrainParams *p = tr->p;
  for (int i = 0; i < tr->n_train; i++)
    ns_planes_free (tr->train[i]);
  for (int i = 0; i < tr->n_val; i++)
    ns_planes_free (tr->val[i]);
  g_free (tr->train);
  g_free (tr->val);
  g_free (tr->train_colours);
  g_free (tr->val_colours);
  if (tr->style)
    for (int s = 0; s < p->n_styles; s++)
      for (int k = 0; k < MAX_SCALES; k++)
        {
          ns_planes_free (tr->style[s].level[k]);
          ns_planes_free (tr->style[s].stroke[k]);
        }
  g_free (tr->style);
  ns_generator_free (tr->g);
  if (tr->base)
    ns_weights_free (tr->base);
  g_free (tr->mask);
  if (tr->d)
    for (int s = 0; s < p->n_styles; s++)
      ns_discriminator_free (tr->d[s]);
  g_free (tr->d);
  g_free (tr->throttle);
  g_free (tr->mix);
  g_free (tr->x);
  g_free (tr->y);
  g_free (tr->dy);
  g_free (tr->real);
  g_free (tr->dlogits);
  g_free (tr->target);
  for (int k = 0; k < MAX_SCALES; k++)
    {
      g_free (tr->level[k]);
      g_free (tr->dlevel[k]);
    }
  ns_loss_work_clear (&tr->work);
}

static gboolean
out_of_memory (GError **error)
{
  g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY, "training: out of memory");
  return FALSE;
}

/* The image's RGB planes scaled by `scale`, but never below min_side on
 * its short side. */
static NsPlanes *
working_planes (const NsImage *img, double scale, int min_side, GError **error)
{
  g_autoptr (NsPlanes) rgb = ns_planes_from_image_rgb (img, error);
  if (!rgb)
    return NULL;
  int short_side = MIN (rgb->h, rgb->w);
  if (short_side * scale < min_side)
    scale = (double) min_side / short_side;
  int h = MAX (min_side, (int) lround (rgb->h * scale));
  int w = MAX (min_side, (int) lround (rgb->w * scale));
  if (h == rgb->h && w == rgb->w)
    return g_steal_pointer (&rgb);
  NsPlanes *out = ns_planes_new (3, h, w, error);
  if (out)
    ns_resize (rgb->data, 3, rgb->h, rgb->w, out->data, h, w);
  return out;
}

static gboolean
prepare_data (Trainer *tr, GError **error)
{
  const NsTrainParams *p = tr->p;

  /* hold out a seed-chosen part of the photos (but keep one to train on) */
  NsRng split;
  ns_rng_init (&split, p->seed ^ STREAM_SPLIT);
  g_autofree int *order = g_new (int, p->n_photos);
  for (int i = 0; i < p->n_photos; i++)
    order[i] = i;
  for (int i = p->n_photos - 1; i > 0; i--)
    {
      int j = ns_rng_below (&split, i + 1), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  int n_val = (int) lround (p->validation_fraction * p->n_photos);
  if (p->validation_fraction > 0 && n_val == 0 && p->n_photos > 1)
    n_val = 1;
  n_val = MIN (n_val, p->n_photos - 1);

  tr->train = g_new0 (NsPlanes *, p->n_photos - n_val);
  tr->val = g_new0 (NsPlanes *, MAX (n_val, 1));
  tr->train_colours = g_new0 (Colours, p->n_photos - n_val);
  tr->val_colours = g_new0 (Colours, MAX (n_val, 1));
  for (int i = 0; i < p->n_photos; i++)
    {
      const NsImage *img = p->photos[order[i]];
      NsPlanes *pl = working_planes (img, (double) p->photo_size
                                     / MIN (img->width, img->height), p->crop, error);
      if (!pl)
        return FALSE;
      Colours *colours = i < n_val ? &tr->val_colours[tr->n_val]
                                   : &tr->train_colours[tr->n_train];
      ns_colour_stats (pl->data, (size_t) pl->h * pl->w, 1, colours->mean, colours->cov);
      if (i < n_val)
        tr->val[tr->n_val++] = pl;
      else
        tr->train[tr->n_train++] = pl;
    }

  tr->n_scales = 1;
  while (tr->n_scales < MAX_SCALES && (p->crop >> tr->n_scales) >= MIN_SCALE_SIDE)
    tr->n_scales++;
  tr->style = g_new0 (StyleLevels, p->n_styles);
  for (int s = 0; s < p->n_styles; s++)
    {
      const NsImage *img = p->styles[s];
      NsPlanes *pl = working_planes (img, (double) p->style_size
                                     / MAX (img->width, img->height), p->crop, error);
      if (!pl)
        return FALSE;
      tr->style[s].level[0] = pl;
      ns_colour_stats (pl->data, (size_t) pl->h * pl->w, 1, tr->style[s].colours.mean,
                       tr->style[s].colours.cov);
      ns_luma_histogram (pl->data, (size_t) pl->h * pl->w, 1, tr->style[s].colours.luma);
      for (int k = 1; k < tr->n_scales; k++)
        {
          const NsPlanes *up = tr->style[s].level[k - 1];
          NsPlanes *down = ns_planes_new (3, MAX (1, up->h / 2), MAX (1, up->w / 2), error);
          if (!down)
            return FALSE;
          ns_down2_forward (down->data, up->data, 3, up->h, up->w);
          tr->style[s].level[k] = down;
        }
      for (int k = 0; k < tr->n_scales; k++)
        {
          const NsPlanes *lv = tr->style[s].level[k];
          NsPlanes *hp = ns_planes_new (1, lv->h, lv->w, error);
          if (!hp)
            return FALSE;
          tr->style[s].stroke[k] = hp;
          if (!ns_stroke_target (hp->data, lv->data, lv->h, lv->w, STROKE_SIGMA,
                                 &tr->work))
            return out_of_memory (error);
        }
    }
  return TRUE;
}

/* A copy of base with the n_new styles appended: their gamma/beta rows
 * start as the mean of the existing styles' rows. */
static NsWeights *
weights_with_new_styles (const NsWeights *base, const NsTrainParams *p, GError **error)
{
  int S0 = ns_weights_n_styles (base), S1 = S0 + p->n_styles;
  g_autoptr (NsWeights) w = ns_weights_new (ns_weights_arch (base));
  for (int s = 0; s < S0; s++)
    {
      gsize len = 0;
      const guint8 *png = ns_weights_style_thumbnail (base, s, &len);
      if (!ns_weights_add_style (w, ns_weights_style_name (base, s),
                                 ns_weights_style_source (base, s), png, len, error))
        return NULL;
    }
  for (int s = 0; s < p->n_styles; s++)
    if (!ns_weights_add_style (w, p->style_names[s], NULL, NULL, 0, error))
      return NULL;
  const char *keys[] = { "base_channels", "res_blocks", "out_kernel" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      gint64 v;
      if (ns_weights_get_int (base, keys[k], &v))
        ns_weights_set_int (w, keys[k], v);
    }
  const char *keys_s[] = { "upsample", NS_PALETTE_MAP_KEY };
  for (guint k = 0; k < G_N_ELEMENTS (keys_s); k++)
    {
      const char *v;
      if (ns_weights_get_string (base, keys_s[k], &v))
        ns_weights_set_string (w, keys_s[k], v);
    }
  for (int t = 0; t < ns_weights_n_tensors (base); t++)
    {
      const char *name = ns_weights_tensor_name (base, t);
      int dims[NS_WEIGHTS_MAX_DIMS], ndim;
      const float *data = ns_weights_tensor (base, name, dims, &ndim);
      if (!g_str_has_suffix (name, ".norm.gamma") && !g_str_has_suffix (name, ".norm.beta"))
        {
          ns_weights_add_tensor (w, name, ndim, dims, data);
          continue;
        }
      int c = dims[1];
      g_autofree float *rows = g_new0 (float, (size_t) S1 * c);
      memcpy (rows, data, sizeof (float) * S0 * c);
      /* the mean of the painted styles: the identity row is no style */
      int id = ns_weights_style_index (base, NS_IDENTITY_STYLE), n = S0 - (id >= 0);
      for (int ch = 0; ch < c; ch++)
        {
          double mean = 0;
          for (int s = 0; s < S0; s++)
            if (s != id || n == 0)
              mean += data[(size_t) s * c + ch];
          for (int s = S0; s < S1; s++)
            rows[(size_t) s * c + ch] = (float) (mean / MAX (n, 1));
        }
      ns_weights_add_tensor (w, name, 2, (int[]) { S1, c }, rows);
    }
  return g_steal_pointer (&w);
}

static gboolean
prepare_models (Trainer *tr, GError **error)
{
  const NsTrainParams *p = tr->p;
  if (p->add_to)
    {
      g_autoptr (GError) local = NULL;
      tr->base = ns_weights_load (p->add_to, &local);
      if (!tr->base)
        {
          /* the loader's message names the file already */
          g_set_error (error, NS_ERROR, local->code, "cannot add a style: %s",
                       local->message);
          return FALSE;
        }
      if (g_strcmp0 (ns_weights_arch (tr->base), NS_ARCH_GENERATOR) != 0)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "cannot add a style to %s: it holds a %s, not a generator",
                       p->add_to, ns_weights_arch (tr->base));
          return FALSE;
        }
      for (int s = 0; s < p->n_styles; s++)
        if (ns_weights_style_index (tr->base, p->style_names[s]) >= 0)
          {
            g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                         "%s already has a style called \"%s\"", p->add_to,
                         p->style_names[s]);
            return FALSE;
          }
      g_autoptr (NsWeights) grown = weights_with_new_styles (tr->base, p, error);
      if (!grown)
        return FALSE;
      tr->g = ns_generator_new_from_weights (grown, error);
      if (!tr->g)
        return FALSE;
      tr->first_style = ns_weights_n_styles (tr->base);
      const char *where = NULL;
      ns_weights_get_string (tr->base, NS_PALETTE_MAP_KEY, &where);
      tr->palette_before = g_strcmp0 (where, NS_PALETTE_MAP_BEFORE) == 0;
      size_t np = ns_generator_n_params (tr->g);
      tr->mask = g_new0 (guint8, np);
      g_autofree guint8 *one = g_new (guint8, np);
      for (int s = 0; s < p->n_styles; s++)
        {
          ns_generator_style_mask (tr->g, tr->first_style + s, one);
          for (size_t j = 0; j < np; j++)
            tr->mask[j] |= one[j];
        }
    }
  else
    {
      NsGeneratorConfig cfg = { p->base_channels, p->res_blocks,
                                p->n_styles + (tr->identity ? 1 : 0), p->out_kernel,
                                NS_GENERATOR_BILINEAR };
      tr->g = ns_generator_new (&cfg, p->seed, error);
      if (!tr->g)
        return FALSE;
      tr->palette_before = TRUE;
      ns_generator_set_noise (tr->g, p->noise, 0);
    }

  tr->noise = ns_generator_noise (tr->g);
  tr->disc_used = p->lambda_adv > 0;
  tr->d = g_new0 (NsDiscriminator *, p->n_styles);
  tr->throttle = g_new0 (NsGanThrottle, p->n_styles);
  for (int s = 0; s < p->n_styles; s++)
    {
      ns_gan_throttle_init (&tr->throttle[s], p->gan_loss);
      if (!tr->disc_used)
        continue;
      tr->d[s] = ns_discriminator_new (p->disc_channels, p->disc_layers,
                                       p->seed + 1000 + s, error);
      if (!tr->d[s])
        return FALSE;
    }

  size_t img = (size_t) p->batch * 3 * p->crop * p->crop;
  tr->mix = g_new0 (float, ns_generator_config (tr->g)->n_styles);
  tr->x = g_try_new (float, img);
  tr->y = g_try_new (float, img);
  tr->dy = g_try_new (float, img);
  tr->real = g_try_new (float, img);
  tr->dlogits = g_try_new (float, img);   /* logits are fewer than pixels */
  tr->target = g_try_new (float, (size_t) 3 * p->crop * p->crop);   /* chroma: 3 planes */
  if (!tr->x || !tr->y || !tr->dy || !tr->real || !tr->dlogits || !tr->target)
    return out_of_memory (error);
  for (int k = 1; k < tr->n_scales; k++)
    {
      size_t len = (size_t) 3 * (p->crop >> k) * (p->crop >> k);
      tr->level[k] = g_try_new (float, len);
      tr->dlevel[k] = g_try_new (float, len);
      if (!tr->level[k] || !tr->dlevel[k])
        return out_of_memory (error);
    }
  return TRUE;
}

/* ---- sampling -------------------------------------------------------------- */

/* A random size x size crop of src into dst (planar), flipped left-right
 * half of the time. */
static void
random_crop (float *dst, const NsPlanes *src, int size, NsRng *rng)
{
  int y0 = ns_rng_below (rng, src->h - size + 1);
  int x0 = ns_rng_below (rng, src->w - size + 1);
  gboolean flip = ns_rng_u32 (rng) & 1;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < size; y++)
      {
        const float *row = src->data + ((size_t) c * src->h + y0 + y) * src->w + x0;
        float *out = dst + ((size_t) c * size + y) * size;
        if (flip)
          for (int x = 0; x < size; x++)
            out[x] = row[size - 1 - x];
        else
          memcpy (out, row, sizeof (float) * size);
      }
}

static void
centre_crop (float *dst, const NsPlanes *src, int size)
{
  int y0 = (src->h - size) / 2, x0 = (src->w - size) / 2;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < size; y++)
      memcpy (dst + ((size_t) c * size + y) * size,
              src->data + ((size_t) c * src->h + y0 + y) * src->w + x0,
              sizeof (float) * size);
}

/* ---- the objective ----------------------------------------------------------- */

typedef struct
{
  double adv, content, style, stroke, chroma, variation, tv, disc;
} Terms;

/* Content, colour layout, style, stroke and TV of one output image against
 * its photo and style s; when grad is not NULL, adds weight * their
 * weighted gradient. */
static void
image_losses (Trainer *tr, const float *photo, const float *out, float *grad,
              int s, float weight, NsRng *rng, Terms *terms)
{
  const NsTrainParams *p = tr->p;
  const int size = p->crop;
  if (p->lambda_content > 0)
    {
      ns_content_target (tr->target, photo, size, size, CONTENT_SIGMA, &tr->work);
      terms->content += ns_loss_content (grad, (float) (weight * p->lambda_content),
                                         out, size, size, tr->target,
                                         CONTENT_SIGMA, &tr->work);
    }
  if (p->lambda_chroma > 0)
    {
      ns_chroma_target (tr->target, photo, size, size, CHROMA_SIGMA, &tr->work);
      terms->chroma += ns_loss_chroma (grad, (float) (weight * p->lambda_chroma),
                                       out, size, size, tr->target,
                                       CHROMA_SIGMA, &tr->work);
    }
  if (p->lambda_style > 0 || p->lambda_stroke > 0)
    {
      NsSwdConfig cfg = { SWD_PATCH, SWD_PROJECTIONS, SWD_SAMPLES, 0 };
      float scale = (float) (weight * p->lambda_style / tr->n_scales);
      float stroke_scale = (float) (weight * p->lambda_stroke / tr->n_scales);
      double style = 0, stroke = 0;
      for (int k = 0; k < tr->n_scales; k++)
        {
          int side = size >> k;
          if (k > 0)
            {
              ns_down2_forward (tr->level[k], k == 1 ? out : tr->level[k - 1], 3,
                                side * 2, side * 2);
              memset (tr->dlevel[k], 0, sizeof (float) * 3 * side * side);
            }
          const NsPlanes *sty = tr->style[s].level[k];
          float *gk = grad ? (k == 0 ? grad : tr->dlevel[k]) : NULL;
          const float *xk = k == 0 ? out : tr->level[k];
          /* no single-pixel palette term: the palette map after the
           * network gives each painting its colours, and a palette term
           * let a recolour pay for most of the style loss */
          if (p->lambda_style > 0)
            style += ns_loss_swd (gk, scale, xk, 3, side, side,
                                  sty->data, sty->h, sty->w, &cfg, rng, &tr->work);
          if (p->lambda_stroke > 0)
            {
              const NsPlanes *hp = tr->style[s].stroke[k];
              stroke += ns_loss_stroke (gk, stroke_scale, xk, side, side, hp->data,
                                        hp->h, hp->w, STROKE_SIGMA, &cfg, rng,
                                        &tr->work);
            }
        }
      if (grad)
        for (int k = MAX_SCALES - 1; k >= 1; k--)
          if (k < tr->n_scales)
            ns_down2_backward (k == 1 ? grad : tr->dlevel[k - 1], tr->dlevel[k], 3,
                               (size >> k) * 2, (size >> k) * 2);
      terms->style += style / tr->n_scales;
      terms->stroke += stroke / tr->n_scales;
    }
  if (p->lambda_tv > 0)
    terms->tv += ns_loss_tv (grad, (float) (weight * p->lambda_tv), out, 3, size, size);
}

/* The learning rate holds for the first half of the run, then falls
 * linearly to a tenth at the last step (as CycleGAN's schedule, but not to
 * 0, so a run extended with --resume still moves). */
static float
lr_factor (int t, int steps)
{
  double half = steps / 2.0;
  if (t <= half)
    return 1.0f;
  return (float) (1.0 - 0.9 * MIN (1.0, (t - half) / half));
}

/* Moves a crop of a photo with the given colours onto style s's palette,
 * as the preset path does with the whole photo before the network. */
static void
palette_map_crop (Trainer *tr, float *crop, const Colours *photo, int s)
{
  const Colours *to = &tr->style[s].colours;
  if (tr->palette_before)
    ns_palette_map (crop, (size_t) tr->p->crop * tr->p->crop, photo->mean, photo->cov,
                    to->mean, to->cov, to->luma, 1.0);
}

/* Random crops of the photos; on style s's turn (s < 0: the identity's)
 * in that style's palette.  With the variation loss, the batch's second
 * half repeats its first (under other noise: the generator draws each
 * image's own). */
static void
random_photo_batch (Trainer *tr, int s)
{
  const size_t plane = (size_t) 3 * tr->p->crop * tr->p->crop;
  const int distinct = tr->p->lambda_variation > 0 && s >= 0 ? tr->p->batch / 2 : tr->p->batch;
  for (int b = 0; b < distinct; b++)
    {
      int i = ns_rng_below (&tr->rng, tr->n_train);
      random_crop (tr->x + b * plane, tr->train[i], tr->p->crop, &tr->rng);
      if (s >= 0)
        palette_map_crop (tr, tr->x + b * plane, &tr->train_colours[i], s);
    }
  for (int b = distinct; b < tr->p->batch; b++)
    memcpy (tr->x + b * plane, tr->x + (b - distinct) * plane, sizeof (float) * plane);
}

static void
generator_update (Trainer *tr, int t)
{
  NsGenerator *g = tr->g;
  size_t np = ns_generator_n_params (g);
  memset (ns_generator_grads (g), 0, sizeof (float) * np);
  ns_generator_backward (g, NULL, tr->dy);
  ns_adam_update (ns_generator_params (g), ns_generator_grads (g),
                  ns_generator_adam_m (g), ns_generator_adam_v (g), np, tr->mask,
                  tr->p->lr * lr_factor (t, tr->p->steps), ADAM_BETA1, ADAM_BETA2,
                  ADAM_EPS, t, -INFINITY, INFINITY);
  tr->step++;
}

/* The identity row's turn: the output should be the photo itself.  Its
 * loss is reported as content. */
static gboolean
identity_step (Trainer *tr, Terms *terms, GError **error)
{
  const NsTrainParams *p = tr->p;
  const int S = ns_generator_config (tr->g)->n_styles, t = tr->step + 1;
  const size_t len = (size_t) p->batch * 3 * p->crop * p->crop;
  for (int i = 0; i < S; i++)
    tr->mix[i] = i == S - 1 ? 1.0f : 0.0f;
  random_photo_batch (tr, -1);
  if (tr->noise > 0)
    ns_generator_set_noise (tr->g, tr->noise, ns_rng_u32 (&tr->rng));
  if (!ns_generator_forward (tr->g, tr->y, tr->x, tr->mix, p->batch, p->crop,
                             p->crop, TRUE, error))
    return FALSE;
  memset (tr->dy, 0, sizeof (float) * len);
  terms->content = ns_mse_forward (tr->y, tr->x, len);
  ns_mse_backward (tr->dy, NULL, tr->y, tr->x, len, (float) p->lambda_identity);
  terms->adv = terms->style = terms->stroke = terms->tv = 0;
  terms->disc = NAN;
  generator_update (tr, t);
  return TRUE;
}

static gboolean
train_step (Trainer *tr, Terms *terms, GError **error)
{
  const NsTrainParams *p = tr->p;
  const int B = p->batch, size = p->crop, t = tr->step + 1;
  const size_t plane = (size_t) 3 * size * size;
  const int turns = p->n_styles + (tr->identity ? 1 : 0);
  const int s = tr->step % turns;              /* styles take turns */
  const int S = ns_generator_config (tr->g)->n_styles;
  if (s == p->n_styles)
    return identity_step (tr, terms, error);

  for (int i = 0; i < S; i++)
    tr->mix[i] = i == tr->first_style + s ? 1.0f : 0.0f;
  random_photo_batch (tr, s);
  if (tr->noise > 0)   /* a new variation every step */
    ns_generator_set_noise (tr->g, tr->noise, ns_rng_u32 (&tr->rng));
  if (!ns_generator_forward (tr->g, tr->y, tr->x, tr->mix, B, size, size, TRUE, error))
    return FALSE;

  memset (tr->dy, 0, sizeof (float) * B * plane);
  terms->disc = NAN;
  if (tr->disc_used)
    {
      NsDiscriminator *d = tr->d[s];
      size_t n_logits;
      const float *logits;
      /* the discriminator's turn: real style crops against this step's fakes */
      for (int b = 0; b < B; b++)
        random_crop (tr->real + b * plane, tr->style[s].level[0], size, &tr->rng);
      if (ns_gan_throttle_allows (&tr->throttle[s], t))
        {
          memset (ns_discriminator_grads (d), 0,
                  sizeof (float) * ns_discriminator_n_params (d));
          if (!(logits = ns_discriminator_forward (d, tr->real, B, size, size,
                                                   &n_logits, error)))
            return FALSE;
          double real = ns_gan_loss (p->gan_loss, logits, n_logits, TRUE, tr->dlogits, 1.0f);
          ns_discriminator_backward (d, NULL, tr->dlogits);
          if (!(logits = ns_discriminator_forward (d, tr->y, B, size, size,
                                                   &n_logits, error)))
            return FALSE;
          double fake = ns_gan_loss (p->gan_loss, logits, n_logits, FALSE, tr->dlogits, 1.0f);
          ns_discriminator_backward (d, NULL, tr->dlogits);
          ns_adam_update (ns_discriminator_params (d), ns_discriminator_grads (d),
                          ns_discriminator_adam_m (d), ns_discriminator_adam_v (d),
                          ns_discriminator_n_params (d), NULL,
                          p->lr_disc * lr_factor (t, p->steps), ADAM_BETA1,
                          ADAM_BETA2, ADAM_EPS, t, -INFINITY, INFINITY);
          terms->disc = real + fake;
          ns_gan_throttle_record (&tr->throttle[s], real + fake);
        }
      /* the generator's adversarial gradient through the updated critic */
      if (!(logits = ns_discriminator_forward (d, tr->y, B, size, size, &n_logits, error)))
        return FALSE;
      terms->adv = ns_gan_loss (p->gan_loss, logits, n_logits, TRUE, tr->dlogits,
                                (float) p->lambda_adv);
      ns_discriminator_input_grad (d, tr->dy, tr->dlogits);
    }

  Terms sum = { 0 };
  for (int b = 0; b < B; b++)
    image_losses (tr, tr->x + b * plane, tr->y + b * plane, tr->dy + b * plane,
                  s, 1.0f / B, &tr->rng, &sum);
  terms->content = sum.content / B;
  terms->style = sum.style / B;
  terms->stroke = sum.stroke / B;
  terms->chroma = sum.chroma / B;
  terms->tv = sum.tv / B;
  terms->variation = 0;
  if (p->lambda_variation > 0)   /* each pair of the batch: one crop, two noises */
    for (int b = 0; b < B / 2; b++)
      terms->variation += ns_loss_variation (tr->dy + b * plane, tr->dy + (b + B / 2) * plane,
                                             (float) (p->lambda_variation / (B / 2)),
                                             tr->y + b * plane, tr->y + (b + B / 2) * plane,
                                             size, size, STROKE_SIGMA, VARIATION_SIGMA,
                                             &tr->work)
                          / (B / 2);
  if (tr->work.out_of_memory)
    return out_of_memory (error);

  generator_update (tr, t);
  return TRUE;
}

static double
objective (const NsTrainParams *p, const Terms *t)
{
  return p->lambda_adv * (isnan (t->adv) ? 0 : t->adv) + p->lambda_content * t->content
         + p->lambda_style * t->style + p->lambda_stroke * t->stroke
         + p->lambda_chroma * t->chroma + p->lambda_variation * t->variation
         + p->lambda_tv * t->tv;
}

/* Content and style of the held-out photos' centre crops under the first
 * trained style, with the same random projections every time. */
static gboolean
validate (Trainer *tr, double *score, GError **error)
{
  const NsTrainParams *p = tr->p;
  const int size = p->crop, S = ns_generator_config (tr->g)->n_styles;
  NsRng rng;
  ns_rng_init (&rng, p->seed ^ STREAM_VALIDATION);
  ns_generator_set_noise (tr->g, tr->noise, 0);
  for (int i = 0; i < S; i++)
    tr->mix[i] = i == tr->first_style ? 1.0f : 0.0f;
  Terms sum = { 0 };
  for (int v = 0; v < tr->n_val; v++)
    {
      centre_crop (tr->x, tr->val[v], size);
      palette_map_crop (tr, tr->x, &tr->val_colours[v], 0);
      if (!ns_generator_forward (tr->g, tr->y, tr->x, tr->mix, 1, size, size,
                                 FALSE, error))
        return FALSE;
      image_losses (tr, tr->x, tr->y, NULL, 0, 1.0f, &rng, &sum);
    }
  *score = objective (p, &sum) / tr->n_val;   /* sum.adv is 0: no critic here */
  return TRUE;
}

/* ---- checkpoints ----------------------------------------------------------- *
 * A GVariant (sha256-hex, a{sv} bytes): the digest guards against a torn or
 * corrupted file, the dictionary holds the state and a fingerprint of the
 * parameters it belongs to. */

static gchar *
fingerprint (const Trainer *tr)
{
  const NsTrainParams *p = tr->p;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "seed=%" G_GUINT64_FORMAT " net=%d/%d/%d%s add=%s "
                          "batch=%d crop=%d photo=%d style=%d lr=%g/%g "
                          "lambda=%g/%g/%g/%g/%g gan=%d disc=%d/%d val=%g photos=%d "
                          "noise=%g identity=%d/%g%s",
                          p->seed, p->base_channels, p->res_blocks, p->out_kernel,
                          ns_generator_config (tr->g)->bilinear ? "/bilinear" : "",
                          p->add_to ? "yes" : "no", p->batch, p->crop, p->photo_size,
                          p->style_size, p->lr, p->lr_disc, p->lambda_adv,
                          p->lambda_content, p->lambda_style, p->lambda_stroke,
                          p->lambda_tv,
                          p->gan_loss, p->disc_channels, p->disc_layers,
                          p->validation_fraction, p->n_photos, p->noise,
                          p->identity, p->lambda_identity,
                          tr->palette_before ? " palette-before" : "");
  if (p->lambda_chroma > 0)   /* absent at 0: older checkpoints keep their print */
    g_string_append_printf (s, " chroma=%g", p->lambda_chroma);
  if (p->lambda_variation > 0)
    g_string_append_printf (s, " variation=%g", p->lambda_variation);
  for (int i = 0; i < p->n_styles; i++)
    g_string_append_printf (s, " style:%s", p->style_names[i]);
  return g_string_free (s, FALSE);
}

static GVariant *
floats_variant (const float *data, size_t n)
{
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, n * sizeof (float), 1);
}

static gboolean
save_checkpoint (Trainer *tr, GError **error)
{
  const NsTrainParams *p = tr->p;
  GVariantBuilder dict;
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_autofree gchar *fp = fingerprint (tr);
  g_variant_builder_add (&dict, "{sv}", "fingerprint", g_variant_new_string (fp));
  g_variant_builder_add (&dict, "{sv}", "step", g_variant_new_int32 (tr->step));
  g_variant_builder_add (&dict, "{sv}", "rng",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, tr->rng.s,
                                                    4, sizeof (guint32)));
  g_variant_builder_add (&dict, "{sv}", "generator",
                         floats_variant (ns_generator_params (tr->g),
                                         4 * ns_generator_n_params (tr->g)));
  for (int s = 0; s < p->n_styles; s++)
    {
      char key[32];
      g_snprintf (key, sizeof key, "throttle%d", s);
      g_variant_builder_add (&dict, "{sv}", key,
                             g_variant_new ("(db)", tr->throttle[s].ema,
                                            tr->throttle[s].started));
      if (!tr->d[s])
        continue;
      g_snprintf (key, sizeof key, "discriminator%d", s);
      g_variant_builder_add (&dict, "{sv}", key,
                             floats_variant (ns_discriminator_params (tr->d[s]),
                                             4 * ns_discriminator_n_params (tr->d[s])));
    }
  g_autoptr (GVariant) inner = g_variant_ref_sink (g_variant_builder_end (&dict));
  g_autofree gchar *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                          g_variant_get_data (inner),
                                                          g_variant_get_size (inner));
  g_autoptr (GVariant) outer = g_variant_ref_sink (
    g_variant_new ("(s@ay)", digest,
                   g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                              g_variant_get_data (inner),
                                              g_variant_get_size (inner), 1)));
  g_autoptr (GVariant) file = g_variant_ref_sink (
    g_variant_new ("(s@(say))", CHECKPOINT_FORMAT, outer));
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (p->checkpoint, g_variant_get_data (file),
                                 g_variant_get_size (file),
                                 G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0644, &local))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot write checkpoint %s: %s",
                   p->checkpoint, local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
bad_checkpoint (GError **error, const char *path, const char *why)
{
  g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "checkpoint %s %s", path, why);
  return FALSE;
}

/* Copies a byte array of exactly n floats out of dict[key]. */
static gboolean
restore_floats (GVariant *dict, const char *key, float *dst, size_t n)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (dict, key, G_VARIANT_TYPE_BYTESTRING);
  gsize len = 0;
  const void *data = v ? g_variant_get_fixed_array (v, &len, 1) : NULL;
  if (!data || len != n * sizeof (float))
    return FALSE;
  memcpy (dst, data, len);
  return TRUE;
}

static gboolean
load_checkpoint (Trainer *tr, GError **error)
{
  const NsTrainParams *p = tr->p;
  const char *path = p->checkpoint;
  g_autofree gchar *contents = NULL;
  gsize size = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &contents, &size, &local))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot read checkpoint %s: %s",
                   path, local->message);
      return FALSE;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), size);
  g_autoptr (GVariant) file = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE ("(s(say))"), bytes, FALSE));
  if (!g_variant_is_normal_form (file))
    return bad_checkpoint (error, path, "is damaged or not a checkpoint");
  const char *format, *digest;
  g_autoptr (GVariant) data = NULL;
  g_variant_get (file, "(&s(&s@ay))", &format, &digest, &data);
  if (strcmp (format, CHECKPOINT_FORMAT) != 0)
    return bad_checkpoint (error, path, "is not a training checkpoint");
  gsize inner_len;
  const guint8 *inner_data = g_variant_get_fixed_array (data, &inner_len, 1);
  g_autofree gchar *actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                          inner_data, inner_len);
  if (strcmp (actual, digest) != 0)
    return bad_checkpoint (error, path, "is damaged (checksum mismatch)");
  g_autoptr (GBytes) inner_bytes = g_bytes_new (inner_data, inner_len);
  g_autoptr (GVariant) dict = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, inner_bytes, FALSE));
  if (!g_variant_is_normal_form (dict))
    return bad_checkpoint (error, path, "is damaged");

  const char *fp_saved;
  g_autofree gchar *fp = fingerprint (tr);
  if (!g_variant_lookup (dict, "fingerprint", "&s", &fp_saved))
    return bad_checkpoint (error, path, "has no parameter fingerprint");
  if (strcmp (fp, fp_saved) != 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "checkpoint %s was made with other training parameters (%s)",
                   path, fp_saved);
      return FALSE;
    }
  gint32 step;
  g_autoptr (GVariant) rng = g_variant_lookup_value (dict, "rng", G_VARIANT_TYPE ("au"));
  gsize n_rng = 0;
  const guint32 *state = rng ? g_variant_get_fixed_array (rng, &n_rng, sizeof (guint32)) : NULL;
  if (!g_variant_lookup (dict, "step", "i", &step) || step < 0 || n_rng != 4
      || !restore_floats (dict, "generator", ns_generator_params (tr->g),
                          4 * ns_generator_n_params (tr->g)))
    return bad_checkpoint (error, path, "does not fit this network");
  memcpy (tr->rng.s, state, sizeof tr->rng.s);
  for (int s = 0; s < p->n_styles; s++)
    {
      char key[32];
      g_snprintf (key, sizeof key, "throttle%d", s);
      if (!g_variant_lookup (dict, key, "(db)", &tr->throttle[s].ema,
                             &tr->throttle[s].started))
        return bad_checkpoint (error, path, "lacks the discriminator state");
      g_snprintf (key, sizeof key, "discriminator%d", s);
      if (tr->d[s] && !restore_floats (dict, key, ns_discriminator_params (tr->d[s]),
                                       4 * ns_discriminator_n_params (tr->d[s])))
        return bad_checkpoint (error, path, "does not fit this discriminator");
    }
  tr->step = step;
  return TRUE;
}

/* ---- output ---------------------------------------------------------------- */

static gboolean
write_output (Trainer *tr, GError **error)
{
  const NsTrainParams *p = tr->p;
  g_autoptr (NsWeights) w = ns_weights_new (NS_ARCH_GENERATOR);
  int S0 = tr->base ? ns_weights_n_styles (tr->base) : 0;
  for (int s = 0; s < S0; s++)
    {
      gsize len = 0;
      const guint8 *png = ns_weights_style_thumbnail (tr->base, s, &len);
      if (!ns_weights_add_style (w, ns_weights_style_name (tr->base, s),
                                 ns_weights_style_source (tr->base, s), png, len, error))
        return FALSE;
    }
  for (int s = 0; s < p->n_styles; s++)
    if (!ns_weights_add_style (w, p->style_names[s],
                               p->style_sources ? p->style_sources[s] : NULL,
                               p->style_thumbnails ? p->style_thumbnails[s] : NULL,
                               p->style_thumbnails ? p->style_thumbnail_lens[s] : 0,
                               error))
      return FALSE;
  if (tr->identity && !ns_weights_add_style (w, NS_IDENTITY_STYLE, NULL, NULL, 0, error))
    return FALSE;
  ns_generator_to_weights (tr->g, w);
  if (tr->palette_before)
    ns_weights_set_string (w, NS_PALETTE_MAP_KEY, NS_PALETTE_MAP_BEFORE);
  /* each style's picture, for refinement */
  for (int s = 0; s < S0; s++)
    {
      const char *name = ns_weights_style_name (tr->base, s);
      g_autoptr (NsImage) img = ns_weights_get_style_image (tr->base, name, NULL);
      if (img)
        ns_weights_set_style_image (w, name, img);
    }
  for (int s = 0; s < p->n_styles; s++)
    ns_weights_set_style_image (w, p->style_names[s], p->styles[s]);
  ns_weights_set_int (w, "train.steps", tr->step);
  ns_weights_set_int (w, "train.seed", (gint64) p->seed);
  ns_weights_set_int (w, "train.crop", p->crop);
  ns_weights_set_double (w, "train.lambda_adv", p->lambda_adv);
  ns_weights_set_double (w, "train.lambda_content", p->lambda_content);
  ns_weights_set_double (w, "train.lambda_style", p->lambda_style);
  ns_weights_set_double (w, "train.lambda_stroke", p->lambda_stroke);
  ns_weights_set_double (w, "train.lambda_chroma", p->lambda_chroma);
  ns_weights_set_double (w, "train.lambda_variation", p->lambda_variation);
  ns_weights_set_double (w, "train.lambda_tv", p->lambda_tv);
  if (tr->identity)
    ns_weights_set_double (w, "train.lambda_identity", p->lambda_identity);
  return ns_weights_save (w, p->output, error);
}

static void
snapshot (Trainer *tr)
{
  const NsTrainParams *p = tr->p;
  const int S = ns_generator_config (tr->g)->n_styles;
  for (int i = 0; i < S; i++)
    tr->mix[i] = i == tr->first_style ? 1.0f : 0.0f;
  ns_generator_set_noise (tr->g, tr->noise, 0);
  g_autoptr (NsImage) sample = ns_image_copy (p->snapshot_photo, NULL);
  g_autoptr (NsPlanes) rgb = sample ? ns_planes_from_image_rgb (sample, NULL) : NULL;
  if (!rgb)
    return;   /* out of memory: no sample this time, the run goes on */
  if (tr->palette_before)
    {
      Colours photo;
      size_t n = (size_t) rgb->h * rgb->w;
      ns_colour_stats (rgb->data, n, 1, photo.mean, photo.cov);
      ns_palette_map (rgb->data, n, photo.mean, photo.cov, tr->style[0].colours.mean,
                      tr->style[0].colours.cov, tr->style[0].colours.luma, 1.0);
    }
  g_autoptr (NsPlanes) out = ns_planes_new (3, rgb->h, rgb->w, NULL);
  if (!out || !ns_generator_forward (tr->g, out->data, rgb->data, tr->mix, 1, rgb->h,
                                     rgb->w, FALSE, NULL))
    return;
  ns_planes_to_image_rgb (out, sample);
  p->snapshot (sample, tr->step, p->snapshot_data);
}

/* ---- the loop ---------------------------------------------------------------- */

gboolean
ns_train (const NsTrainParams *p, const NsProgress *progress,
          NsTrainStepFunc on_step, gpointer step_data, GError **error)
{
  if (!ns_train_params_validate (p, error))
    return FALSE;
  Trainer tr = { .p = p, .identity = p->identity && !p->add_to };
  gboolean ok = FALSE;
  /* One BLAS thread: the few GEMMs of a step (enc3, the discriminator's
   * last convs, the sliced Wasserstein projections) are too small for a
   * second, whose spinning between calls cost ~0.03 CPU-s a step on an
   * idle 2-core machine for no wall time; and the weights then do not
   * depend on the core count.  The conv kernels' pool still uses every
   * core. */
  const int blas_threads = ns_blas_threads (1);
  ns_rng_init (&tr.rng, p->seed);
  if (!prepare_data (&tr, error) || !prepare_models (&tr, error))
    goto out;
  if (p->resume && g_file_test (p->checkpoint, G_FILE_TEST_EXISTS)
      && !load_checkpoint (&tr, error))
    goto out;

  NsTrainStep info = { .steps = p->steps, .validation = NAN };
  /* a score before the first step, for the curve to start from */
  if (p->validate_every > 0 && tr.n_val > 0 && !validate (&tr, &info.validation, error))
    goto out;
  gint64 start = g_get_monotonic_time ();
  const int first_step = tr.step;
  while (tr.step < p->steps)
    {
      if (ns_progress_cancelled (progress, NULL))
        {
          if (p->checkpoint)
            save_checkpoint (&tr, NULL);   /* best effort: we are stopping anyway */
          g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED,
                       "training cancelled at step %d", tr.step);
          goto out;
        }
      Terms terms = { .adv = NAN };
      if (!train_step (&tr, &terms, error))
        goto out;
      if (p->validate_every > 0 && tr.n_val > 0 && tr.step % p->validate_every == 0
          && !validate (&tr, &info.validation, error))
        goto out;
      if (p->checkpoint && p->checkpoint_every > 0 && tr.step % p->checkpoint_every == 0
          && !save_checkpoint (&tr, error))
        goto out;
      if (p->snapshot && p->snapshot_every > 0 && tr.step % p->snapshot_every == 0
          && tr.step < p->steps)
        snapshot (&tr);
      if (progress)   /* a raised cancel flag is heard at the loop's top */
        ns_progress_report (progress, (double) tr.step / p->steps, "training", NULL);
      if (on_step)
        {
          info.step = tr.step;
          info.loss = objective (p, &terms);
          info.adv = terms.adv;
          info.content = terms.content;
          info.style = terms.style;
          info.stroke = terms.stroke;
          info.chroma = terms.chroma;
          info.variation = terms.variation;
          info.tv = terms.tv;
          info.disc = terms.disc;
          info.elapsed_s = (g_get_monotonic_time () - start) / 1e6;
          info.eta_s = info.elapsed_s / (tr.step - first_step) * (p->steps - tr.step);
          on_step (&info, step_data);
        }
    }
  if (p->snapshot)
    snapshot (&tr);
  ok = write_output (&tr, error)
       && (!p->checkpoint || save_checkpoint (&tr, error));
out:
  trainer_clear (&tr);
  ns_blas_threads (blas_threads);
  return ok;
}

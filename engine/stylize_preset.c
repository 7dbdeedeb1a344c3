/* ns_stylize with a preset: the generator path.
 *
 * 1. The presets' model (resolved by ns_stylize) gives the generator and
 *    the style rows to mix.
 * 2. Strength: alpha/beta set s, and the conditional norms get
 *      s * style + (1 - s) * identity
 *    where identity is the row trained to return the photo.  The blend acts
 *    on every layer's normalisation, not on pixels, so a weak setting paints
 *    thinner strokes instead of ghosting the photo through the painting.
 * 3. The network runs at the working size (the image's own up to p->size,
 *    default 1280 px on the long side, where the brush strokes keep the
 *    scale they were trained at).
 * 4. Palette: the result's colour distribution (mean, covariance) is moved
 *    onto the painting's with the same linear Monge-Kantorovich map as the
 *    optimisation path uses, at strength min(s, 1).  The network paints
 *    local strokes well but averages palettes over its training photos;
 *    the map restores each painting's own global colours.  Skipped with
 *    preserve_colors and for files that store no style pictures.
 * 5. Optional refinement by the optimiser towards the picture stored with
 *    the preset; ns_stylize's finish brings the result back to the input's
 *    size against the photo. */
#include "ns_stylize_paths.h"
#include "ns_error.h"
#include "ns_generator.h"
#include "ns_imgproc.h"
#include "ns_optimise.h"
#include "ns_presets.h"
#include "ns_weights.h"
#include <math.h>
#include <string.h>

#define PRESET_DEFAULT_SIZE 1280

/* Variations: the seed mirrors the photo (none, left-right, top-bottom,
 * both: seed % 4) and moves it against the network's stride-4 lattice (its
 * encoder downsamples twice) by 0-3 px down and right (the next 16 of
 * seed / 4), with reflected rows and columns in front; the result is
 * mirrored and cropped back.  The learned kernels are not symmetric, so a
 * mirror lays other strokes (mean |difference| 0.03-0.06 on the evaluation
 * pairs); a shift alone only moves them (0.01-0.02 with bilinear
 * upsampling).  64 such layouts; the seed as a whole also draws the input
 * noise of a network trained with it.  Seed 0 is the picture as it is. */
typedef struct
{
  gboolean flip_y, flip_x;
  int      dy, dx;
} Variation;

static Variation
variation_of_seed (guint32 seed)
{
  guint32 shift = (seed / 4) % 16;
  return (Variation) { (seed & 2) != 0, (seed & 1) != 0, (int) shift / 4, (int) shift % 4 };
}

/* where row (column) i of the varied picture reads the photo's, len long */
static inline int
varied_index (int i, int shift, gboolean flip, int len)
{
  int j = ns_reflect_index (i - shift, len);
  return flip ? len - 1 - j : j;
}

/* s = 0.5 per decade of beta / alpha from 0 at 1/100 to 1 at alpha = beta,
 * and 1 above: the style's trained row is its strongest.  (Mixing past it
 * lowered the style scores with the palette-before presets, see
 * docs/generator.md.) */
double
ns_preset_strength (double alpha, double beta)
{
  if (beta <= 0)
    return 0;
  if (alpha <= 0)
    return 1;
  return CLAMP (1.0 + 0.5 * log10 (beta / alpha), 0.0, 1.0);
}

static int
style_row (const NsWeights *w, const char *name, const char *path, GError **error)
{
  int i = ns_weights_style_index (w, name);
  if (i < 0 || strcmp (name, NS_IDENTITY_STYLE) == 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NOT_FOUND,
                   "no preset called '%s' in %s", name, path);
      return -1;
    }
  return i;
}

/* The style rows' mix for p (see the top of this file), and its strength. */
static float *
preset_mix (const NsParams *p, const NsWeights *w, const char *path, double *strength,
            GError **error)
{
  int a = style_row (w, p->preset, path, error);
  int b = a >= 0 && p->preset2 ? style_row (w, p->preset2, path, error) : -1;
  if (a < 0 || (p->preset2 && b < 0))
    return NULL;
  int id = ns_weights_style_index (w, NS_IDENTITY_STYLE);
  /* a file without an identity row (an older one) has no strength control */
  double s = id >= 0 ? ns_preset_strength (p->alpha, p->beta) : 1.0;
  *strength = s;
  double m = b >= 0 ? p->mix : 0.0;
  float *mix = g_new0 (float, ns_weights_n_styles (w));
  mix[a] += (float) (s * (1.0 - m));
  if (b >= 0)
    mix[b] += (float) (s * m);
  if (id >= 0)
    mix[id] += (float) (1.0 - s);
  return mix;
}

/* Optimises x, the working-size result, towards style: at most
 * NS_OPTIMISE_SIZE px on the long side, then back to x's size against x
 * itself.  The optimiser works on displayable values, [0, 1]. */
static gboolean
refine (const NsParams *p, const NsImage *style_image, NsPlanes *x,
        const NsProgress *pr, GError **error)
{
  size_t n = (size_t) x->h * x->w;
  for (size_t j = 0; j < 3 * n; j++)
    x->data[j] = CLAMP (x->data[j], 0.0f, 1.0f);
  g_autoptr (NsPlanes) style = ns_planes_from_image_rgb (style_image, error);
  if (!style)
    return FALSE;
  int wh, ww;
  ns_fit_long_side (x->h, x->w, MIN (NS_OPTIMISE_SIZE, MAX (x->h, x->w)), &wh, &ww);
  g_autoptr (NsPlanes) content = ns_planes_resized (x, wh, ww, error);
  if (!content)
    return FALSE;
  g_autoptr (NsPlanes) refined = ns_optimise (p, NS_OPTIMISE_REFINE, content, style, pr,
                                              error);
  if (!refined)
    return FALSE;
  if (wh != x->h || ww != x->w)
    {
      if (!ns_guided_upsample (x, content, refined, NS_GUIDE_RADIUS, NS_GUIDE_EPS,
                               pr->cancel, error))
        return FALSE;
    }
  else
    memcpy (x->data, refined->data, sizeof (float) * 3 * n);
  for (size_t j = 0; j < 3 * n; j++)
    x->data[j] = CLAMP (x->data[j], 0.0f, 1.0f);
  return TRUE;
}

/* What the run needs from the model: the network, the mix, and the
 * pictures of the one or two styles (NULL when the file stores none;
 * refinement then fails). */
static gboolean
take_from_model (const NsParams *p, NsPresetModel *model, NsGenerator **g,
                 float **mix, double *strength, NsImage **style_a, NsImage **style_b,
                 GError **error)
{
  const NsWeights *w = ns_preset_model_weights (model);
  const char *path = ns_preset_model_path (model);
  if (!(*mix = preset_mix (p, w, path, strength, error))
      || !(*g = ns_preset_model_take_generator (model, error)))
    return FALSE;
  *style_a = ns_weights_get_style_image (w, p->preset, NULL);
  if (p->preset2)
    *style_b = ns_weights_get_style_image (w, p->preset2, NULL);
  return TRUE;
}

/* Colour mean, covariance and luminance histogram of a picture. */
static gboolean
picture_stats (const NsImage *img, double mean[3], double cov[9], double luma[NS_LUMA_BINS])
{
  g_autoptr (NsPlanes) rgb = img ? ns_planes_from_image_rgb (img, NULL) : NULL;
  if (!rgb)
    return FALSE;
  ns_colour_stats (rgb->data, (size_t) rgb->h * rgb->w, 1, mean, cov);
  ns_luma_histogram (rgb->data, (size_t) rgb->h * rgb->w, 1, luma);
  return TRUE;
}

/* Moves x's colour distribution onto the painting's (the mixture of both
 * paintings' for a blend) at strength t in [0, 1]. */
static void
match_palette (NsPlanes *x, const NsImage *style_a, const NsImage *style_b, double m,
               double t)
{
  double ma[3], ca[9], mb[3], cb[9], ms[3], cs[9], mx[3], cx[9];
  double la[NS_LUMA_BINS], lb[NS_LUMA_BINS], ls[NS_LUMA_BINS];
  if (t <= 0 || !picture_stats (style_a, ma, ca, la))
    return;
  if (!style_b || m <= 0 || !picture_stats (style_b, mb, cb, lb))
    m = 0;
  /* the moments and the histogram of the mixture (1 - m) A + m B */
  for (int i = 0; i < 3; i++)
    ms[i] = m > 0 ? (1 - m) * ma[i] + m * mb[i] : ma[i];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      cs[3 * i + j] = m > 0 ? (1 - m) * (ca[3 * i + j] + ma[i] * ma[j])
                              + m * (cb[3 * i + j] + mb[i] * mb[j]) - ms[i] * ms[j]
                            : ca[3 * i + j];
  for (int k = 0; k < NS_LUMA_BINS; k++)
    ls[k] = m > 0 ? (1 - m) * la[k] + m * lb[k] : la[k];
  size_t n = (size_t) x->h * x->w;
  ns_colour_stats (x->data, n, MAX (1, n >> 20), mx, cx);
  ns_palette_map (x->data, n, mx, cx, ms, cs, ls, t);
}

/* Whether the file's network paints on the photo already moved onto the
 * painting's palette (NS_PALETTE_MAP_KEY), or the map goes on its result. */
static gboolean
palette_map_before (const NsPresetModel *model, gboolean *before, GError **error)
{
  const char *where = NULL;
  ns_weights_get_string (ns_preset_model_weights (model), NS_PALETTE_MAP_KEY, &where);
  *before = g_strcmp0 (where, NS_PALETTE_MAP_BEFORE) == 0;
  if (*before || !where || strcmp (where, NS_PALETTE_MAP_AFTER) == 0)
    return TRUE;
  g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "%s: %s = \"%s\" is neither \"%s\" nor \"%s\"",
               ns_preset_model_path (model), NS_PALETTE_MAP_KEY, where,
               NS_PALETTE_MAP_BEFORE, NS_PALETTE_MAP_AFTER);
  return FALSE;
}

/* The run, with the model's generator in *g until it gives it back. */
static gboolean
preset_run (const NsParams *p, NsPresetModel *model, const NsImageBands *img,
            const NsProgress *progress, NsStylizeWork *out, NsGenerator **gp,
            GError **error)
{
  NsProgress pr = ns_progress_part (progress, 0, p->iterations > 0 ? 0.2 : NS_STYLIZE_FINISH);
  if (!ns_progress_report (&pr, 0, "loading", error))
    return FALSE;

  NsGenerator *g = NULL;
  g_autofree float *mix = NULL;
  g_autoptr (NsImage) style_a = NULL;
  g_autoptr (NsImage) style_b = NULL;
  double strength = 1;
  gboolean map_before;
  gboolean taken = palette_map_before (model, &map_before, error)
                   && take_from_model (p, model, &g, &mix, &strength, &style_a, &style_b,
                                       error);
  *gp = g;
  if (!taken || ns_progress_cancelled (&pr, error))
    return FALSE;
  const double palette_mix = p->preset2 && strcmp (p->preset2, p->preset) != 0 ? p->mix : 0;
  ns_generator_set_progress (g, &pr);
  ns_generator_set_noise (g, ns_generator_noise (g), p->seed);

  /* the network at the working size, from the photo read a band at a time
   * (the cubic's sums straight from the full size, no halving) */
  int side = MIN (p->size > 0 ? p->size : PRESET_DEFAULT_SIZE, MAX (img->width, img->height));
  int wh, ww;
  ns_fit_long_side (img->height, img->width, side, &wh, &ww);
  gboolean full = wh == img->height && ww == img->width;
  g_autoptr (NsPlanes) small = ns_stylize_photo_resized (img, NULL, wh, ww, FALSE, &pr,
                                                         error);
  if (!small)
    return FALSE;
  NsPlanes *in = small;
  /* the network paints on the photo in the painting's colours (the guide
   * of the upsampling stays the photo itself: a copy when there is one) */
  g_autoptr (NsPlanes) mapped = NULL;
  if (map_before)
    {
      if (!full)
        {
          if (!(mapped = ns_planes_new (3, wh, ww, error)))
            return FALSE;
          memcpy (mapped->data, in->data, sizeof (float) * 3 * wh * ww);
          in = mapped;
        }
      match_palette (in, style_a, style_b, palette_mix, strength);
    }
  const Variation v = variation_of_seed (p->seed);
  const int dy = v.dy, dx = v.dx;
  const gboolean varied = p->seed != 0;
  g_autoptr (NsPlanes) shifted = varied ? ns_planes_new (3, wh + dy, ww + dx, error) : NULL;
  if (varied && !shifted)
    return FALSE;
  if (shifted)
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < wh + dy; y++)
        for (int xx = 0; xx < ww + dx; xx++)
          shifted->data[((size_t) c * (wh + dy) + y) * (ww + dx) + xx]
            = in->data[((size_t) c * wh + varied_index (y, dy, v.flip_y, wh)) * ww
                       + varied_index (xx, dx, v.flip_x, ww)];
  g_autoptr (NsPlanes) x = ns_planes_new (3, wh, ww, error);
  g_autoptr (NsPlanes) x_shifted = shifted ? ns_planes_new (3, wh + dy, ww + dx, error) : NULL;
  if (!x || (shifted && !x_shifted)
      || !ns_progress_report (&pr, 0.1, "generator", error)
      || !ns_generator_forward (g, shifted ? x_shifted->data : x->data,
                                shifted ? shifted->data : in->data, mix, 1,
                                wh + dy, ww + dx, FALSE, error))
    return FALSE;
  /* its arena is the big allocation: a large one is freed here */
  ns_preset_model_give_back_generator (model, g_steal_pointer (gp));
  g = NULL;
  if (shifted)   /* photo pixel (y, x) sits at the mirrored index + shift */
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < wh; y++)
        {
          const float *src = x_shifted->data
            + ((size_t) c * (wh + dy) + (v.flip_y ? wh - 1 - y : y) + dy) * (ww + dx) + dx;
          float *dst = x->data + ((size_t) c * wh + y) * ww;
          if (v.flip_x)
            for (int xx = 0; xx < ww; xx++)
              dst[xx] = src[ww - 1 - xx];
          else
            memcpy (dst, src, sizeof (float) * ww);
        }
  g_clear_pointer (&shifted, ns_planes_free);
  g_clear_pointer (&x_shifted, ns_planes_free);
  g_clear_pointer (&mapped, ns_planes_free);
  if (!ns_progress_report (&pr, 1, "generator", error))
    return FALSE;
  if (!map_before && !p->preserve_colors)
    match_palette (x, style_a, style_b, palette_mix, strength);

  if (p->iterations > 0)
    {
      NsProgress rp = ns_progress_part (progress, 0.2, NS_STYLIZE_FINISH);
      /* towards the painting that dominates the mix */
      const NsImage *style = p->preset2 && p->mix > 0.5 ? style_b : style_a;
      if (!style)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_NOT_FOUND,
                       "%s holds no picture of style '%s' to refine towards",
                       ns_preset_model_path (model),
                       p->preset2 && p->mix > 0.5 ? p->preset2 : p->preset);
          return FALSE;
        }
      if (!refine (p, style, x, &rp, error))
        return FALSE;
    }

  /* edges from the photo, its chroma when asked: the finish reads it */
  out->x = g_steal_pointer (&x);
  if (!full)
    out->guide_lo = g_steal_pointer (&small);
  return TRUE;
}

gboolean
ns_stylize_preset_path (const NsParams *p, NsPresetModel *model, const NsImageBands *img,
                        const NsProgress *progress, NsStylizeWork *out, GError **error)
{
  NsGenerator *g = NULL;
  gboolean ok = preset_run (p, model, img, progress, out, &g, error);
  ns_preset_model_give_back_generator (model, g);   /* when the run failed first */
  return ok;
}

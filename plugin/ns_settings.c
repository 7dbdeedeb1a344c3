/* The settings model: defaults, limits, and the procedure's parameters.
 * No GTK and no calls into GIMP, so tests/test-settings.c runs anywhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns_config.h"
#include "ns_error.h"
#include "ns_settings.h"

void
ns_plug_values_init (NsPlugValues *values)
{
  memset (values, 0, sizeof *values);
  values->alpha = 1.0;
  values->beta = 1.0;
  values->refine_iterations = 0;
  values->preserve_colors = FALSE;
  values->seed = 0;
  values->new_layer = FALSE;  /* in place, as GIMP filters do */
  values->mix = 0.5;
}

gboolean
ns_settings_fail (GError **error, const gchar *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error)
    *error = g_error_new_valist (NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                                 format, args);
  va_end (args);
  return FALSE;
}

static gboolean
weight_is_valid (gdouble w)
{
  return isfinite (w) && w >= 0.0 && w <= NS_WEIGHT_MAX;
}

/* A preset name as the second style: not a file and not a layer. */
static gboolean
is_preset_name (const gchar *style)
{
  return *style && !strchr (style, G_DIR_SEPARATOR)
         && !g_str_has_prefix (style, ".")
         && !g_str_has_prefix (style, NS_STYLE_LAYER_PREFIX);
}

gboolean
ns_plug_values_check (const NsPlugValues *v, GError **error)
{
  if (!memchr (v->style, '\0', sizeof v->style))
    return ns_settings_fail (error, "style: longer than %d bytes", NS_STYLE_MAX - 1);
  if (!v->style[0])
    return ns_settings_fail (error, "style: empty; give a preset name, an image file "
                 "or layer:ID");
  if (g_str_has_prefix (v->style, NS_STYLE_LAYER_PREFIX)
      && !ns_style_parse_layer (v->style, NULL))
    return ns_settings_fail (error, "style: '%s' is not layer:ID with ID a layer's "
                 "number", v->style);
  if (!weight_is_valid (v->alpha))
    return ns_settings_fail (error, "alpha: must be a number in [0, %g] (got %g)",
                 NS_WEIGHT_MAX, v->alpha);
  if (!weight_is_valid (v->beta))
    return ns_settings_fail (error, "beta: must be a number in [0, %g] (got %g)",
                 NS_WEIGHT_MAX, v->beta);
  if (v->alpha == 0.0 && v->beta == 0.0)
    return ns_settings_fail (error, "alpha, beta: must not both be 0");
  if (v->refine_iterations < 0 || v->refine_iterations > NS_ITERATIONS_MAX)
    return ns_settings_fail (error, "refine-iterations: must be in [0, %d] (got %d)",
                 NS_ITERATIONS_MAX, v->refine_iterations);
  if (v->preserve_colors != FALSE && v->preserve_colors != TRUE)
    return ns_settings_fail (error, "preserve-colors: must be 0 or 1 (got %d)",
                 v->preserve_colors);
  if (v->seed < 0)
    return ns_settings_fail (error, "seed: must be in [0, %d] (got %d)",
                 NS_SEED_MAX, v->seed);
  if (v->new_layer != FALSE && v->new_layer != TRUE)
    return ns_settings_fail (error, "new-layer: must be 0 or 1 (got %d)", v->new_layer);
  if (!memchr (v->style2, '\0', sizeof v->style2))
    return ns_settings_fail (error, "style2: longer than %d bytes", NS_STYLE_MAX - 1);
  if (v->style2[0] && !is_preset_name (v->style2))
    return ns_settings_fail (error, "style2: '%s' is not a preset name; only presets "
                 "can be mixed", v->style2);
  if (!isfinite (v->mix) || v->mix < 0.0 || v->mix > 1.0)
    return ns_settings_fail (error, "mix: must be a number in [0, 1] (got %g)", v->mix);
  return TRUE;
}

static gboolean
clamp_double (gdouble *value, gdouble lower, gdouble upper, gdouble fallback)
{
  gdouble old = *value;

  *value = isnan (old) ? fallback : CLAMP (old, lower, upper);
  return *value == old;
}

static gboolean
clamp_int (gint32 *value, gint32 lower, gint32 upper)
{
  gint32 old = *value;

  *value = CLAMP (old, lower, upper);
  return *value == old;
}

static gboolean
clamp_bool (gboolean *value)
{
  gboolean old = *value;

  *value = old != FALSE;
  return *value == old;
}

gboolean
ns_plug_values_clamp (NsPlugValues *v)
{
  NsPlugValues defaults;
  gboolean     same = TRUE;

  ns_plug_values_init (&defaults);
  if (!memchr (v->style, '\0', sizeof v->style))
    {
      v->style[0] = '\0';
      same = FALSE;
    }
  if (!memchr (v->style2, '\0', sizeof v->style2) || !is_preset_name (v->style2))
    {
      same = same && !v->style2[0];
      v->style2[0] = '\0';
    }
  same &= clamp_double (&v->alpha, 0.0, NS_WEIGHT_MAX, defaults.alpha);
  same &= clamp_double (&v->beta, 0.0, NS_WEIGHT_MAX, defaults.beta);
  if (v->alpha == 0.0 && v->beta == 0.0)
    {
      v->alpha = defaults.alpha;
      same = FALSE;
    }
  same &= clamp_int (&v->refine_iterations, 0, NS_ITERATIONS_MAX);
  same &= clamp_int (&v->seed, 0, NS_SEED_MAX);
  same &= clamp_bool (&v->preserve_colors);
  same &= clamp_bool (&v->new_layer);
  same &= clamp_double (&v->mix, 0.0, 1.0, defaults.mix);
  return same;
}

#if GIMP_MAJOR_VERSION < 3
const GimpParamDef *
ns_plug_param_defs (void)
{
  static const GimpParamDef defs[NS_N_PARAMS] = {
    { GIMP_PDB_INT32, "run-mode",
      "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), "
      "RUN-WITH-LAST-VALS (2) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable",
      "Drawable to stylize (RGB or grayscale, any precision; only its "
      "selected part changes)" },
    { GIMP_PDB_STRING,   "style",             NS_BLURB_STYLE },
    { GIMP_PDB_FLOAT,    "alpha",             NS_BLURB_ALPHA },
    { GIMP_PDB_FLOAT,    "beta",              NS_BLURB_BETA },
    { GIMP_PDB_INT32,    "refine-iterations", NS_BLURB_REFINE_ITERATIONS },
    { GIMP_PDB_INT32,    "preserve-colors",   NS_BLURB_PRESERVE_COLORS " { FALSE (0), TRUE (1) }" },
    { GIMP_PDB_INT32,    "seed",              NS_BLURB_SEED },
    { GIMP_PDB_INT32,    "new-layer",         NS_BLURB_NEW_LAYER " { FALSE (0), TRUE (1) }" },
    { GIMP_PDB_STRING,   "style2",            NS_BLURB_STYLE2 },
    { GIMP_PDB_FLOAT,    "mix",               NS_BLURB_MIX },
  };

  return defs;
}

static gboolean
copy_string (gchar *dest, const gchar *src, const gchar *name, GError **error)
{
  if (!src)
    src = "";
  if (strlen (src) >= NS_STYLE_MAX)
    return ns_settings_fail (error, "%s: longer than %d bytes", name, NS_STYLE_MAX - 1);
  g_strlcpy (dest, src, NS_STYLE_MAX);
  return TRUE;
}

gboolean
ns_plug_values_from_params (NsPlugValues *v, gint n_params,
                            const GimpParam *params, GError **error)
{
  if (n_params != NS_N_PARAMS_V1 && n_params != NS_N_PARAMS)
    return ns_settings_fail (error, "expected %d parameters (or %d without style2 and "
                 "mix), got %d", NS_N_PARAMS, NS_N_PARAMS_V1, n_params);

  ns_plug_values_init (v);
  if (!copy_string (v->style, params[3].data.d_string, "style", error))
    return FALSE;
  v->alpha = params[4].data.d_float;
  v->beta = params[5].data.d_float;
  v->refine_iterations = params[6].data.d_int32;
  v->preserve_colors = params[7].data.d_int32;
  v->seed = params[8].data.d_int32;
  v->new_layer = params[9].data.d_int32;
  v->style2[0] = '\0';
  v->mix = 0.0;
  if (n_params == NS_N_PARAMS)
    {
      if (!copy_string (v->style2, params[10].data.d_string, "style2", error))
        return FALSE;
      v->mix = params[11].data.d_float;
    }
  return ns_plug_values_check (v, error);
}

GimpParam *
ns_plug_values_to_params (const NsPlugValues *v, GimpRunMode run_mode,
                          gint32 image, gint32 drawable)
{
  const GimpParamDef *defs = ns_plug_param_defs ();
  GimpParam          *params = g_new0 (GimpParam, NS_N_PARAMS);

  for (int i = 0; i < NS_N_PARAMS; i++)
    params[i].type = defs[i].type;
  params[0].data.d_int32 = run_mode;
  params[1].data.d_image = image;
  params[2].data.d_drawable = drawable;
  /* GimpParam strings are not const, but nothing writes through them */
  params[3].data.d_string = (gchar *) v->style;
  params[4].data.d_float = v->alpha;
  params[5].data.d_float = v->beta;
  params[6].data.d_int32 = v->refine_iterations;
  params[7].data.d_int32 = v->preserve_colors;
  params[8].data.d_int32 = v->seed;
  params[9].data.d_int32 = v->new_layer;
  params[10].data.d_string = (gchar *) v->style2;
  params[11].data.d_float = v->mix;
  return params;
}
#endif

gboolean
ns_style_parse_layer (const gchar *style, gint32 *layer_id)
{
  const gchar *digits;
  gchar       *end;
  gint64       id;

  if (!style || !g_str_has_prefix (style, NS_STYLE_LAYER_PREFIX))
    return FALSE;
  digits = style + strlen (NS_STYLE_LAYER_PREFIX);
  if (!g_ascii_isdigit (*digits))
    return FALSE;
  id = g_ascii_strtoll (digits, &end, 10);
  if (*end || id < 1 || id > G_MAXINT32)
    return FALSE;
  if (layer_id)
    *layer_id = (gint32) id;
  return TRUE;
}

void
ns_plug_values_to_ns_params (const NsPlugValues *v, NsParams *p)
{
  p->alpha = v->alpha;
  p->beta = v->beta;
  p->iterations = v->refine_iterations;
  p->preserve_colors = v->preserve_colors;
  p->seed = (guint32) v->seed;
  p->mix = v->style2[0] ? v->mix : 0.0;
}

gchar *
ns_plug_values_describe (const NsPlugValues *v)
{
  gchar alpha[G_ASCII_DTOSTR_BUF_SIZE], beta[G_ASCII_DTOSTR_BUF_SIZE];
  gchar mix[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup_printf ("style %s alpha %s beta %s iterations %d "
                          "preserve %d seed %d style2 %s mix %s",
                          v->style,
                          g_ascii_dtostr (alpha, sizeof alpha, v->alpha),
                          g_ascii_dtostr (beta, sizeof beta, v->beta),
                          v->refine_iterations, v->preserve_colors, v->seed,
                          v->style2[0] ? v->style2 : "-",
                          g_ascii_dtostr (mix, sizeof mix, v->mix));
}

/* The plug-in's settings model, without GTK: the values the dialog edits,
 * their defaults and limits, and their mapping to and from the parameters of
 * plug-in-neural-style.  The plug-in, the dialog and the settings test all
 * use this one description, so a limit means the same everywhere.
 *
 * NsPlugValues is stored with gimp_set_data, so it holds no pointers. */
#pragma once
#include <libgimp/gimp.h>

#include "ns_config.h"
#include "ns_stylize.h"

G_BEGIN_DECLS

#define NS_PLUG_IN_PROC   "plug-in-neural-style"
#define NS_PLUG_IN_BINARY "gimp-neural-style"

#define NS_STYLE_MAX 4096   /* longest style string, with its NUL */

/* Pixels around the selection the engine also sees, so strokes near the
 * selection's edge have context; only the selection itself is written. */
#define NS_CONTEXT_MARGIN 32

/* Parameters of the procedure: the first 10 of version 1 (calls written
 * for it still work), then the second style and the mix. */
#define NS_N_PARAMS_V1 10
#define NS_N_PARAMS    12

/* Limits: the engine's (NS_WEIGHT_MAX, NS_ITERATIONS_MAX, NS_SEED_MAX in
 * ns_stylize.h).  A non-interactive call outside them is refused (a calling
 * error naming the parameter); stored last values outside them are clamped. */

/* A style string names one of three sources:
 *   "NAME"      a preset (ns_presets_find),
 *   "/a/path"   any image file (the optimisation path),
 *   "layer:ID"  a layer of an open image (the optimisation path). */
#define NS_STYLE_LAYER_PREFIX "layer:"

/* The blurbs of the parameters after run-mode, image and drawable, shared by
 * the GIMP 2.10 PDB table and the GIMP 3 procedure's arguments. */
#define NS_BLURB_STYLE \
  "The style: a preset name (see neural-style info, presets in " \
  NS_WEIGHTS_DIR "), the path of any image file, or \"layer:ID\" for " \
  "the layer with that ID in any open image (image file and layer use " \
  "the slower optimisation path)"
#define NS_BLURB_ALPHA \
  "Content weight in [0, " G_STRINGIFY (NS_WEIGHT_MAX) "] (not both 0): " \
  "how much of the photo's structure is kept"
#define NS_BLURB_BETA \
  "Style weight in [0, " G_STRINGIFY (NS_WEIGHT_MAX) "] (not both 0): " \
  "how strongly the style is painted"
#define NS_BLURB_REFINE_ITERATIONS \
  "In [0, " G_STRINGIFY (NS_ITERATIONS_MAX) "]. With an image file or " \
  "layer: optimiser iterations (0 = default); with a preset: refinement " \
  "steps after the generator (0 = none)"
#define NS_BLURB_PRESERVE_COLORS "Keep the photo's colours"
#define NS_BLURB_SEED \
  "Random seed in [0, 2147483647]: the same seed gives the same result, " \
  "another seed a variation"
#define NS_BLURB_NEW_LAYER \
  "0: replace the drawable's pixels; 1: add the result as a new layer " \
  "above it, named after the style"
#define NS_BLURB_STYLE2 \
  "A second preset to blend with style (which must then be a preset of " \
  "the same weights file), or \"\" for none"
#define NS_BLURB_MIX \
  "Blend in [0, 1]: 0 = style only, 1 = style2 only (ignored when " \
  "style2 is \"\")"

typedef struct
{
  gchar    style[NS_STYLE_MAX];   /* see above */
  gdouble  alpha;                 /* content weight */
  gdouble  beta;                  /* style weight */
  gint32   refine_iterations;     /* 0 = the engine's default */
  gboolean preserve_colors;
  gint32   seed;
  gboolean new_layer;             /* add a layer instead of replacing pixels */
  gchar    style2[NS_STYLE_MAX];  /* second preset to blend in, "" = none */
  gdouble  mix;                   /* 0 = style only, 1 = style2 only */
} NsPlugValues;

/* Fills values with the defaults a first run (and Reset) starts from. */
void     ns_plug_values_init  (NsPlugValues *values);

/* Checks every field against the limits; NS_ERROR_INVALID_ARGUMENT whose
 * message starts with the parameter's name ("alpha: ..."). */
gboolean ns_plug_values_check (const NsPlugValues *values, GError **error);

/* Brings every field into its limits (NaN goes to the default); for stored
 * settings of an older build, which must never make the dialog fail.
 * TRUE when nothing had to change. */
gboolean ns_plug_values_clamp (NsPlugValues *values);

#if GIMP_MAJOR_VERSION < 3   /* GIMP 3 has no GimpParam; plugin/gimp3/ */
/* The procedure's parameter definitions, NS_N_PARAMS of them. */
const GimpParamDef *ns_plug_param_defs (void);

/* Reads the parameters after run-mode, image and drawable of a call with
 * NS_N_PARAMS_V1 or NS_N_PARAMS parameters (a version-1 call has no second
 * style), then checks them.  On error values are unspecified. */
gboolean ns_plug_values_from_params (NsPlugValues *values, gint n_params,
                                     const GimpParam *params, GError **error);

/* The NS_N_PARAMS parameters that make a call with these values; strings
 * point into values.  Free with g_free. */
GimpParam *ns_plug_values_to_params (const NsPlugValues *values,
                                     GimpRunMode run_mode, gint32 image,
                                     gint32 drawable);
#endif

/* TRUE and the id when style reads "layer:ID" with ID a positive integer. */
gboolean ns_style_parse_layer (const gchar *style, gint32 *layer_id);

/* One line naming every field ("style NAME alpha 1 beta 1 ... mix 0.5"),
 * numbers in the C locale, for logs that tests compare.  g_free it. */
gchar   *ns_plug_values_describe (const NsPlugValues *values);

/* Copies the numeric fields (alpha, beta, iterations, preserve colours, seed,
 * mix) into p, so the preview and the final run use the same numbers.  The
 * style fields of p are left to the caller (ns_style_source). */
void     ns_plug_values_to_ns_params (const NsPlugValues *values, NsParams *p);

/* Sets NS_ERROR_INVALID_ARGUMENT with the formatted message (which starts
 * with the parameter's name) and returns FALSE. */
gboolean ns_settings_fail (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS

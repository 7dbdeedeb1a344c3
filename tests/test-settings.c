/* The plug-in's settings model (plugin/ns_settings.c): defaults, limits, and the
 * mapping between NsPlugValues and the parameters of plug-in-neural-style.
 * No GTK and no GIMP process: the GimpParam arrays are built here. */
#include <math.h>
#include <string.h>

#include "ns_blas.h"
#include "ns_error.h"
#include "ns_settings.h"

static NsPlugValues
some_values (void)
{
  NsPlugValues v;

  ns_plug_values_init (&v);
  g_strlcpy (v.style, "cafe-terrace", sizeof v.style);
  g_strlcpy (v.style2, "great-wave", sizeof v.style2);
  v.alpha = 2.5;
  v.beta = 0.75;
  v.refine_iterations = 40;
  v.preserve_colors = TRUE;
  v.seed = 123456789;
  v.new_layer = TRUE;
  v.mix = 0.3;
  return v;
}

static void
assert_same_values (const NsPlugValues *a, const NsPlugValues *b)
{
  g_assert_cmpstr (a->style, ==, b->style);
  g_assert_cmpstr (a->style2, ==, b->style2);
  g_assert_cmpfloat (a->alpha, ==, b->alpha);
  g_assert_cmpfloat (a->beta, ==, b->beta);
  g_assert_cmpint (a->refine_iterations, ==, b->refine_iterations);
  g_assert_cmpint (a->preserve_colors, ==, b->preserve_colors);
  g_assert_cmpint (a->seed, ==, b->seed);
  g_assert_cmpint (a->new_layer, ==, b->new_layer);
  g_assert_cmpfloat (a->mix, ==, b->mix);
}

static void
test_defaults (void)
{
  NsPlugValues v, copy;
  GError *error = NULL;

  ns_plug_values_init (&v);
  /* the one thing a first run lacks is a style */
  g_assert_false (ns_plug_values_check (&v, &error));
  g_assert_true (g_str_has_prefix (error->message, "style:"));
  g_clear_error (&error);
  g_strlcpy (v.style, "cafe-terrace", sizeof v.style);
  g_assert_true (ns_plug_values_check (&v, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (v.alpha, ==, 1.0);
  g_assert_cmpfloat (v.beta, ==, 1.0);
  g_assert_cmpint (v.refine_iterations, ==, 0);
  g_assert_false (v.preserve_colors);
  g_assert_false (v.new_layer);
  g_assert_cmpstr (v.style2, ==, "");
  copy = v;
  g_assert_true (ns_plug_values_clamp (&copy));
  assert_same_values (&copy, &v);
}

static void
test_param_defs (void)
{
  static const struct { GimpPDBArgType type; const char *name; } want[] = {
    { GIMP_PDB_INT32, "run-mode" }, { GIMP_PDB_IMAGE, "image" },
    { GIMP_PDB_DRAWABLE, "drawable" }, { GIMP_PDB_STRING, "style" },
    { GIMP_PDB_FLOAT, "alpha" }, { GIMP_PDB_FLOAT, "beta" },
    { GIMP_PDB_INT32, "refine-iterations" },
    { GIMP_PDB_INT32, "preserve-colors" }, { GIMP_PDB_INT32, "seed" },
    { GIMP_PDB_INT32, "new-layer" }, { GIMP_PDB_STRING, "style2" },
    { GIMP_PDB_FLOAT, "mix" },
  };
  const GimpParamDef *defs = ns_plug_param_defs ();
  NsPlugValues v = some_values ();
  GimpParam *params = ns_plug_values_to_params (&v, GIMP_RUN_NONINTERACTIVE,
                                                3, 7);

  G_STATIC_ASSERT (G_N_ELEMENTS (want) == NS_N_PARAMS);
  for (int i = 0; i < NS_N_PARAMS; i++)
    {
      g_assert_cmpint (defs[i].type, ==, want[i].type);
      g_assert_cmpstr (defs[i].name, ==, want[i].name);
      g_assert_cmpuint (strlen (defs[i].description), >, 10);
      g_assert_cmpint (params[i].type, ==, defs[i].type);
    }
  g_assert_cmpint (params[0].data.d_int32, ==, GIMP_RUN_NONINTERACTIVE);
  g_assert_cmpint (params[1].data.d_image, ==, 3);
  g_assert_cmpint (params[2].data.d_drawable, ==, 7);
  g_free (params);
}

static void
test_round_trip (void)
{
  NsPlugValues v = some_values (), back;
  GimpParam *params = ns_plug_values_to_params (&v, GIMP_RUN_NONINTERACTIVE,
                                                1, 2);
  GError *error = NULL;

  g_assert_true (ns_plug_values_from_params (&back, NS_N_PARAMS, params,
                                             &error));
  g_assert_no_error (error);
  assert_same_values (&back, &v);

  /* a call written for the first 10 parameters has no second style */
  g_assert_true (ns_plug_values_from_params (&back, NS_N_PARAMS_V1, params,
                                             &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.style2, ==, "");
  g_assert_cmpfloat (back.mix, ==, 0.0);
  g_assert_cmpstr (back.style, ==, v.style);
  g_assert_cmpint (back.seed, ==, v.seed);

  for (int n = 0; n <= NS_N_PARAMS + 2; n++)
    if (n != NS_N_PARAMS && n != NS_N_PARAMS_V1)
      {
        g_assert_false (ns_plug_values_from_params (&back, n, params, &error));
        g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull (strstr (error->message, "parameters"));
        g_clear_error (&error);
      }
  g_free (params);
}

/* The numbers the preview and the final run hand the engine. */
static void
test_to_ns_params (void)
{
  NsPlugValues v = some_values ();
  NsParams p;

  v.seed = NS_SEED_MAX;
  ns_params_init (&p);
  ns_plug_values_to_ns_params (&v, &p);
  g_assert_cmpfloat (p.alpha, ==, 2.5);
  g_assert_cmpfloat (p.beta, ==, 0.75);
  g_assert_cmpint (p.iterations, ==, 40);
  g_assert_true (p.preserve_colors);
  g_assert_cmpuint (p.seed, ==, (guint32) NS_SEED_MAX);
  g_assert_cmpfloat (p.mix, ==, 0.3);
  p.preset = v.style;
  p.preset2 = v.style2;
  g_assert_true (ns_params_validate (&p, NULL));
  /* no second style: the mix means nothing and must not reach the engine */
  v.style2[0] = '\0';
  ns_plug_values_to_ns_params (&v, &p);
  g_assert_cmpfloat (p.mix, ==, 0.0);
}

/* The log line the dialog writes per preview and the plug-in on OK: every
 * field, numbers exact and with dots. */
static void
test_describe (void)
{
  NsPlugValues v = some_values ();
  gchar *text = ns_plug_values_describe (&v);

  g_assert_cmpstr (text, ==, "style cafe-terrace alpha 2.5 beta 0.75 "
                   "iterations 40 preserve 1 seed 123456789 style2 great-wave "
                   "mix 0.29999999999999999");
  g_free (text);
  v.style2[0] = '\0';
  v.alpha = 0.1;
  text = ns_plug_values_describe (&v);
  g_assert_nonnull (strstr (text, " alpha 0.10000000000000001 "));
  g_assert_nonnull (strstr (text, " style2 - "));
  g_free (text);
}

typedef void (*Spoil) (NsPlugValues *v);

#define SPOIL(name, body) \
  static void name (NsPlugValues *v) { body; }

SPOIL (alpha_negative, v->alpha = -0.01)
SPOIL (alpha_too_big, v->alpha = NS_WEIGHT_MAX * 1.001)
SPOIL (alpha_nan, v->alpha = NAN)
SPOIL (beta_negative, v->beta = -1)
SPOIL (beta_infinite, v->beta = INFINITY)
SPOIL (both_zero, v->alpha = 0; v->beta = 0)
SPOIL (iterations_negative, v->refine_iterations = -1)
SPOIL (iterations_too_many, v->refine_iterations = NS_ITERATIONS_MAX + 1)
SPOIL (preserve_two, v->preserve_colors = 2)
SPOIL (seed_negative, v->seed = -5)
SPOIL (new_layer_seven, v->new_layer = 7)
SPOIL (mix_negative, v->mix = -0.001)
SPOIL (mix_above_one, v->mix = 1.001)
SPOIL (mix_nan, v->mix = NAN)
SPOIL (style_empty, v->style[0] = '\0')
SPOIL (style_layer_word, g_strlcpy (v->style, "layer:abc", NS_STYLE_MAX))
SPOIL (style_layer_zero, g_strlcpy (v->style, "layer:0", NS_STYLE_MAX))
SPOIL (style_layer_bare, g_strlcpy (v->style, "layer:", NS_STYLE_MAX))
SPOIL (style_unterminated, memset (v->style, 'x', NS_STYLE_MAX))
SPOIL (style2_path, g_strlcpy (v->style2, "/tmp/a.png", NS_STYLE_MAX))
SPOIL (style2_layer, g_strlcpy (v->style2, "layer:3", NS_STYLE_MAX))

static const struct { const char *what; Spoil spoil; const char *prefix; }
bad_values[] = {
  { "alpha -0.01", alpha_negative, "alpha:" },
  { "alpha above the limit", alpha_too_big, "alpha:" },
  { "alpha NaN", alpha_nan, "alpha:" },
  { "beta -1", beta_negative, "beta:" },
  { "beta infinite", beta_infinite, "beta:" },
  { "alpha and beta 0", both_zero, "alpha, beta:" },
  { "iterations -1", iterations_negative, "refine-iterations:" },
  { "iterations above the limit", iterations_too_many, "refine-iterations:" },
  { "preserve-colors 2", preserve_two, "preserve-colors:" },
  { "seed -5", seed_negative, "seed:" },
  { "new-layer 7", new_layer_seven, "new-layer:" },
  { "mix -0.001", mix_negative, "mix:" },
  { "mix 1.001", mix_above_one, "mix:" },
  { "mix NaN", mix_nan, "mix:" },
  { "style empty", style_empty, "style:" },
  { "style layer:abc", style_layer_word, "style:" },
  { "style layer:0", style_layer_zero, "style:" },
  { "style layer:", style_layer_bare, "style:" },
  { "style without its NUL", style_unterminated, "style:" },
  { "style2 a path", style2_path, "style2:" },
  { "style2 a layer", style2_layer, "style2:" },
};

/* Each value out of its limits is refused by the check and by a call, with
 * a message naming the parameter. */
static void
test_limits_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_values); i++)
    {
      NsPlugValues v = some_values (), back;
      GError *error = NULL;
      GimpParam *params;

      bad_values[i].spoil (&v);
      g_test_message ("%s", bad_values[i].what);
      g_assert_false (ns_plug_values_check (&v, &error));
      g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, bad_values[i].prefix));
      g_clear_error (&error);

      if (bad_values[i].spoil == style_unterminated)
        continue;   /* a GimpParam string always ends */
      params = ns_plug_values_to_params (&v, GIMP_RUN_NONINTERACTIVE, 1, 2);
      g_assert_false (ns_plug_values_from_params (&back, NS_N_PARAMS, params,
                                                  &error));
      g_assert_true (g_str_has_prefix (error->message, bad_values[i].prefix));
      g_clear_error (&error);
      g_free (params);
    }
}

static void
test_limits_accepted (void)
{
  NsPlugValues v = some_values ();
  GError *error = NULL;
  gchar *long_name = g_strnfill (NS_STYLE_MAX, 'a');
  GimpParam *params;

  v.alpha = 0.0;
  v.beta = NS_WEIGHT_MAX;
  v.refine_iterations = NS_ITERATIONS_MAX;
  v.seed = NS_SEED_MAX;
  v.mix = 1.0;
  g_assert_true (ns_plug_values_check (&v, &error));
  v.alpha = NS_WEIGHT_MAX;
  v.beta = 0.0;
  v.refine_iterations = 0;
  v.seed = 0;
  v.mix = 0.0;
  g_strlcpy (v.style, "layer:2147483647", sizeof v.style);
  v.style2[0] = '\0';
  g_assert_true (ns_plug_values_check (&v, &error));
  g_assert_no_error (error);

  /* a style string of NS_STYLE_MAX bytes does not fit: refused, not cut */
  params = ns_plug_values_to_params (&v, GIMP_RUN_NONINTERACTIVE, 1, 2);
  params[3].data.d_string = long_name;
  g_assert_false (ns_plug_values_from_params (&v, NS_N_PARAMS, params, &error));
  g_assert_true (g_str_has_prefix (error->message, "style:"));
  g_clear_error (&error);
  long_name[NS_STYLE_MAX - 1] = '\0';   /* the longest that fits */
  g_assert_true (ns_plug_values_from_params (&v, NS_N_PARAMS, params, &error));
  g_assert_cmpuint (strlen (v.style), ==, NS_STYLE_MAX - 1);
  g_free (params);
  g_free (long_name);
}

/* Stored settings from an older build: clamped into the limits, never an
 * error, and what was valid stays. */
static void
test_clamp (void)
{
  NsPlugValues v = some_values (), defaults;

  ns_plug_values_init (&defaults);
  v.alpha = -3;
  v.beta = 1e9;
  v.refine_iterations = -2;
  v.seed = -1;
  v.preserve_colors = 5;
  v.new_layer = -1;
  v.mix = 7;
  g_assert_false (ns_plug_values_clamp (&v));
  g_assert_cmpfloat (v.alpha, ==, 0.0);
  g_assert_cmpfloat (v.beta, ==, NS_WEIGHT_MAX);
  g_assert_cmpint (v.refine_iterations, ==, 0);
  g_assert_cmpint (v.seed, ==, 0);
  g_assert_cmpint (v.preserve_colors, ==, TRUE);
  g_assert_cmpint (v.new_layer, ==, TRUE);
  g_assert_cmpfloat (v.mix, ==, 1.0);
  g_assert_cmpstr (v.style, ==, "cafe-terrace");
  g_assert_true (ns_plug_values_check (&v, NULL));

  v.alpha = NAN;
  v.beta = 0.0;
  v.refine_iterations = NS_ITERATIONS_MAX + 5;
  v.mix = NAN;
  memset (v.style2, 'y', sizeof v.style2);
  g_assert_false (ns_plug_values_clamp (&v));
  g_assert_cmpfloat (v.alpha, ==, defaults.alpha);
  g_assert_cmpint (v.refine_iterations, ==, NS_ITERATIONS_MAX);
  g_assert_cmpfloat (v.mix, ==, defaults.mix);
  g_assert_cmpstr (v.style2, ==, "");
  g_assert_true (ns_plug_values_check (&v, NULL));

  /* both weights 0 would be refused: the content weight comes back */
  v.alpha = 0.0;
  v.beta = 0.0;
  g_assert_false (ns_plug_values_clamp (&v));
  g_assert_cmpfloat (v.alpha, ==, defaults.alpha);

  memset (v.style, 'z', sizeof v.style);
  g_assert_false (ns_plug_values_clamp (&v));
  g_assert_cmpstr (v.style, ==, "");

  v = some_values ();
  g_assert_true (ns_plug_values_clamp (&v));
}

static void
test_parse_layer (void)
{
  gint32 id = -1;

  g_assert_true (ns_style_parse_layer ("layer:1", &id));
  g_assert_cmpint (id, ==, 1);
  g_assert_true (ns_style_parse_layer ("layer:2147483647", &id));
  g_assert_cmpint (id, ==, G_MAXINT32);
  g_assert_true (ns_style_parse_layer ("layer:42", NULL));
  for (const char *const *bad = (const char *const[]) {
         "layer:", "layer:0", "layer:-3", "layer:+3", "layer: 3", "layer:3x",
         "layer:2147483648", "Layer:3", "cafe-terrace", "/tmp/layer:3", "",
         NULL }; *bad; bad++)
    {
      id = -1;
      g_assert_false (ns_style_parse_layer (*bad, &id));
      g_assert_cmpint (id, ==, -1);
    }
  g_assert_false (ns_style_parse_layer (NULL, &id));
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/settings/defaults", test_defaults);
  g_test_add_func ("/settings/param-defs", test_param_defs);
  g_test_add_func ("/settings/round-trip", test_round_trip);
  g_test_add_func ("/settings/to-ns-params", test_to_ns_params);
  g_test_add_func ("/settings/limits-refused", test_limits_refused);
  g_test_add_func ("/settings/limits-accepted", test_limits_accepted);
  g_test_add_func ("/settings/clamp", test_clamp);
  g_test_add_func ("/settings/parse-layer", test_parse_layer);
  g_test_add_func ("/settings/describe", test_describe);
  return g_test_run ();
}

/* GimpProcedure arguments from the settings model's limits and blurbs. */
#include <string.h>

#include "ns_config3.h"

void
ns_config3_add_arguments (GimpProcedure *procedure)
{
  NsPlugValues d;

  ns_plug_values_init (&d);
  gimp_procedure_add_string_argument (procedure, "style", "_Style",
                                      NS_BLURB_STYLE, d.style,
                                      G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "alpha", "Co_ntent weight",
                                      NS_BLURB_ALPHA, 0.0, NS_WEIGHT_MAX,
                                      d.alpha, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "beta", "St_yle weight",
                                      NS_BLURB_BETA, 0.0, NS_WEIGHT_MAX,
                                      d.beta, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "refine-iterations", "Refinemen_t",
                                   NS_BLURB_REFINE_ITERATIONS, 0,
                                   NS_ITERATIONS_MAX, d.refine_iterations,
                                   G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "preserve-colors",
                                       "Preserve colo_urs",
                                       NS_BLURB_PRESERVE_COLORS,
                                       d.preserve_colors, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed", "S_eed", NS_BLURB_SEED,
                                   0, NS_SEED_MAX, d.seed, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "new-layer",
                                       "As a ne_w layer above it",
                                       NS_BLURB_NEW_LAYER, d.new_layer,
                                       G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "style2", "Blen_d with",
                                      NS_BLURB_STYLE2, d.style2,
                                      G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "mix", "_Mix", NS_BLURB_MIX,
                                      0.0, 1.0, d.mix, G_PARAM_READWRITE);
}

/* A string longer than the field fills it without its NUL, which
 * ns_plug_values_check reports as "NAME: longer than ...". */
static void
copy_style (gchar *dest, const gchar *src)
{
  if (src)
    memcpy (dest, src, MIN (strlen (src) + 1, NS_STYLE_MAX));
}

void
ns_config3_get_values (GimpProcedureConfig *config, NsPlugValues *v)
{
  gchar *style = NULL, *style2 = NULL;

  ns_plug_values_init (v);
  g_object_get (config,
                "style", &style,
                "alpha", &v->alpha,
                "beta", &v->beta,
                "refine-iterations", &v->refine_iterations,
                "preserve-colors", &v->preserve_colors,
                "seed", &v->seed,
                "new-layer", &v->new_layer,
                "style2", &style2,
                "mix", &v->mix,
                NULL);
  copy_style (v->style, style);
  copy_style (v->style2, style2);
  g_free (style);
  g_free (style2);
}

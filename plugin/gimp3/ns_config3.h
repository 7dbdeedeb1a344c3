/* The GIMP 3 side of the settings model (plugin/ns_settings.h): the procedure's
 * arguments, declared from the same names, limits and blurbs as the 2.10
 * PDB table, and their GimpProcedureConfig read into NsPlugValues. */
#pragma once
#include <libgimp/gimp.h>

#include "ns_settings.h"

G_BEGIN_DECLS

/* Adds style, alpha, beta, refine-iterations, preserve-colors, seed,
 * new-layer, style2 and mix, in the 2.10 procedure's order. */
void ns_config3_add_arguments (GimpProcedure *procedure);

/* The config's values, unchecked (ns_plug_values_check names a bad one). */
void ns_config3_get_values (GimpProcedureConfig *config, NsPlugValues *values);

G_END_DECLS

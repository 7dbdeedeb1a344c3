/* The two paths behind ns_stylize (ns_stylize.h), for stylize*.c only.
 * p is validated and img checked by ns_stylize before either runs. */
#pragma once
#include "ns_stylize.h"

G_BEGIN_DECLS

/* guided upsampling back to the input's size: window radius (working px)
 * and regulariser, the same for both paths */
#define NS_GUIDE_RADIUS 2
#define NS_GUIDE_EPS    1e-3f

/* TRUE (with NS_ERROR_CANCELLED) once the caller's flag is raised */
gboolean ns_stylize_cancelled (const volatile gint *cancel, GError **error);

/* The optimisation path towards style.  With refine, img is already
 * stylized: it is optimised at the working size only (p->iterations steps,
 * no pyramid), from itself, its colours kept, and preserve_colors is left to
 * the caller. */
gboolean ns_stylize_optimise (const NsParams *p, const NsImage *style, gboolean refine,
                              NsImage *img, NsProgressFunc progress,
                              gpointer progress_data, const volatile gint *cancel,
                              GError **error);

/* The generator path for p->preset (stylize_preset.c). */
gboolean ns_stylize_preset (const NsParams *p, NsImage *img, NsProgressFunc progress,
                            gpointer progress_data, const volatile gint *cancel,
                            GError **error);

/* The generator's strength for a content and a style weight: 0 returns
 * the photo, 1 the preset as trained, up to 1.25 beyond it. */
double ns_preset_strength (double alpha, double beta);

G_END_DECLS

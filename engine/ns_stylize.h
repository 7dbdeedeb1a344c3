/* The one entry point every front end (plug-in, dialog preview, CLI,
 * Script-Fu through the plug-in) calls to stylize an image. */
#pragma once
#include <glib.h>
#include "ns_image.h"

G_BEGIN_DECLS

/* The one range of every numeric parameter.  ns_params_validate, the
 * command's options (cli/cmd-stylize.c) and the plug-in's settings
 * (plugin/ns_settings.c) all check these, so a value one accepts, all accept. */
#define NS_WEIGHT_MAX      1.0e6       /* alpha, beta: each in [0, max], not both 0 */
#define NS_ITERATIONS_MAX  100000      /* iterations (refinement steps): [0, max] */
#define NS_SIZE_MIN        16          /* working long side: 0 (default) or */
#define NS_SIZE_MAX        8192        /*   [min, max] px */
#define NS_SEED_MAX        G_MAXINT32  /* seed in [0, max]: the PDB's int32 */
/* mix is in [0, 1] */

typedef enum { NS_STYLE_LOSS_SWD, NS_STYLE_LOSS_GRAM } NsStyleLoss;
typedef enum { NS_OPTIMIZER_ADAM, NS_OPTIMIZER_LBFGS } NsOptimizer;

typedef struct
{
  /* Where the style comes from: a preset (generator path, fast) or any
   * image (optimisation path).  Exactly one of preset / style_image is set. */
  const char    *preset;          /* style name inside weights_path */
  const char    *preset2;         /* optional second preset to mix, or NULL */
  double         mix;             /* 0 = preset only, 1 = preset2 only */
  const char    *weights_path;    /* .nsw file with the presets */
  const NsImage *style_image;     /* any picture as the style */

  double      alpha;              /* content weight, [0, NS_WEIGHT_MAX] */
  double      beta;               /* style weight, the same; not both 0 */
  int         iterations;         /* optimisation steps (0 = default; with a
                                     preset: refinement steps, 0 = none) */
  int         size;               /* working long side in px, 0 = default */
  gboolean    preserve_colors;    /* keep the photo's colours */
  guint32     seed;
  NsStyleLoss style_loss;
  NsOptimizer optimizer;
} NsParams;

/* fraction in [0, 1]; stage is a short human-readable word ("pyramid 2/3") */
typedef void (*NsProgressFunc) (double fraction, const char *stage, gpointer data);

/* Defaults for every field (style fields left NULL). */
void     ns_params_init (NsParams *p);
/* Checks ranges; NS_ERROR_INVALID_ARGUMENT naming the bad field. */
gboolean ns_params_validate (const NsParams *p, GError **error);

/* Stylizes img in place: colour channels are replaced, alpha is left exactly
 * as it was, a grey image stays grey.  The progress callback is called and
 * *cancel polled at least every 0.5 s; a raised cancel returns FALSE with
 * NS_ERROR_CANCELLED and img untouched.  On any error img is untouched.
 * The engine keeps no pointer from p or img after it returns. */
gboolean ns_stylize (const NsParams *p, NsImage *img,
                     NsProgressFunc progress, gpointer progress_data,
                     const volatile gint *cancel, GError **error);

G_END_DECLS

/* The parameters of a stylize run and the one range of each. */
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

/* A generator file of presets, loaded (ns_presets.h). */
typedef struct _NsPresetModel NsPresetModel;

typedef struct
{
  /* Where the style comes from: a preset (generator path, fast) or any
   * image (optimisation path).  Exactly one of preset / style_image is set. */
  const char    *preset;          /* style name inside the model */
  const char    *preset2;         /* optional second preset to mix, or NULL */
  double         mix;             /* 0 = preset only, 1 = preset2 only */
  /* the presets' generator: model (ns_preset_model_open, which the caller
   * keeps alive through the run), or else the .nsw file weights_path */
  NsPresetModel *model;
  const char    *weights_path;
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

/* Defaults for every field (style fields left NULL). */
void     ns_params_init (NsParams *p);
/* Checks ranges; NS_ERROR_INVALID_ARGUMENT naming the bad field. */
gboolean ns_params_validate (const NsParams *p, GError **error);

G_END_DECLS

/* The two paths of a run, between ns_stylize (stylize_entry.c), which
 * validates, resolves the style and finishes, and the optimiser and the
 * generator below them. */
#pragma once
#include <glib.h>
#include "ns_image.h"
#include "ns_imgproc.h"
#include "ns_params.h"
#include "ns_progress.h"

G_BEGIN_DECLS

/* The part of a run's progress before the shared finish. */
#define NS_STYLIZE_FINISH 0.95

/* What a path hands the shared finish: x, the result at the working size,
 * computed from guide_lo; when that is not the photo's size, guide (full
 * size, the picture x is brought up against) becomes the result by guided
 * upsampling.  photo (full size) gives back its chroma with
 * preserve_colors, and is NULL otherwise. */
typedef struct
{
  NsPlanes *x;
  NsPlanes *guide_lo;
  NsPlanes *guide;
  NsPlanes *photo;
} NsStylizeWork;

/* Any picture as the style (stylize_image.c): colours matched, then the
 * optimiser's pyramid at the working size (p->size, default
 * NS_OPTIMISE_SIZE). */
gboolean ns_stylize_image_path  (const NsParams *p, const NsImage *img,
                                 const NsProgress *progress, NsStylizeWork *out,
                                 GError **error);

/* A preset of model (stylize_preset.c): the generator, its palette, and
 * p->iterations refinement steps of the optimiser. */
gboolean ns_stylize_preset_path (const NsParams *p, const NsPresetModel *model,
                                 const NsImage *img, const NsProgress *progress,
                                 NsStylizeWork *out, GError **error);

/* The generator's strength for a content and a style weight: 0 returns
 * the photo, 1 the preset as trained, up to 1.25 beyond it. */
double ns_preset_strength (double alpha, double beta);

G_END_DECLS

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
 * computed from guide_lo.  When x is not the photo's size, the finish
 * brings it up against the guide (the full-size photo, moved by the colour
 * map when mapped), read a band at a time; with preserve_colors the photo
 * gives back its chroma. */
typedef struct
{
  NsPlanes *x;
  NsPlanes *guide_lo;
  gboolean  mapped;
  double    map[9], off[3];
} NsStylizeWork;

/* Rows per band of img (its band_rows, else NS_BAND_ROWS). */
int       ns_stylize_band_rows     (const NsImageBands *img);
/* The photo (through w's colour map when w and w->mapped) resized to
 * h x w, with ns_planes_resized's sums (halve) or ns_resize's, read a band
 * at a time. */
NsPlanes *ns_stylize_photo_resized (const NsImageBands *img, const NsStylizeWork *w,
                                    int h, int ww, gboolean halve,
                                    const NsProgress *pr, GError **error);
/* The photo's colour mean and covariance: ns_colour_stats of its planes
 * (about a million samples), read a band at a time. */
gboolean  ns_stylize_photo_stats   (const NsImageBands *img, double mean[3],
                                    double cov[9], const NsProgress *pr, GError **error);

/* Any picture as the style (stylize_image.c): colours matched, then the
 * optimiser's pyramid at the working size (p->size, default
 * NS_OPTIMISE_SIZE). */
gboolean ns_stylize_image_path  (const NsParams *p, const NsImageBands *img,
                                 const NsProgress *progress, NsStylizeWork *out,
                                 GError **error);

/* A preset of model (stylize_preset.c): the generator (taken from the
 * model and given back), its palette, and p->iterations refinement steps
 * of the optimiser. */
gboolean ns_stylize_preset_path (const NsParams *p, NsPresetModel *model,
                                 const NsImageBands *img, const NsProgress *progress,
                                 NsStylizeWork *out, GError **error);

/* The generator's strength for a content and a style weight, in [0, 1]:
 * 0 returns the photo, 1 (alpha <= beta) the preset as trained. */
double ns_preset_strength (double alpha, double beta);

G_END_DECLS

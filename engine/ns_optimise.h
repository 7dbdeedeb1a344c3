/* The optimiser: an image moved towards a style's patch statistics while
 * it keeps a content's structure, on planes (engine/optimise.c). */
#pragma once
#include <glib.h>
#include "ns_imgproc.h"
#include "ns_params.h"
#include "ns_progress.h"

G_BEGIN_DECLS

/* the any-image path's working long side when p->size is 0; also the size
 * a preset's result is refined at */
#define NS_OPTIMISE_SIZE 512

typedef enum
{
  NS_OPTIMISE_PYRAMID,   /* coarse to fine: up to 3 stages, each twice the
                            size of the one before, p->iterations steps each
                            (0 = 100) */
  NS_OPTIMISE_REFINE,    /* at content's size only, p->iterations steps */
} NsOptimiseMode;

/* The image optimised from content (3 planes at the working size, also
 * the content target) towards style (3 planes, any size) with p's weights,
 * loss, optimiser and seed: a new image of content's size, or NULL with
 * NS_ERROR_NO_MEMORY or NS_ERROR_CANCELLED (progress is polled every step). */
NsPlanes *ns_optimise (const NsParams *p, NsOptimiseMode mode,
                       const NsPlanes *content, const NsPlanes *style,
                       const NsProgress *progress, GError **error);

G_END_DECLS

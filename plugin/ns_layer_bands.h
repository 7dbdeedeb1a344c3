/* A region of a drawable as the engine's bands (NsImageBands), for both
 * GIMPs: rows read from the drawable's buffer in a float format, the
 * results written into a buffer of the plug-in's own in the drawable's
 * format, so the run holds neither the region as floats nor a change to
 * the drawable until the caller copies the result in. */
#pragma once
#include <gegl.h>
#include "ns_image.h"

G_BEGIN_DECLS

typedef struct
{
  GeglBuffer   *src;      /* the drawable's */
  GeglBuffer   *result;   /* ours: rect in the drawable's own format */
  const Babl   *format;   /* the float format the engine reads and writes */
  GeglRectangle rect;
} NsLayerBands;

/* Reads rect of src (a reference is taken) as format, which has channels
 * channels; results go to a new buffer in result_format.  bands points at
 * lb, which must outlive it. */
void ns_layer_bands_init  (NsLayerBands *lb, NsImageBands *bands, GeglBuffer *src,
                           const GeglRectangle *rect, const Babl *format, int channels,
                           const Babl *result_format);
/* Copies the part inner of the result into dst (the same format). */
void ns_layer_bands_copy  (const NsLayerBands *lb, const GeglRectangle *inner,
                           GeglBuffer *dst);
void ns_layer_bands_clear (NsLayerBands *lb);

G_END_DECLS

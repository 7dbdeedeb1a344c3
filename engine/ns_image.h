/* The image every front end hands to the engine: interleaved float pixels,
 * non-linear (sRGB-encoded, as GEGL's "R'G'B'A float") values in [0, 1]. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Largest image the engine accepts: 2^27 pixels (e.g. 16384 x 8192). */
#define NS_IMAGE_MAX_PIXELS (1u << 27)

typedef struct
{
  int    width, height;
  int    channels;          /* 1 Y, 2 YA, 3 RGB, 4 RGBA */
  float *data;              /* width * height * channels floats, row-major */
} NsImage;

/* NULL with NS_ERROR_INVALID_ARGUMENT for a bad size or channel count,
 * NS_ERROR_TOO_LARGE above NS_IMAGE_MAX_PIXELS, NS_ERROR_NO_MEMORY. Zeroed. */
NsImage *ns_image_new  (int width, int height, int channels, GError **error);
NsImage *ns_image_copy (const NsImage *img, GError **error);
void     ns_image_free (NsImage *img);

/* FALSE with NS_ERROR_TRUNCATED (the message names name) when data is a
 * PNG or JPEG file that ends before its last chunk or marker: decoders
 * return such a file's missing part as a flat colour, some without any
 * error.  Other formats pass. */
gboolean ns_image_data_check_complete (const guint8 *data, gsize len,
                                       const char *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsImage, ns_image_free)

G_END_DECLS

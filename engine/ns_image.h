/* The image every front end hands to the engine: interleaved float pixels,
 * non-linear (sRGB-encoded, as GEGL's "R'G'B'A float") values in [0, 1],
 * whole (NsImage) or a band of rows at a time (NsImageBands). */
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

/* The full-size rows the engine reads or writes at a time, unless told
 * otherwise: its full-size work takes memory for this many rows, not for
 * the image (GIMP's tiles are 64 rows high). */
#define NS_BAND_ROWS 64

/* An image the engine reads and writes a band of rows at a time, so the
 * caller keeps it as it likes (8-bit, a GEGL buffer) and no full-size
 * float copy is made.  read fills buf with rows y0 .. y0 + n - 1 as an
 * NsImage's data (n * width * channels floats, interleaved, non-linear, in
 * [0, 1]), and is called for every band several times (a pass each for
 * the colour statistics, the working size and the finish); write hands
 * back the same rows stylized, the colour channels replaced and the alpha
 * as read.  band_rows: rows per call at most, 0 for NS_BAND_ROWS. */
typedef struct
{
  int      width, height, channels;
  int      band_rows;
  void   (*read)  (gpointer data, int y0, int n, float *buf);
  void   (*write) (gpointer data, int y0, int n, const float *buf);
  gpointer data;
} NsImageBands;

/* Whole images as bands: rows read from src and written into dst (the
 * same size as src; it may be src).  The bands keep a pointer to rows,
 * which must outlive them. */
typedef struct
{
  const NsImage *src;
  NsImage       *dst;
} NsImageRows;
NsImageBands ns_image_rows_bands (NsImageRows *rows, int band_rows);

G_END_DECLS

/* Image files in and out through gdk-pixbuf, for the neural-style command
 * and the plug-in's style files: 8-bit RGB(A) pixels become NsImage floats
 * in [0, 1] and back. */
#pragma once
#include <glib.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include "ns_image.h"

G_BEGIN_DECLS

typedef enum { NS_IMAGE_FILE_PNG, NS_IMAGE_FILE_JPEG } NsImageFileFormat;

/* The output format for a file name, from its extension (.png, .jpg, .jpeg,
 * any case); FALSE with NS_ERROR_INVALID_ARGUMENT for anything else. */
gboolean ns_image_file_format (const char *path, NsImageFileFormat *format,
                                 GError **error);

/* Loads any format gdk-pixbuf reads, honouring the EXIF orientation.  The
 * result has 4 channels when the file has alpha and keep_alpha is TRUE,
 * 3 otherwise (a grey file comes back as RGB).  Every error names the file:
 * NS_ERROR_IO (cannot open), NS_ERROR_TOO_LARGE (refused from the header,
 * before any pixel is decoded), NS_ERROR_TRUNCATED (a PNG or JPEG that ends
 * early), NS_ERROR_FORMAT (anything else the decoder refuses). */
NsImage *ns_image_file_load (const char *path, gboolean keep_alpha,
                            GError **error);
/* The decoding alone, with the same checks and orientation: the file's
 * pixbuf, for a caller that converts its pixels itself. */
GdkPixbuf *ns_image_file_decode (const char *path, GError **error);
GdkPixbuf *ns_image_file_decode_data (const guint8 *data, gsize len, const char *name,
                                      guint64 max_pixels, GError **error);
/* The same from bytes in memory; name is the file name for the messages,
 * and images above max_pixels (at most NS_IMAGE_MAX_PIXELS) are refused.
 * The fuzz target tests/fuzz/fuzz-image.c calls this. */
NsImage *ns_image_file_load_data (const guint8 *data, gsize len, const char *name,
                                 gboolean keep_alpha, guint64 max_pixels,
                                 GError **error);

/* Replaces path with contents atomically: a temporary file in the same
 * folder, fsync, rename.  On any failure, or when *cancel is raised before
 * the rename, the old file is left as it was and no temporary remains
 * (NS_ERROR_IO, NS_ERROR_CANCELLED). */
gboolean ns_file_replace (const char *path, const gchar *contents, gsize len,
                              const volatile gint *cancel, GError **error);

/* FALSE with NS_ERROR_IO naming path when its folder is missing or not
 * writable, so a long run does not end in a failed save. */
gboolean ns_check_output_dir (const char *path, GError **error);

/* Saves 3 or 4 channel images through ns_file_replace; JPEG has no
 * alpha, so it is dropped there. */
gboolean ns_image_file_save (const NsImage *img, const char *path,
                            NsImageFileFormat format, const volatile gint *cancel,
                            GError **error);

/* A decoded picture (ns_image_file_decode) as an image the engine reads and
 * writes a band at a time (ns_stylize_bands): its rows read as
 * ns_image_file_load's floats (alpha kept), written back into its own
 * 8-bit pixels as ns_image_file_save rounds them, alpha bytes untouched.
 * bands points at pixbuf, which must outlive it.  FALSE (NS_ERROR_FORMAT,
 * naming name) for pixels other than 8-bit RGB(A). */
gboolean ns_image_file_bands (GdkPixbuf *pixbuf, const char *name, NsImageBands *bands,
                              GError **error);
/* Saves an 8-bit RGB(A) picture as ns_image_file_save does. */
gboolean ns_image_file_save_pixbuf (GdkPixbuf *pixbuf, const char *path,
                                    NsImageFileFormat format,
                                    const volatile gint *cancel, GError **error);

G_END_DECLS

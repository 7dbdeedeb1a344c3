/* Image files in and out of the CLI through gdk-pixbuf: 8-bit RGB(A) pixels
 * become NsImage floats in [0, 1] and back. */
#pragma once
#include <glib.h>
#include "ns_image.h"

G_BEGIN_DECLS

typedef enum { NS_CLI_FORMAT_PNG, NS_CLI_FORMAT_JPEG } NsCliFormat;

/* The output format for a file name, from its extension (.png, .jpg, .jpeg,
 * any case); FALSE with NS_ERROR_INVALID_ARGUMENT for anything else. */
gboolean ns_cli_format_for_path (const char *path, NsCliFormat *format,
                                 GError **error);

/* Loads any format gdk-pixbuf reads, honouring the EXIF orientation.  The
 * result has 4 channels when the file has alpha and keep_alpha is TRUE,
 * 3 otherwise (a grey file comes back as RGB). */
NsImage *ns_cli_image_load (const char *path, gboolean keep_alpha,
                            GError **error);

/* Saves 3 or 4 channel images; JPEG has no alpha, so it is dropped there. */
gboolean ns_cli_image_save (const NsImage *img, const char *path,
                            NsCliFormat format, GError **error);

G_END_DECLS

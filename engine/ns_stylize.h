/* The one entry point every front end (plug-in, dialog preview, CLI,
 * Script-Fu through the plug-in) calls to stylize an image. */
#pragma once
#include <glib.h>
#include "ns_image.h"
#include "ns_params.h"
#include "ns_progress.h"

G_BEGIN_DECLS

/* Stylizes img in place: colour channels are replaced, alpha is left exactly
 * as it was, a grey image stays grey.  The progress callback is called and
 * *cancel polled at least every 0.5 s; a raised cancel returns FALSE with
 * NS_ERROR_CANCELLED and img untouched.  On any error img is untouched.
 * The engine keeps no pointer from p or img after it returns. */
gboolean ns_stylize (const NsParams *p, NsImage *img,
                     NsProgressFunc progress, gpointer progress_data,
                     const volatile gint *cancel, GError **error);

/* The same on an image the caller keeps as it likes, read and written a
 * band of rows at a time (ns_image.h): the run holds no full-size float
 * copy, and its result is ns_stylize's to the bit, whatever the band.
 * Every row is written once, in order, at the end of the run; on an error
 * before that nothing is written, but a cancel during the writing leaves
 * the rows written so far, so write into a copy the caller can drop (the
 * command's decoded picture, a GEGL buffer) rather than into the original. */
gboolean ns_stylize_bands (const NsParams *p, const NsImageBands *img,
                           NsProgressFunc progress, gpointer progress_data,
                           const volatile gint *cancel, GError **error);

G_END_DECLS

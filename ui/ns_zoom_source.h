/* The dialogs' preview source: shared by the GIMP 2.10 (GTK+ 2) and the
 * GIMP 3 (GTK 3) dialog, compiled against each one's libgimpui. */
#ifndef NS_ZOOM_SOURCE_H
#define NS_ZOOM_SOURCE_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include "ns_image.h"

/* The zoom preview's pixels at its current zoom and position as the
 * engine's image (8-bit gray, gray+alpha, RGB or RGBA: 1 to 4 channels);
 * NULL when the preview has none yet (error unset) or they cannot be
 * converted (error set). */
NsImage *ns_zoom_preview_source (GimpZoomPreview *preview, GError **error);

#endif

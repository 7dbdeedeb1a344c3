/* The dialogs' preview source (ns_zoom_source.h). */
#include "ns_zoom_source.h"
#include "ns_preview.h"

NsImage *
ns_zoom_preview_source (GimpZoomPreview *preview, GError **error)
{
  gint    width, height, bpp;
  guchar *pixels = gimp_zoom_preview_get_source (preview, &width, &height, &bpp);
  if (!pixels)
    return NULL;
  NsImage *img = ns_preview_image_from_bytes (pixels, width, height, bpp, error);
  g_free (pixels);
  return img;
}

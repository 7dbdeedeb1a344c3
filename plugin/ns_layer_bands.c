#include "ns_layer_bands.h"

static void
layer_read (gpointer data, int y0, int n, float *buf)
{
  NsLayerBands *lb = data;
  gegl_buffer_get (lb->src, GEGL_RECTANGLE (lb->rect.x, lb->rect.y + y0, lb->rect.width, n),
                   1.0, lb->format, buf, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
}

static void
layer_write (gpointer data, int y0, int n, const float *buf)
{
  NsLayerBands *lb = data;
  /* babl's float -> drawable conversion, as a set on the drawable's own
   * buffer would do it; the copy into the drawable is then exact */
  gegl_buffer_set (lb->result,
                   GEGL_RECTANGLE (lb->rect.x, lb->rect.y + y0, lb->rect.width, n), 0,
                   lb->format, buf, GEGL_AUTO_ROWSTRIDE);
}

void
ns_layer_bands_init (NsLayerBands *lb, NsImageBands *bands, GeglBuffer *src,
                     const GeglRectangle *rect, const Babl *format, int channels,
                     const Babl *result_format)
{
  lb->src = g_object_ref (src);
  lb->result = gegl_buffer_new (rect, result_format);
  lb->format = format;
  lb->rect = *rect;
  /* GIMP's tiles are 64 rows high: NS_BAND_ROWS */
  *bands = (NsImageBands) { rect->width, rect->height, channels, 0, layer_read,
                            layer_write, lb };
}

void
ns_layer_bands_copy (const NsLayerBands *lb, const GeglRectangle *inner, GeglBuffer *dst)
{
  gegl_buffer_copy (lb->result, inner, GEGL_ABYSS_NONE, dst, inner);
}

void
ns_layer_bands_clear (NsLayerBands *lb)
{
  g_clear_object (&lb->src);
  g_clear_object (&lb->result);
}

#include "ns_image.h"
#include "ns_error.h"
#include <string.h>

NsImage *
ns_image_new (int width, int height, int channels, GError **error)
{
  if (width < 1 || height < 1 || channels < 1 || channels > 4)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "Invalid image size %d x %d with %d channels",
                   width, height, channels);
      return NULL;
    }
  if ((guint64) width * height > NS_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                   "Image of %d x %d pixels is larger than the %u megapixels supported",
                   width, height, NS_IMAGE_MAX_PIXELS >> 20);
      return NULL;
    }
  gsize n = (gsize) width * height * channels;
  float *data = g_try_malloc0_n (n, sizeof (float));
  if (!data)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "Out of memory for a %d x %d image", width, height);
      return NULL;
    }
  NsImage *img = g_new (NsImage, 1);
  *img = (NsImage) { width, height, channels, data };
  return img;
}

NsImage *
ns_image_copy (const NsImage *img, GError **error)
{
  NsImage *copy = ns_image_new (img->width, img->height, img->channels, error);
  if (copy)
    memcpy (copy->data, img->data,
            sizeof (float) * img->width * img->height * img->channels);
  return copy;
}

void
ns_image_free (NsImage *img)
{
  if (!img)
    return;
  g_free (img->data);
  g_free (img);
}

/* A complete PNG ends its chunks with IEND, a complete JPEG its
 * entropy-coded data with EOI; decoders fill what is missing silently. */
static gboolean
png_is_complete (const guint8 *d, gsize len)
{
  gsize pos = 8;   /* the signature */
  while (len - pos >= 12)
    {
      guint32 n = (guint32) d[pos] << 24 | (guint32) d[pos + 1] << 16 |
                  (guint32) d[pos + 2] << 8 | d[pos + 3];
      if (memcmp (d + pos + 4, "IEND", 4) == 0)
        return TRUE;
      if (n > len - pos - 12)
        return FALSE;
      pos += 12 + (gsize) n;
    }
  return FALSE;
}

static gboolean
jpeg_is_complete (const guint8 *d, gsize len)
{
  gsize pos = 2;   /* SOI */
  while (pos + 1 < len)
    {
      if (d[pos] != 0xFF)
        return FALSE;
      guint8 marker = d[pos + 1];
      if (marker == 0xFF)            /* fill byte */
        {
          pos++;
          continue;
        }
      if (marker == 0xD9)            /* EOI */
        return TRUE;
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
        {
          pos += 2;                  /* markers without a length */
          continue;
        }
      if (len - pos < 4)
        return FALSE;
      gsize seg = (gsize) d[pos + 2] << 8 | d[pos + 3];
      if (seg < 2 || seg > len - pos - 2)
        return FALSE;
      pos += 2 + seg;
      if (marker != 0xDA)            /* SOS: entropy-coded data follows */
        continue;
      /* to the next marker: FF 00 is a stuffed byte, FF D0..D7 a restart */
      while (pos + 1 < len && !(d[pos] == 0xFF && d[pos + 1] != 0x00 &&
                                 !(d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7)))
        pos++;
    }
  return FALSE;
}

gboolean
ns_image_data_check_complete (const guint8 *data, gsize len, const char *name,
                              GError **error)
{
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  const char *format = NULL;
  if (len >= 8 && memcmp (data, png_magic, 8) == 0 && !png_is_complete (data, len))
    format = "PNG";
  else if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF
           && !jpeg_is_complete (data, len))
    format = "JPEG";
  if (!format)
    return TRUE;
  g_set_error (error, NS_ERROR, NS_ERROR_TRUNCATED,
               "'%s' is truncated or corrupt: its %s data ends early", name, format);
  return FALSE;
}

static void
image_rows_read (gpointer data, int y0, int n, float *buf)
{
  const NsImage *img = ((NsImageRows *) data)->src;
  gsize row = (gsize) img->width * img->channels;
  memcpy (buf, img->data + y0 * row, sizeof (float) * n * row);
}

static void
image_rows_write (gpointer data, int y0, int n, const float *buf)
{
  NsImage *img = ((NsImageRows *) data)->dst;
  gsize row = (gsize) img->width * img->channels;
  memcpy (img->data + y0 * row, buf, sizeof (float) * n * row);
}

NsImageBands
ns_image_rows_bands (NsImageRows *rows, int band_rows)
{
  const NsImage *img = rows->src;
  return (NsImageBands) { img->width, img->height, img->channels, band_rows,
                          image_rows_read, image_rows_write, rows };
}

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

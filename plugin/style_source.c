/* Turns the plug-in's style string into what NsParams needs.  Style images
 * are read with gdk-pixbuf, so any format it knows works without creating a
 * GIMP image. */
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "ns_config.h"
#include "ns_error.h"
#include "style_source.h"

static NsImage *
image_from_pixbuf (GdkPixbuf *pixbuf, GError **error)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  const guchar *pixels = gdk_pixbuf_read_pixels (pixbuf);
  NsImage *img;

  if (gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || n_channels < 3)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "unsupported pixel layout");
      return NULL;
    }
  img = ns_image_new (width, height, 3, error);
  if (!img)
    return NULL;
  /* The style's alpha is ignored: only its colours and textures matter. */
  for (int y = 0; y < height; y++)
    {
      const guchar *row = pixels + (gsize) y * stride;
      float *out = img->data + (gsize) y * width * 3;

      for (int x = 0; x < width; x++)
        for (int c = 0; c < 3; c++)
          out[x * 3 + c] = row[x * n_channels + c] / 255.0f;
    }
  return img;
}

static gchar *
name_without_extension (const gchar *path)
{
  gchar *base = g_path_get_basename (path);
  gchar *dot = strrchr (base, '.');

  if (dot && dot != base)
    *dot = '\0';
  return base;
}

gboolean
ns_style_source_load (NsStyleSource *src, const gchar *style, GError **error)
{
  GError *local_error = NULL;

  memset (src, 0, sizeof *src);
  if (!style || !*style)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: empty; give a preset name or an image file");
      return FALSE;
    }

  if (g_file_test (style, G_FILE_TEST_IS_REGULAR))
    {
      GdkPixbuf *pixbuf = gdk_pixbuf_new_from_file (style, &local_error);

      if (pixbuf)
        {
          src->image = image_from_pixbuf (pixbuf, &local_error);
          g_object_unref (pixbuf);
        }
      if (!src->image)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                       "style: cannot read '%s' as an image: %s",
                       style, local_error->message);
          g_clear_error (&local_error);
          return FALSE;
        }
      src->name = name_without_extension (style);
      return TRUE;
    }

  /* Not a file: a preset name, which must not smuggle in a path. */
  if (strchr (style, G_DIR_SEPARATOR) || g_str_has_prefix (style, "."))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: no such image file '%s'", style);
      return FALSE;
    }
  {
    gchar *file = g_strconcat (style, ".nsw", NULL);

    src->weights_path = g_build_filename (NS_WEIGHTS_DIR, file, NULL);
    g_free (file);
  }
  if (!g_file_test (src->weights_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: '%s' is neither an image file nor a preset "
                   "(no %s)", style, src->weights_path);
      ns_style_source_clear (src);
      return FALSE;
    }
  src->preset = g_strdup (style);
  src->name = g_strdup (style);
  return TRUE;
}

void
ns_style_source_clear (NsStyleSource *src)
{
  g_clear_pointer (&src->preset, g_free);
  g_clear_pointer (&src->weights_path, g_free);
  g_clear_pointer (&src->image, ns_image_free);
  g_clear_pointer (&src->name, g_free);
}

/* Turns the plug-in's style strings into what NsParams needs.  Style files
 * are decoded as the command's images are (imagefile/: size limit,
 * truncation, EXIF orientation), so any format gdk-pixbuf knows works
 * without creating a GIMP image (and from the preview's worker thread);
 * layers through GEGL. */
#include <string.h>

#include <libgimp/gimp.h>

#include "ns_error.h"
#include "ns_image_file.h"
#include "ns_presets.h"
#include "ns_settings.h"
#include "ns_style_source.h"

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
  /* The style's alpha is ignored: only its colours and textures matter.
   * Divided as babl converts a layer's 8-bit pixels, so that a layer and
   * the same picture as a file are the same style to the last bit. */
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

/* The layer's GIMP calls: ids in GIMP 2.10, objects in GIMP 3. */
#if GIMP_MAJOR_VERSION < 3
typedef gint32 Layer;
#define layer_get(id)           ((gimp_item_is_valid (id) && gimp_item_is_layer (id)) ? (id) : -1)
#define layer_found(l)          ((l) >= 0)
#define layer_width(l)          gimp_drawable_width (l)
#define layer_height(l)         gimp_drawable_height (l)
#define layer_buffer(l)         gimp_drawable_get_buffer (l)
#define layer_name(l)           gimp_item_get_name (l)
#else
typedef GimpDrawable *Layer;
#define layer_get(id)           (GIMP_IS_LAYER (gimp_item_get_by_id (id)) ? GIMP_DRAWABLE (gimp_item_get_by_id (id)) : NULL)
#define layer_found(l)          ((l) != NULL)
#define layer_width(l)          gimp_drawable_get_width (l)
#define layer_height(l)         gimp_drawable_get_height (l)
#define layer_buffer(l)         gimp_drawable_get_buffer (l)
#define layer_name(l)           gimp_item_get_name (GIMP_ITEM (l))
#endif

NsImage *
ns_style_source_read_layer (gint32 layer_id, GError **error)
{
  Layer       layer = layer_get (layer_id);
  GeglBuffer *buffer;
  NsImage    *img;
  gint        width, height;

  if (!layer_found (layer))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: layer:%d is not a layer of an open image",
                   layer_id);
      return NULL;
    }
  width = layer_width (layer);
  height = layer_height (layer);
  img = ns_image_new (width, height, 3, error);
  if (!img)
    return NULL;
  /* babl turns grayscale, indexed and any precision into the RGB floats
   * the engine reads; the layer's alpha is dropped as an image file's. */
  buffer = layer_buffer (layer);
  gegl_buffer_get (buffer, GEGL_RECTANGLE (0, 0, width, height), 1.0,
                   babl_format ("R'G'B' float"), img->data,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return img;
}

static gboolean
load_file (NsStyleSource *src, const gchar *style, GError **error)
{
  GError    *local_error = NULL;
  GdkPixbuf *pixbuf = ns_image_file_decode (style, &local_error);

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

static gboolean
load_presets (NsStyleSource *src, const gchar *style, const gchar *style2,
              GError **error)
{
  g_autoptr (NsPreset) first = NULL;
  g_autoptr (NsPreset) second = NULL;
  GError *local_error = NULL;

  /* A preset name must not smuggle in a path. */
  if (strchr (style, G_DIR_SEPARATOR) || g_str_has_prefix (style, ".")
      || !(first = ns_presets_find (NULL, style, &local_error)))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: '%s' is neither an image file, a layer:ID nor a "
                   "preset in %s", style, ns_presets_dir ());
      g_clear_error (&local_error);
      return FALSE;
    }
  if (style2 && *style2)
    {
      second = ns_presets_find (NULL, style2, &local_error);
      if (!second)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                       "style2: '%s' is not a preset in %s", style2,
                       ns_presets_dir ());
          g_clear_error (&local_error);
          return FALSE;
        }
      /* Mixing blends the norm rows of one network. */
      if (g_strcmp0 (first->file, second->file) != 0)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                       "style2: '%s' is in another weights file than '%s'; "
                       "only presets of one file can be mixed", style2, style);
          return FALSE;
        }
      src->preset2 = g_strdup (style2);
    }
  src->model = ns_preset_model_open (first->file, error);
  if (!src->model)
    return FALSE;
  src->preset = g_strdup (style);
  src->name = src->preset2 ? g_strdup_printf ("%s + %s", style, style2)
                           : g_strdup (style);
  return TRUE;
}

gboolean
ns_style_source_load (NsStyleSource *src, const gchar *style,
                      const gchar *style2, GError **error)
{
  gint32   layer_id;
  gboolean ok;

  memset (src, 0, sizeof *src);
  if (!style || !*style)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: empty; give a preset name, an image file or "
                   "layer:ID");
      return FALSE;
    }
  if (style2 && *style2
      && (ns_style_parse_layer (style, NULL)
          || g_file_test (style, G_FILE_TEST_IS_REGULAR)))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style2: only a preset can be mixed with another; "
                   "style '%s' is not a preset", style);
      return FALSE;
    }

  if (ns_style_parse_layer (style, &layer_id))
    {
      src->image = ns_style_source_read_layer (layer_id, error);
      if (!src->image)
        return FALSE;
      src->name = layer_name (layer_get (layer_id));
      return TRUE;
    }
  if (g_str_has_prefix (style, NS_STYLE_LAYER_PREFIX))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style: '%s' is not layer:ID with ID a layer's number",
                   style);
      return FALSE;
    }
  ok = g_file_test (style, G_FILE_TEST_IS_REGULAR)
       ? load_file (src, style, error)
       : load_presets (src, style, style2, error);
  if (!ok)
    ns_style_source_clear (src);
  return ok;
}

void
ns_style_source_clear (NsStyleSource *src)
{
  g_clear_pointer (&src->preset, g_free);
  g_clear_pointer (&src->preset2, g_free);
  g_clear_pointer (&src->model, ns_preset_model_unref);
  g_clear_pointer (&src->image, ns_image_free);
  g_clear_pointer (&src->name, g_free);
}

void
ns_style_source_to_ns_params (const NsStyleSource *src, NsParams *p)
{
  p->preset = src->preset;
  p->preset2 = src->preset2;
  p->model = src->model;
  p->style_image = src->image;
}

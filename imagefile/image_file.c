#include "ns_image_file.h"
#include "png_encode.h"
#include "ns_error.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ns_image_file_format (const char *path, NsImageFileFormat *format, GError **error)
{
  const char *dot = strrchr (path, '.');
  if (dot && g_ascii_strcasecmp (dot, ".png") == 0)
    *format = NS_IMAGE_FILE_PNG;
  else if (dot && (g_ascii_strcasecmp (dot, ".jpg") == 0 ||
                   g_ascii_strcasecmp (dot, ".jpeg") == 0))
    *format = NS_IMAGE_FILE_JPEG;
  else
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "output '%s' must end in .png, .jpg or .jpeg", path);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct
{
  guint64  max_pixels;
  int      width, height;  /* as the header declares them */
  gboolean refused;
} SizeCheck;

/* Called by each loader once the header is read, before any pixel is
 * decoded or allocated: a size of 0 x 0 makes the loader stop there. */
static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  SizeCheck *check = data;
  check->width = width;
  check->height = height;
  if (width < 1 || height < 1 || (guint64) width * height > check->max_pixels)
    {
      check->refused = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
    }
}

/* FALSE (NS_ERROR_FORMAT, naming name) unless pixbuf holds 8-bit RGB(A)
 * pixels as every reader here expects them. */
static gboolean
pixbuf_check (GdkPixbuf *pixbuf, const char *name, GError **error)
{
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "'%s' is not an 8-bit RGB image after decoding", name);
      return FALSE;
    }
  int width = gdk_pixbuf_get_width (pixbuf);
  int src_channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  if (src_channels != (gdk_pixbuf_get_has_alpha (pixbuf) ? 4 : 3)
      || stride < width * src_channels)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "'%s' decodes to an unexpected pixel layout", name);
      return FALSE;
    }
  return TRUE;
}

/* rows y0 .. y0 + n - 1 of an 8-bit pixbuf as floats in [0, 1], the first
 * channels of each pixel */
static void
pixbuf_rows_to_floats (GdkPixbuf *pixbuf, int y0, int n, int channels, float *dst)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int src_channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  const guchar *pixels = gdk_pixbuf_read_pixels (pixbuf);
  for (int y = y0; y < y0 + n; y++)
    {
      const guchar *src = pixels + (gsize) y * stride;
      float *d = dst + (gsize) (y - y0) * width * channels;
      if (channels == src_channels)   /* every byte: one loop, vectorised */
        for (gsize i = 0; i < (gsize) width * channels; i++)
          d[i] = src[i] * (1.0f / 255.0f);
      else
        for (int x = 0; x < width; x++)
          for (int c = 0; c < channels; c++)
            d[x * channels + c] = src[x * src_channels + c] * (1.0f / 255.0f);
    }
}

/* pixels of an 8-bit RGB(A) pixbuf as floats in [0, 1] */
static NsImage *
image_from_pixbuf (GdkPixbuf *pixbuf, const char *name, gboolean keep_alpha,
                   GError **error)
{
  if (!pixbuf_check (pixbuf, name, error))
    return NULL;
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  gboolean has_alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  int channels = (keep_alpha && has_alpha) ? 4 : 3;
  g_autoptr (GError) local = NULL;
  NsImage *img = ns_image_new (width, height, channels, &local);
  if (!img)
    {
      g_set_error (error, NS_ERROR, local->code, "'%s': %s", name, local->message);
      return NULL;
    }

  pixbuf_rows_to_floats (pixbuf, 0, height, channels, img->data);
  return img;
}

GdkPixbuf *
ns_image_file_decode_data (const guint8 *data, gsize len, const char *name,
                           guint64 max_pixels, GError **error)
{
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  SizeCheck check = { .max_pixels = MIN (max_pixels, NS_IMAGE_MAX_PIXELS) };
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);

  /* In chunks, so a refused header stops the reading at once. */
  g_autoptr (GError) local = NULL;
  gboolean ok = TRUE;
  for (gsize pos = 0; ok && pos < len && !check.refused; )
    {
      gsize n = MIN (len - pos, (gsize) 1 << 16);
      ok = gdk_pixbuf_loader_write (loader, data + pos, n, &local);
      pos += n;
    }
  /* close even after an error: the loader warns when finalized unclosed */
  gboolean closed = gdk_pixbuf_loader_close (loader, ok ? &local : NULL);
  if (check.refused)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                   "'%s' is %d x %d pixels; at most %" G_GUINT64_FORMAT
                   " pixels are supported", name, check.width, check.height,
                   check.max_pixels);
      return NULL;
    }
  /* gdk-pixbuf's incremental PNG and JPEG loaders return a picture for a
   * truncated file without any error (the missing rows blank or grey), or
   * fail with a message that does not say why */
  if (!ns_image_data_check_complete (data, len, name, error))
    return NULL;
  GdkPixbuf *raw = ok && closed ? gdk_pixbuf_loader_get_pixbuf (loader) : NULL;
  if (!raw)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "'%s' is not an image this program can read%s%s", name,
                   local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  /* Photos from cameras are often stored sideways with an EXIF tag. */
  GdkPixbuf *pixbuf = gdk_pixbuf_apply_embedded_orientation (raw);
  if (!pixbuf)
    g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                 "out of memory while reading '%s'", name);
  return pixbuf;
}

NsImage *
ns_image_file_load_data (const guint8 *data, gsize len, const char *name,
                         gboolean keep_alpha, guint64 max_pixels, GError **error)
{
  g_autoptr (GdkPixbuf) pixbuf = ns_image_file_decode_data (data, len, name, max_pixels,
                                                            error);
  return pixbuf ? image_from_pixbuf (pixbuf, name, keep_alpha, error) : NULL;
}

GdkPixbuf *
ns_image_file_decode (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  /* mapped, not read: a refused header then costs no more than its pages */
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (!file)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return ns_image_file_decode_data ((const guint8 *) g_mapped_file_get_contents (file),
                                    g_mapped_file_get_length (file), path,
                                    NS_IMAGE_MAX_PIXELS, error);
}

NsImage *
ns_image_file_load (const char *path, gboolean keep_alpha, GError **error)
{
  g_autoptr (GdkPixbuf) pixbuf = ns_image_file_decode (path, error);
  return pixbuf ? image_from_pixbuf (pixbuf, path, keep_alpha, error) : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static guchar
to_byte (float v)
{
  /* NaN and out-of-range values from a misbehaving engine still give a
   * valid pixel rather than undefined conversion behaviour. */
  if (!(v > 0.0f))
    return 0;
  if (v >= 1.0f)
    return 255;
  /* lrintf's rounding (to nearest, ties to even) without a call per value:
   * at 2^23 a float has no fraction bits left (the same byte for every
   * float in (0, 1), checked exhaustively) */
  return (guchar) (int) (v * 255.0f + 0x1p23f - 0x1p23f);
}

static gboolean
write_all (int fd, const gchar *buf, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
ns_check_output_dir (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (access (dir, W_OK | X_OK) == 0)
    return TRUE;
  g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot write '%s': %s", path,
               g_strerror (errno));
  return FALSE;
}

gboolean
ns_file_replace (const char *path, const gchar *contents, gsize len,
                     const volatile gint *cancel, GError **error)
{
  /* A temporary file in the same folder, renamed over path only when it
   * is complete: the old file survives a failed write (disk full) or a
   * signal, and of two concurrent writers one whole file wins. */
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot create a file next to "
                   "'%s': %s", path, g_strerror (errno));
      return FALSE;
    }
  /* g_mkstemp makes it 0600; a saved image gets the umask's usual mode */
  mode_t mask = umask (0);
  umask (mask);
  gboolean ok = fchmod (fd, 0666 & ~mask) == 0 && write_all (fd, contents, len)
                && fsync (fd) == 0;
  int saved = errno;
  ok = close (fd) == 0 && ok;
  if (!ok || (cancel && g_atomic_int_get (cancel)))
    {
      unlink (tmp);
      if (ok)
        g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "cancelled");
      else
        g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot write '%s': %s",
                     path, g_strerror (saved ? saved : errno));
      return FALSE;
    }
  if (rename (tmp, path) != 0)
    {
      saved = errno;
      unlink (tmp);
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot write '%s': %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* ---- a decoded picture as the engine's bands --------------------------- */

static void
bands_read (gpointer data, int y0, int n, float *buf)
{
  GdkPixbuf *pixbuf = data;
  pixbuf_rows_to_floats (pixbuf, y0, n, gdk_pixbuf_get_n_channels (pixbuf), buf);
}

static void
bands_write (gpointer data, int y0, int n, const float *buf)
{
  GdkPixbuf *pixbuf = data;
  int width = gdk_pixbuf_get_width (pixbuf);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  for (int y = y0; y < y0 + n; y++)
    {
      const float *src = buf + (gsize) (y - y0) * width * channels;
      guchar *dst = pixels + (gsize) y * stride;
      /* the alpha byte stays as it was */
      for (int x = 0; x < width; x++)
        for (int c = 0; c < 3; c++)
          dst[x * channels + c] = to_byte (src[x * channels + c]);
    }
}

gboolean
ns_image_file_bands (GdkPixbuf *pixbuf, const char *name, NsImageBands *bands,
                     GError **error)
{
  if (!pixbuf_check (pixbuf, name, error))
    return FALSE;
  *bands = (NsImageBands) { gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf),
                            gdk_pixbuf_get_n_channels (pixbuf), 0, bands_read, bands_write,
                            pixbuf };
  return TRUE;
}

gboolean
ns_image_file_save_pixbuf (GdkPixbuf *pixbuf, const char *path, NsImageFileFormat format,
                           const volatile gint *cancel, GError **error)
{
  g_autofree gchar *buffer = NULL;
  gsize len = 0;
  gboolean ok;
  if (format == NS_IMAGE_FILE_JPEG)
    ok = gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "jpeg", error,
                                    "quality", "95", NULL);
  else
    /* on every core, zlib level 1 (png_encode.c): a megapixel result in
     * ~40 ms against gdk-pixbuf's 87 ms CPU at level 1 and 131 at 3 */
    ok = (buffer = (gchar *) ns_png_encode (gdk_pixbuf_read_pixels (pixbuf),
                                            gdk_pixbuf_get_width (pixbuf),
                                            gdk_pixbuf_get_height (pixbuf),
                                            gdk_pixbuf_get_n_channels (pixbuf),
                                            gdk_pixbuf_get_rowstride (pixbuf), &len,
                                            error)) != NULL;
  return ok && ns_file_replace (path, buffer, len, cancel, error);
}

gboolean
ns_image_file_save (const NsImage *img, const char *path, NsImageFileFormat format,
                   const volatile gint *cancel, GError **error)
{
  if (img->channels != 3 && img->channels != 4)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "cannot save an image with %d channels", img->channels);
      return FALSE;
    }
  g_autoptr (GdkPixbuf) pixbuf =
    gdk_pixbuf_new (GDK_COLORSPACE_RGB, img->channels == 4, 8,
                    img->width, img->height);
  if (!pixbuf)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "out of memory for a %d x %d output image",
                   img->width, img->height);
      return FALSE;
    }

  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  gsize row_len = (gsize) img->width * img->channels;
  for (int y = 0; y < img->height; y++)
    {
      const float *src = img->data + (gsize) y * row_len;
      guchar *dst = pixels + (gsize) y * stride;
      for (gsize i = 0; i < row_len; i++)
        dst[i] = to_byte (src[i]);
    }
  return ns_image_file_save_pixbuf (pixbuf, path, format, cancel, error);
}

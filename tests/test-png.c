/* The PNG writer (imagefile/png_encode.c): its files decode, through
 * gdk-pixbuf's own PNG loader, to exactly the pixels written, for RGB and
 * RGBA, sizes with fewer rows than parts, odd widths and padded rows; the
 * bytes do not depend on anything but the pixels; bad input is an error. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>
#include "ns_error.h"
#include "png_encode.h"

static void
round_trip (int width, int height, int channels, int pad)
{
  const int rowstride = width * channels + pad;
  g_autofree guint8 *pixels = g_malloc ((gsize) rowstride * height);
  guint32 s = (guint32) (width * 7919 + height * 31 + channels);
  for (gsize i = 0; i < (gsize) rowstride * height; i++)
    {
      s = s * 1664525u + 1013904223u;   /* noise, and smooth parts too */
      pixels[i] = (i / 97) % 3 ? (guint8) (s >> 24) : (guint8) (i % 251);
    }
  g_autoptr (GError) error = NULL;
  gsize len = 0, len2 = 0;
  g_autofree guint8 *png = ns_png_encode (pixels, width, height, channels, rowstride,
                                          &len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (png);
  g_autofree guint8 *again = ns_png_encode (pixels, width, height, channels, rowstride,
                                            &len2, &error);
  g_assert_cmpmem (png, len, again, len2);

  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type ("png", &error);
  g_assert_no_error (error);
  g_assert_true (gdk_pixbuf_loader_write (loader, png, len, &error));
  g_assert_true (gdk_pixbuf_loader_close (loader, &error));
  g_assert_no_error (error);
  GdkPixbuf *got = gdk_pixbuf_loader_get_pixbuf (loader);
  g_assert_cmpint (gdk_pixbuf_get_width (got), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (got), ==, height);
  g_assert_cmpint (gdk_pixbuf_get_n_channels (got), ==, channels);
  const guint8 *gp = gdk_pixbuf_read_pixels (got);
  g_test_message ("%dx%d, %d channels, %d bytes of padding: %zu bytes", width, height,
                  channels, pad, len);
  for (int y = 0; y < height; y++)
    g_assert_cmpmem (gp + (gsize) y * gdk_pixbuf_get_rowstride (got), (gsize) width * channels,
                     pixels + (gsize) y * rowstride, (gsize) width * channels);
}

static void
test_round_trip (void)
{
  static const int sizes[][2] = { { 1, 1 }, { 1, 3 }, { 5, 2 }, { 17, 4 }, { 33, 5 },
                                  { 300, 211 }, { 1155, 97 } };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int channels = 3; channels <= 4; channels++)
      for (int pad = 0; pad <= 3; pad += 3)
        round_trip (sizes[i][0], sizes[i][1], channels, pad);
}

static void
test_bad_channels (void)
{
  guint8 px[8] = { 0 };
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_null (ns_png_encode (px, 2, 2, 2, 4, &len, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/png/round-trip", test_round_trip);
  g_test_add_func ("/png/bad-channels", test_bad_channels);
  return g_test_run ();
}

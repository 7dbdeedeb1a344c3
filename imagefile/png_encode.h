/* An 8-bit RGB (channels 3) or RGBA (4) image as PNG file bytes, zlib
 * level 1, encoded on several threads (png_encode.c).  NULL with
 * NS_ERROR_NO_MEMORY when memory runs out; free the bytes with g_free. */
#pragma once
#include <glib.h>

guint8 *ns_png_encode (const guint8 *pixels, int width, int height, int channels,
                       int rowstride, gsize *len, GError **error);

/* Where the style comes from: a preset in a .nsw file or any image file. */
#pragma once
#include <glib.h>
#include "ns_image.h"

G_BEGIN_DECLS

typedef struct
{
  gchar   *preset;        /* preset name, or NULL with a style image */
  gchar   *weights_path;  /* .nsw file holding the preset, or NULL */
  NsImage *image;         /* the style picture (RGB), or NULL with a preset */
  gchar   *name;          /* short name for the new layer */
} NsStyleSource;

/* Resolves style: an existing file is loaded as the style image; a bare name
 * must be a preset NS_WEIGHTS_DIR/NAME.nsw.  On failure error says why, in
 * words naming the "style" parameter. */
gboolean ns_style_source_load  (NsStyleSource *src, const gchar *style,
                                GError **error);
void     ns_style_source_clear (NsStyleSource *src);

G_END_DECLS

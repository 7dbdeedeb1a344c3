/* Where the style comes from: the plug-in's style strings (ns_settings.h)
 * resolved into what NsParams needs.  Shared by the plug-in's final run and
 * the dialog's preview, so both paint with the same style. */
#pragma once
#include <glib.h>

#include "ns_image.h"
#include "ns_stylize.h"

G_BEGIN_DECLS

typedef struct
{
  gchar         *preset;   /* preset name, or NULL with a style image */
  gchar         *preset2;  /* second preset to mix, or NULL */
  NsPresetModel *model;    /* the presets' generator, or NULL */
  NsImage       *image;    /* the style picture (RGB), or NULL with a preset */
  gchar         *name;     /* short name for the new layer */
} NsStyleSource;

/* Resolves style (a preset name, an image file or layer:ID) and style2
 * ("" / NULL or a preset of the same weights file as style).  A layer is
 * read through GEGL, so that case needs libgimp and the plug-in's main
 * thread; presets and files may be resolved from any thread.  On failure
 * error says why, naming the parameter ("style: ...", "style2: ..."), and
 * src holds nothing. */
gboolean ns_style_source_load  (NsStyleSource *src, const gchar *style,
                                const gchar *style2, GError **error);
/* The pixels of layer layer_id as an RGB style image (main thread only). */
NsImage *ns_style_source_read_layer (gint32 layer_id, GError **error);
void     ns_style_source_clear (NsStyleSource *src);

/* Points the style fields of p at src (which must outlive p's use). */
void     ns_style_source_to_ns_params (const NsStyleSource *src, NsParams *p);

G_END_DECLS

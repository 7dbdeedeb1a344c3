/* The plug-in's settings and the plain dialog that edits them.  The struct is
 * stored with gimp_set_data, so it holds no pointers. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NS_STYLE_MAX 4096   /* longest style name or path, with its NUL */

typedef struct
{
  gchar    style[NS_STYLE_MAX];  /* preset name or path of a style image */
  gdouble  alpha;                /* content weight */
  gdouble  beta;                 /* style weight */
  gint32   refine_iterations;    /* 0 = the engine's default */
  gboolean preserve_colors;
  gint32   seed;
  gboolean new_layer;            /* add a layer instead of replacing pixels */
} NsPlugValues;

/* Fills values with the defaults a first run starts from. */
void     ns_plug_values_init (NsPlugValues *values);

/* Shows the modal dialog (gimp_ui_init must have run).  TRUE when the user
 * pressed OK; values then hold the edited settings.  FALSE leaves them as
 * they were. */
gboolean ns_dialog_run (NsPlugValues *values);

G_END_DECLS

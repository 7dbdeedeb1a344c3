/* The Neural Style dialog for GIMP 3 (GTK 3, GimpProcedureDialog): the
 * 2.10 dialog's controls on the procedure's config, and a live preview from
 * the shared preview worker (ui/ns_preview.h), off the main loop. */
#pragma once
#include <libgimp/gimp.h>

G_BEGIN_DECLS

/* Shows the modal dialog for drawable (gimp_ui_init must have run); the
 * widgets edit config.  TRUE when the user pressed OK.
 *
 * One debug line per preview drawn (G_MESSAGES_DEBUG=NeuralStyle:
 * "preview_ms MS width W height H SETTINGS"), as the 2.10 dialog's, so a
 * test can tell that the preview has filled. */
gboolean ns_dialog3_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                         GimpDrawable *drawable);

G_END_DECLS

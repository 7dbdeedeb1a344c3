/* The Neural Style dialog: style picker (presets with thumbnails, an image
 * file or a layer, a second preset to blend in), weights, seed, output mode
 * and a live preview computed off the main loop (ns_preview.h).  The
 * settings it edits are NsPlugValues (ns_settings.h). */
#pragma once
#include <glib.h>

#include "ns_settings.h"

G_BEGIN_DECLS

/* Shows the modal dialog for drawable (gimp_ui_init must have run).
 * values are the starting settings (e.g. the last run's, clamped).
 * TRUE when the user pressed OK; values then hold exactly the settings the
 * preview was painted with.  FALSE leaves them as they were.
 *
 * The debug log (G_MESSAGES_DEBUG=NeuralStyle) gets one line per preview
 * drawn ("preview_ms MS width W height H SETTINGS": milliseconds from the
 * change that asked for it to the pixels drawn) and one per progress
 * update shown ("progress FRACTION STAGE"). */
gboolean ns_dialog_run (NsPlugValues *values, gint32 drawable);

G_END_DECLS

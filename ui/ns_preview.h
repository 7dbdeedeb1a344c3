/* The preview worker: runs ns_stylize on the preview's pixels in a thread of
 * its own, so the dialog never waits for the engine.
 *
 * The main thread submits jobs; each submit bumps a generation counter and
 * raises the cancel flag of the job in flight (the engine polls it at least
 * every 0.5 s), and a job still waiting is replaced.  Results and progress
 * come back to the main loop through g_idle_add and are dropped there when
 * their generation is no longer the current one, so a stale preview is
 * never drawn.  No GTK here: only GLib, gdk-pixbuf and the engine, so the
 * GIMP 2.10 (GTK+ 2) and GIMP 3 (GTK 3) dialogs share this file and the
 * helpers at its end. */
#pragma once
#include <glib.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "ns_image.h"
#include "ns_settings.h"

G_BEGIN_DECLS

typedef struct NsPreviewWorker NsPreviewWorker;

typedef struct
{
  NsPlugValues values;        /* exactly what is painted */
  NsImage     *content;       /* the preview's pixels; the job owns it */
  NsImage    **layer_style;   /* with a layer:ID style: its pixels, read on
                                 the main thread (g_atomic_rc_box, shared
                                 between jobs); NULL otherwise */
  guint        generation;    /* set by submit */
  gint64       submitted_us;  /* g_get_monotonic_time () at submit */
} NsPreviewJob;

/* Main thread, only for the current generation.  result (the stylized
 * content, owned by the callee) is NULL when error is set. */
typedef void (*NsPreviewResultFunc) (const NsPreviewJob *job, NsImage *result,
                                     const GError *error, gpointer data);
/* Main thread, only for the current generation. */
typedef void (*NsPreviewProgressFunc) (double fraction, const char *stage,
                                       gpointer data);

/* Starts the worker thread.  data must live until ns_preview_worker_free. */
NsPreviewWorker *ns_preview_worker_new (NsPreviewResultFunc result,
                                        NsPreviewProgressFunc progress,
                                        gpointer data);

/* A job with a copy of values and content (the caller keeps its own) and
 * a new reference to layer_style (may be NULL). */
NsPreviewJob *ns_preview_job_new (const NsPlugValues *values,
                                  const NsImage *content,
                                  NsImage **layer_style, GError **error);

/* Takes job; it replaces any waiting job and cancels the one in flight.
 * Returns the job's generation. */
guint ns_preview_worker_submit (NsPreviewWorker *worker, NsPreviewJob *job);

/* Drops the waiting job, cancels the running one, and makes every result
 * still on its way stale. */
void  ns_preview_worker_cancel (NsPreviewWorker *worker);

/* Cancels, waits for the thread (at most one engine poll interval), and
 * frees the worker.  No callback runs after this returns. */
void  ns_preview_worker_free (NsPreviewWorker *worker);

/* A shared, reference-counted style image for NsPreviewJob.layer_style:
 * takes image. */
NsImage **ns_shared_image_new   (NsImage *image);
NsImage **ns_shared_image_ref   (NsImage **shared);
void      ns_shared_image_unref (NsImage **shared);

/* ---- what both dialogs do around the worker ---- */

/* The preview's 8-bit pixels (gray, gray+alpha, RGB or RGBA: bpp 1-4, as
 * gimp_zoom_preview_get_source gives them) as the engine's floats. */
NsImage *ns_preview_image_from_bytes (const guchar *pixels, int width, int height,
                                      int bpp, GError **error);
/* A result back to 8-bit pixels for gimp_preview_draw_buffer; g_free. */
guchar  *ns_preview_image_to_bytes   (const NsImage *img);
/* The debug log's line per preview drawn (G_MESSAGES_DEBUG=NeuralStyle):
 * the milliseconds from the change that asked for it to the pixels drawn,
 * the preview's size and its settings. */
void     ns_preview_log_drawn        (const NsPreviewJob *job, const NsImage *result,
                                      double ms);
/* A preset's thumbnail scaled to fit size x size, its aspect kept; NULL
 * without one or for a damaged one (which costs only the picture). */
GdkPixbuf *ns_preview_thumbnail      (GBytes *png, int size);

G_END_DECLS

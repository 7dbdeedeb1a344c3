/* The preview worker (see ns_preview.h for the design). */
#include <string.h>

#ifdef NS_HAVE_OPENBLAS_THREADS
#include <cblas.h>
#endif

#include "ns_error.h"
#include "ns_preview.h"
#include "ns_style_source.h"
#include "ns_stylize.h"

struct NsPreviewWorker
{
  gint                  ref_count;   /* the dialog's, plus one per idle */
  GThread              *thread;
  GMutex                lock;
  GCond                 wake;
  NsPreviewJob         *pending;     /* under lock */
  volatile gint        *running_cancel; /* the job in flight's flag; lock */
  gboolean              closing;     /* under lock */
  volatile gint         generation;  /* written by the main thread */
  gboolean              freed;       /* main thread: callbacks are over */
  int                   blas_threads; /* the count to restore, or 0 */

  NsPreviewResultFunc   result_func;
  NsPreviewProgressFunc progress_func;
  gpointer              data;

  /* Worker thread only: the last resolved preset or file style, so that
   * moving a slider does not decode the style image again. */
  gchar                *cached_key;
  NsStyleSource         cached_source;
  gboolean              cached_valid;
};

typedef struct
{
  NsPreviewWorker *worker;
  NsPreviewJob    *job;
  NsImage         *result;
  GError          *error;
} ResultIdle;

typedef struct
{
  NsPreviewWorker *worker;
  guint            generation;
  double           fraction;
  gchar           *stage;
} ProgressIdle;

typedef struct
{
  NsPreviewWorker *worker;
  guint            generation;
  double           last_fraction;
  gchar           *last_stage;
} ProgressState;

/* ---- shared style images --------------------------------------------- */

static void
shared_image_clear (gpointer shared)
{
  ns_image_free (*(NsImage **) shared);
}

NsImage **
ns_shared_image_new (NsImage *image)
{
  NsImage **shared = g_atomic_rc_box_new (NsImage *);

  *shared = image;
  return shared;
}

NsImage **
ns_shared_image_ref (NsImage **shared)
{
  return g_atomic_rc_box_acquire (shared);
}

void
ns_shared_image_unref (NsImage **shared)
{
  g_atomic_rc_box_release_full (shared, shared_image_clear);
}

/* ---- jobs ------------------------------------------------------------- */

NsPreviewJob *
ns_preview_job_new (const NsPlugValues *values, const NsImage *content,
                    NsImage **layer_style, GError **error)
{
  NsPreviewJob *job;
  NsImage      *copy = ns_image_copy (content, error);

  if (!copy)
    return NULL;
  job = g_new0 (NsPreviewJob, 1);
  job->values = *values;
  job->content = copy;
  job->layer_style = layer_style ? ns_shared_image_ref (layer_style) : NULL;
  return job;
}

static void
job_free (NsPreviewJob *job)
{
  if (!job)
    return;
  ns_image_free (job->content);
  if (job->layer_style)
    ns_shared_image_unref (job->layer_style);
  g_free (job);
}

/* ---- delivery to the main loop ----------------------------------------- */

static NsPreviewWorker *
worker_ref (NsPreviewWorker *worker)
{
  g_atomic_int_inc (&worker->ref_count);
  return worker;
}

static void
worker_unref (NsPreviewWorker *worker)
{
  if (!g_atomic_int_dec_and_test (&worker->ref_count))
    return;
  g_mutex_clear (&worker->lock);
  g_cond_clear (&worker->wake);
  g_free (worker);
}

static gboolean
is_current (NsPreviewWorker *worker, guint generation)
{
  return !worker->freed
         && generation == (guint) g_atomic_int_get (&worker->generation);
}

static gboolean
deliver_result (gpointer data)
{
  ResultIdle *idle = data;

  if (is_current (idle->worker, idle->job->generation))
    {
      idle->worker->result_func (idle->job, idle->result, idle->error,
                                 idle->worker->data);
      idle->result = NULL;   /* now the callee's */
    }
  ns_image_free (idle->result);
  g_clear_error (&idle->error);
  job_free (idle->job);
  worker_unref (idle->worker);
  g_free (idle);
  return G_SOURCE_REMOVE;
}

static gboolean
deliver_progress (gpointer data)
{
  ProgressIdle *idle = data;

  if (is_current (idle->worker, idle->generation) && idle->worker->progress_func)
    idle->worker->progress_func (idle->fraction, idle->stage,
                                 idle->worker->data);
  g_free (idle->stage);
  worker_unref (idle->worker);
  g_free (idle);
  return G_SOURCE_REMOVE;
}

/* Worker thread.  Only visible changes cross to the main loop, so a fast
 * optimiser cannot flood it with idles. */
static void
report_progress (double fraction, const char *stage, gpointer data)
{
  ProgressState *state = data;
  ProgressIdle  *idle;

  if (g_strcmp0 (stage, state->last_stage) == 0
      && fraction - state->last_fraction < 0.01 && fraction < 1.0)
    return;
  if (g_strcmp0 (stage, state->last_stage) != 0)
    {
      g_free (state->last_stage);
      state->last_stage = g_strdup (stage);
    }
  state->last_fraction = fraction;
  idle = g_new0 (ProgressIdle, 1);
  idle->worker = worker_ref (state->worker);
  idle->generation = state->generation;
  idle->fraction = fraction;
  idle->stage = g_strdup (stage);
  g_idle_add (deliver_progress, idle);
}

/* ---- the worker thread ------------------------------------------------- */

/* The style of a job: a layer's pixels come with it; presets and files are
 * resolved here, off the main loop, and kept for the next job. */
static gboolean
resolve_style (NsPreviewWorker *worker, const NsPreviewJob *job,
               NsParams *params, GError **error)
{
  const NsPlugValues *v = &job->values;
  gchar *key;

  if (job->layer_style)
    {
      if (v->style2[0])
        {
          g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                       "style2: only a preset can be mixed with another");
          return FALSE;
        }
      params->style_image = *job->layer_style;
      return TRUE;
    }
  key = g_strconcat (v->style, "\n", v->style2, NULL);
  if (!worker->cached_valid || g_strcmp0 (key, worker->cached_key) != 0)
    {
      if (worker->cached_valid)
        ns_style_source_clear (&worker->cached_source);
      worker->cached_valid = FALSE;
      g_clear_pointer (&worker->cached_key, g_free);
      if (!ns_style_source_load (&worker->cached_source, v->style, v->style2,
                                 error))
        {
          g_free (key);
          return FALSE;
        }
      worker->cached_valid = TRUE;
      worker->cached_key = key;
    }
  else
    g_free (key);
  ns_style_source_to_ns_params (&worker->cached_source, params);
  return TRUE;
}

static void
run_job (NsPreviewWorker *worker, NsPreviewJob *job, volatile gint *cancel)
{
  ProgressState progress = { worker, job->generation, -1.0, NULL };
  ResultIdle   *idle = g_new0 (ResultIdle, 1);
  NsParams      params;

  ns_params_init (&params);
  ns_plug_values_to_ns_params (&job->values, &params);
  if (resolve_style (worker, job, &params, &idle->error))
    {
      idle->result = ns_image_copy (job->content, &idle->error);
      if (idle->result
          && !ns_stylize (&params, idle->result, report_progress, &progress,
                          cancel, &idle->error))
        g_clear_pointer (&idle->result, ns_image_free);
    }
  g_free (progress.last_stage);

  idle->worker = worker_ref (worker);
  idle->job = job;
  g_idle_add (deliver_result, idle);
}

static gpointer
worker_main (gpointer data)
{
  NsPreviewWorker *worker = data;

  for (;;)
    {
      NsPreviewJob *job;
      volatile gint cancel = 0;

      g_mutex_lock (&worker->lock);
      while (!worker->pending && !worker->closing)
        g_cond_wait (&worker->wake, &worker->lock);
      if (worker->closing)
        {
          g_mutex_unlock (&worker->lock);
          break;
        }
      job = worker->pending;
      worker->pending = NULL;
      worker->running_cancel = &cancel;
      g_mutex_unlock (&worker->lock);

      run_job (worker, job, &cancel);

      g_mutex_lock (&worker->lock);
      worker->running_cancel = NULL;
      g_mutex_unlock (&worker->lock);
    }
  if (worker->cached_valid)
    ns_style_source_clear (&worker->cached_source);
  g_free (worker->cached_key);
  return NULL;
}

/* ---- the main thread's side -------------------------------------------- */

NsPreviewWorker *
ns_preview_worker_new (NsPreviewResultFunc result,
                       NsPreviewProgressFunc progress, gpointer data)
{
  NsPreviewWorker *worker = g_new0 (NsPreviewWorker, 1);

  worker->ref_count = 1;
  g_mutex_init (&worker->lock);
  g_cond_init (&worker->wake);
  worker->result_func = result;
  worker->progress_func = progress;
  worker->data = data;
#ifdef NS_HAVE_OPENBLAS_THREADS
  /* A preview's GEMMs are small: a second BLAS thread mostly spins, and on
   * a busy 2-core machine it waits for a core (256 px generator forward:
   * 72 ms on one thread, 185 ms on two with the other core loaded).  The
   * count is global, so it is restored for the plug-in's final run. */
  worker->blas_threads = openblas_get_num_threads ();
  openblas_set_num_threads (1);
#endif
  worker->thread = g_thread_new ("ns-preview", worker_main, worker);
  return worker;
}

/* Under lock: the job in flight stops at the engine's next poll. */
static void
cancel_locked (NsPreviewWorker *worker)
{
  if (worker->running_cancel)
    g_atomic_int_set (worker->running_cancel, 1);
  g_clear_pointer (&worker->pending, job_free);
}

guint
ns_preview_worker_submit (NsPreviewWorker *worker, NsPreviewJob *job)
{
  job->generation = (guint) g_atomic_int_add (&worker->generation, 1) + 1;
  job->submitted_us = g_get_monotonic_time ();
  g_mutex_lock (&worker->lock);
  cancel_locked (worker);
  worker->pending = job;
  g_cond_signal (&worker->wake);
  g_mutex_unlock (&worker->lock);
  return job->generation;
}

void
ns_preview_worker_cancel (NsPreviewWorker *worker)
{
  g_atomic_int_inc (&worker->generation);
  g_mutex_lock (&worker->lock);
  cancel_locked (worker);
  g_mutex_unlock (&worker->lock);
}

void
ns_preview_worker_free (NsPreviewWorker *worker)
{
  if (!worker)
    return;
  g_mutex_lock (&worker->lock);
  cancel_locked (worker);
  worker->closing = TRUE;
  g_cond_signal (&worker->wake);
  g_mutex_unlock (&worker->lock);
  g_thread_join (worker->thread);
#ifdef NS_HAVE_OPENBLAS_THREADS
  if (worker->blas_threads > 0)
    openblas_set_num_threads (worker->blas_threads);
#endif
  /* idles still queued hold references; they see freed and drop */
  worker->freed = TRUE;
  worker_unref (worker);
}

/* ---- what both dialogs do around the worker ---- */

NsImage *
ns_preview_image_from_bytes (const guchar *pixels, int width, int height, int bpp,
                             GError **error)
{
  NsImage *img = ns_image_new (width, height, bpp, error);
  if (img)
    for (gsize i = 0, n = (gsize) width * height * bpp; i < n; i++)
      img->data[i] = pixels[i] / 255.0f;
  return img;
}

guchar *
ns_preview_image_to_bytes (const NsImage *img)
{
  gsize n = (gsize) img->width * img->height * img->channels;
  guchar *pixels = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    pixels[i] = (guchar) (CLAMP (img->data[i], 0.0f, 1.0f) * 255.0f + 0.5f);
  return pixels;
}

void
ns_preview_log_drawn (const NsPreviewJob *job, const NsImage *result, double ms)
{
  gchar  number[G_ASCII_DTOSTR_BUF_SIZE];
  gchar *settings = ns_plug_values_describe (&job->values);

  g_debug ("preview_ms %s width %d height %d %s",
           g_ascii_formatd (number, sizeof number, "%.1f", ms),
           result->width, result->height, settings);
  g_free (settings);
}

GdkPixbuf *
ns_preview_thumbnail (GBytes *png, int size)
{
  if (!png)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (png, &len);
  GdkPixbufLoader *loader = gdk_pixbuf_loader_new ();
  GdkPixbuf *pixbuf = NULL, *scaled = NULL;
  if (gdk_pixbuf_loader_write (loader, data, len, NULL)
      && gdk_pixbuf_loader_close (loader, NULL))
    pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  else
    gdk_pixbuf_loader_close (loader, NULL);
  if (pixbuf)
    {
      int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
      double scale = (double) size / MAX (w, h);
      scaled = gdk_pixbuf_scale_simple (pixbuf, MAX (1, (int) (w * scale + 0.5)),
                                        MAX (1, (int) (h * scale + 0.5)),
                                        GDK_INTERP_BILINEAR);
    }
  g_object_unref (loader);
  return scaled;
}

/* The dialog's preview worker (ui/ns_preview.c) without a display: only the
 * newest job's result reaches the main loop, cancel and free stop a slow job
 * at the engine's next poll, nothing is delivered after free, errors come
 * back named, and the worker paints what ns_stylize paints. */
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "ns_blas.h"
#include "ns_error.h"
#include "ns_presets.h"
#include "ns_preview.h"
#include "ns_stylize.h"

#define PRESET "vangogh-harvest"   /* weights/presets.nsw */

typedef struct
{
  int      results;
  int      progress;
  gint32   last_seed;
  NsImage *last_image;
  gchar   *last_error;
} Seen;

static void
on_result (const NsPreviewJob *job, NsImage *result, const GError *error,
           gpointer data)
{
  Seen *seen = data;

  seen->results++;
  seen->last_seed = job->values.seed;
  g_clear_pointer (&seen->last_image, ns_image_free);
  seen->last_image = result;
  g_free (seen->last_error);
  seen->last_error = error ? g_strdup (error->message) : NULL;
}

static void
on_progress (double fraction, const char *stage, gpointer data)
{
  ((Seen *) data)->progress++;
}

static void
seen_clear (Seen *seen)
{
  g_clear_pointer (&seen->last_image, ns_image_free);
  g_clear_pointer (&seen->last_error, g_free);
}

/* Runs the main loop until *counter reaches target or seconds pass. */
static gboolean
iterate_until (const int *counter, int target, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (*counter < target && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  return *counter >= target;
}

static void
iterate_for (double seconds)
{
  int never = 0;

  iterate_until (&never, 1, seconds);
}

static NsImage *
photo (int width, int height)
{
  NsImage *img = ns_image_new (width, height, 3, NULL);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        float *p = img->data + ((gsize) y * width + x) * 3;

        p[0] = (float) x / width;
        p[1] = (float) y / height;
        p[2] = ((x / 4 + y / 4) % 2) * 0.5f + 0.25f;
      }
  return img;
}

static NsPlugValues
values_for (const char *style, gint32 seed, gint32 iterations)
{
  NsPlugValues v;

  ns_plug_values_init (&v);
  g_strlcpy (v.style, style, sizeof v.style);
  v.seed = seed;
  v.refine_iterations = iterations;
  return v;
}

static void
submit (NsPreviewWorker *worker, const NsPlugValues *v, const NsImage *content)
{
  NsPreviewJob *job = ns_preview_job_new (v, content, NULL, NULL);

  g_assert_nonnull (job);
  ns_preview_worker_submit (worker, job);
}

/* A stripe picture as a style image file: the slow optimisation path. */
static gchar *
write_style_file (void)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 32, 32);
  gchar     *dir = g_dir_make_tmp ("ns-preview-XXXXXX", NULL);
  gchar     *path = g_build_filename (dir, "stripes.png", NULL);
  guchar    *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int        stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      {
        guchar *p = pixels + y * stride + x * 3;
        gboolean on = ((x + y) / 4) % 2;

        p[0] = on ? 230 : 20;
        p[1] = 40;
        p[2] = on ? 30 : 200;
      }
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
  g_object_unref (pixbuf);
  g_free (dir);
  return path;
}

static void
remove_style_file (gchar *path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

/* Five changes in a row: one preview, the last one's. */
static void
test_newest_wins (void)
{
  Seen seen = { 0 };
  NsPreviewWorker *worker = ns_preview_worker_new (on_result, on_progress, &seen);
  g_autoptr (NsImage) content = photo (96, 64);

  for (int seed = 1; seed <= 5; seed++)
    {
      NsPlugValues v = values_for (PRESET, seed, 0);

      submit (worker, &v, content);
    }
  g_assert_true (iterate_until (&seen.results, 1, 30));
  iterate_for (0.5);   /* nothing stale may follow */
  g_assert_cmpint (seen.results, ==, 1);
  g_assert_cmpint (seen.last_seed, ==, 5);
  g_assert_null (seen.last_error);
  g_assert_nonnull (seen.last_image);
  g_assert_cmpint (seen.last_image->width, ==, 96);
  g_assert_cmpint (seen.last_image->height, ==, 64);
  ns_preview_worker_free (worker);
  seen_clear (&seen);
}

/* The worker paints exactly what a direct ns_stylize call paints. */
static void
test_same_as_stylize (void)
{
  Seen seen = { 0 };
  NsPreviewWorker *worker = ns_preview_worker_new (on_result, NULL, &seen);
  g_autoptr (NsImage) content = photo (80, 80);
  g_autoptr (NsImage) direct = ns_image_copy (content, NULL);
  NsPlugValues v = values_for (PRESET, 7, 0);
  NsParams p;

  v.alpha = 0.5;
  v.beta = 2.0;
  v.preserve_colors = TRUE;
  submit (worker, &v, content);
  g_assert_true (iterate_until (&seen.results, 1, 30));
  g_assert_null (seen.last_error);

  /* while the worker lives, with the BLAS thread count it uses */
  ns_params_init (&p);
  ns_plug_values_to_ns_params (&v, &p);
  /* the run's model, as the front ends open it before a run */
  g_autoptr (NsPreset) preset = ns_presets_find (NULL, v.style, NULL);
  g_autoptr (NsPresetModel) model = ns_preset_model_open (preset->file, NULL);
  p.preset = v.style;
  p.model = model;
  g_assert_true (ns_stylize (&p, direct, NULL, NULL, NULL, NULL));
  g_assert_cmpmem (seen.last_image->data, sizeof (float) * 80 * 80 * 3,
                   direct->data, sizeof (float) * 80 * 80 * 3);
  g_assert_true (memcmp (direct->data, content->data,
                         sizeof (float) * 80 * 80 * 3) != 0);
  ns_preview_worker_free (worker);
  seen_clear (&seen);
}

static void
test_error_named (void)
{
  Seen seen = { 0 };
  NsPreviewWorker *worker = ns_preview_worker_new (on_result, NULL, &seen);
  g_autoptr (NsImage) content = photo (16, 16);
  NsPlugValues v = values_for ("no-such-preset", 1, 0);

  submit (worker, &v, content);
  g_assert_true (iterate_until (&seen.results, 1, 30));
  g_assert_null (seen.last_image);
  g_assert_nonnull (seen.last_error);
  g_assert_true (g_str_has_prefix (seen.last_error, "style:"));
  ns_preview_worker_free (worker);
  seen_clear (&seen);
}

/* A slow job shows progress; cancel drops it, and the next job still
 * comes through; free during a slow job returns (the job would otherwise
 * run for hours) and delivers nothing afterwards. */
static void
test_cancel_and_free (void)
{
  Seen seen = { 0 };
  NsPreviewWorker *worker = ns_preview_worker_new (on_result, on_progress, &seen);
  g_autoptr (NsImage) content = photo (64, 64);
  gchar *style = write_style_file ();
  NsPlugValues slow = values_for (style, 1, NS_ITERATIONS_MAX);
  NsPlugValues fast = values_for (PRESET, 2, 0);
  gint64 start;
  double waited;

  submit (worker, &slow, content);
  g_assert_true (iterate_until (&seen.progress, 2, 30));
  ns_preview_worker_cancel (worker);
  submit (worker, &fast, content);
  g_assert_true (iterate_until (&seen.results, 1, 30));
  iterate_for (0.3);
  g_assert_cmpint (seen.results, ==, 1);
  g_assert_cmpint (seen.last_seed, ==, 2);
  g_assert_null (seen.last_error);

  seen.progress = 0;
  submit (worker, &slow, content);
  g_assert_true (iterate_until (&seen.progress, 2, 30));
  start = g_get_monotonic_time ();
  ns_preview_worker_free (worker);
  waited = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("free during a slow job took %.3f s", waited);
  g_assert_cmpfloat (waited, <, 30.0);   /* only a hang: speed is bench/'s */
  iterate_for (0.3);
  g_assert_cmpint (seen.results, ==, 1);
  remove_style_file (style);
  seen_clear (&seen);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  const char *root = g_getenv ("NS_SOURCE_ROOT");
  gchar      *weights;

  g_test_init (&argc, &argv, NULL);
  /* the development network in the source tree, whatever is installed */
  weights = g_build_filename (root ? root : "..", "weights", NULL);
  g_setenv ("NEURAL_STYLE_WEIGHTS_DIR", weights, TRUE);
  g_free (weights);

  g_test_add_func ("/preview/newest-wins", test_newest_wins);
  g_test_add_func ("/preview/same-as-stylize", test_same_as_stylize);
  g_test_add_func ("/preview/error-named", test_error_named);
  g_test_add_func ("/preview/cancel-and-free", test_cancel_and_free);
  return g_test_run ();
}

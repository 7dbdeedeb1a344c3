/* The dialog's preview: a 256x256 image through the preview worker (its
 * thread, one BLAS thread, the style cache and the ns_stylize call the
 * dialog makes), from submit to the result on the main loop: the latency
 * docs/dialog.md quotes, without GIMP.
 *
 *   bench-preview [runs=10] [preset=vangogh-harvest] [side=256]
 *
 * Reported: median of the runs after one warm-up (which loads the weights),
 * and the fastest. */
#include "bench-common.h"
#include "ns_blas.h"
#include "ns_preview.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  int    results;
  gchar *error;
} Seen;

static void
on_result (const NsPreviewJob *job, NsImage *result, const GError *error, gpointer data)
{
  Seen *seen = data;
  seen->results++;
  if (error && !seen->error)
    seen->error = g_strdup (error->message);
  ns_image_free (result);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  int runs = argc > 1 ? atoi (argv[1]) : 10;
  const char *preset = argc > 2 ? argv[2] : "vangogh-harvest";
  int side = argc > 3 ? atoi (argv[3]) : 256;
  if (runs < 1 || side < 16)
    {
      fprintf (stderr, "usage: %s [runs >= 1] [preset] [side >= 16]\n", argv[0]);
      return 2;
    }
  NsImage *content = ns_image_new (side, side, 3, NULL);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        float *p = content->data + ((gsize) y * side + x) * 3;
        p[0] = (float) x / side;
        p[1] = (float) y / side;
        p[2] = ((x / 4 + y / 4) % 2) * 0.5f + 0.25f;
      }
  NsPlugValues v;
  ns_plug_values_init (&v);
  g_strlcpy (v.style, preset, sizeof v.style);

  Seen seen = { 0 };
  NsPreviewWorker *worker = ns_preview_worker_new (on_result, NULL, &seen);
  double *t = g_new (double, runs + 1);
  for (int i = 0; i <= runs; i++)
    {
      v.seed = i;   /* a new variation each time, as Alt+V */
      int target = seen.results + 1;
      gint64 start = g_get_monotonic_time ();
      ns_preview_worker_submit (worker, ns_preview_job_new (&v, content, NULL, NULL));
      while (seen.results < target)
        g_main_context_iteration (NULL, TRUE);
      t[i] = (g_get_monotonic_time () - start) * 1e-3;
      if (seen.error)
        {
          fprintf (stderr, "preview: %s\n", seen.error);
          return 1;
        }
    }
  ns_preview_worker_free (worker);
  double med = bench_median (t + 1, runs);
  printf ("preview %dx%d, preset %s: median of %d %.1f ms (fastest %.1f, first %.1f)\n",
          side, side, preset, runs, med, t[1], t[0]);
  ns_image_free (content);
  g_free (t);
  g_free (seen.error);
  return 0;
}

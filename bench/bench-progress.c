/* Progress and cancel of one big run, as GIMP sees them (the plug-in only
 * forwards the engine's reports to gimp_progress_update): a W x H photo
 * through the any-image path (a 512 px style picture), every progress
 * report's time, the longest gap between two, and, when asked, the time
 * from raising the cancel flag to ns_stylize's return.  Synthetic pictures,
 * so no file is decoded or written: GIMP's reading and writing of the
 * layer come on top.
 *
 *   bench-progress [width=4000] [height=3000] [cancel_after_s=0: none] */
#include "bench-common.h"
#include "ns_blas.h"
#include "ns_error.h"
#include "ns_stylize.h"
#include <math.h>
#include <stdio.h>

typedef struct
{
  gint64 start, last, longest_gap;
  int    reports;
  double last_fraction;
} Reports;

static void
on_progress (double fraction, const char *stage, gpointer data)
{
  Reports *r = data;
  gint64 now = g_get_monotonic_time ();
  r->longest_gap = MAX (r->longest_gap, now - r->last);
  r->last = now;
  r->reports++;
  r->last_fraction = fraction;
}

typedef struct
{
  volatile gint flag;
  double        after_s;
  gint64        raised;
} Cancel;

static gpointer
raise_cancel (gpointer data)
{
  Cancel *c = data;
  g_usleep ((gulong) (c->after_s * 1e6));
  c->raised = g_get_monotonic_time ();
  g_atomic_int_set (&c->flag, 1);
  return NULL;
}

/* a photo-like picture: smooth shading, edges and some grain */
static NsImage *
picture (int w, int h, guint64 seed, gboolean stripes)
{
  NsImage *img = ns_image_new (w, h, 3, NULL);
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        {
          double v = stripes ? 0.5 + 0.4 * sin ((x + 2 * y) * 0.15 + c)
                             : 0.3 + 0.4 * x / w + 0.2 * (((x / 97) + (y / 89)) % 2) - 0.1 * c * y / h;
          img->data[((size_t) y * w + x) * 3 + c] =
            (float) CLAMP (v + 0.03 * (ns_rng_uniform (&rng) - 0.5), 0.0, 1.0);
        }
  return img;
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  int w = argc > 1 ? atoi (argv[1]) : 4000, h = argc > 2 ? atoi (argv[2]) : 3000;
  double cancel_after = argc > 3 ? atof (argv[3]) : 0.0;
  if (w < 16 || h < 16 || cancel_after < 0)
    {
      fprintf (stderr, "usage: %s [width>=16] [height>=16] [cancel_after_s>=0]\n", argv[0]);
      return 2;
    }
  g_autoptr (NsImage) photo = picture (w, h, 1, FALSE);
  g_autoptr (NsImage) style = picture (512, 384, 2, TRUE);
  NsParams p;
  ns_params_init (&p);
  p.style_image = style;
  Reports r = { 0 };
  Cancel c = { .after_s = cancel_after };
  GThread *canceller = cancel_after > 0 ? g_thread_new ("cancel", raise_cancel, &c) : NULL;
  g_autoptr (GError) error = NULL;
  r.start = r.last = g_get_monotonic_time ();
  gboolean ok = ns_stylize (&p, photo, on_progress, &r, &c.flag, &error);
  gint64 end = g_get_monotonic_time ();
  if (canceller)
    g_thread_join (canceller);
  r.longest_gap = MAX (r.longest_gap, end - r.last);   /* the last report to the return */
  printf ("%dx%d any-image path: %s after %.2f s, %d progress reports (last %.3f), "
          "longest gap %.3f s",
          w, h, ok ? "done" : error->message, (end - r.start) / 1e6, r.reports,
          r.last_fraction, r.longest_gap / 1e6);
  if (canceller && c.raised > end)
    printf (", done before the cancel at %.2f s", cancel_after);
  else if (canceller)
    printf (", cancel raised at %.2f s, returned %.3f s later (%s)",
            (c.raised - r.start) / 1e6, (end - c.raised) / 1e6,
            g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED) ? "cancelled" : "not cancelled");
  printf ("\n");
  return ok || g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED) ? 0 : 1;
}

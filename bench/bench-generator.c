/* The fast path's speed: the generator forward on a 1000x1000 image with a
 * trained weight file, its GFLOP (ns_generator_flops) and GFLOP/s, next to
 * cblas_sgemm on the shape of the network's widest 3x3 conv (the residual
 * blocks at 1/4 resolution) and on 1024^3.
 *
 *   bench-generator WEIGHTS.nsw [runs=3] [side=1000]
 *
 * Reported: median of the runs after one warm-up call (which plans the
 * arena), and the fastest run. */
#include "ns_blas.h"
#include "ns_generator.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *t, int n)
{
  qsort (t, n, sizeof (double), compare_doubles);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static double
time_sgemm (int m, int n, int k, int runs, double *fastest)
{
  float *a = g_new0 (float, (size_t) m * k), *b = g_new0 (float, (size_t) k * n),
        *c = g_new0 (float, (size_t) m * n);
  double *t = g_new (double, runs);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
  for (int i = 0; i < runs; i++)
    {
      gint64 start = g_get_monotonic_time ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
      t[i] = (g_get_monotonic_time () - start) * 1e-6;
    }
  double med = median (t, runs);
  *fastest = t[0];
  g_free (a);
  g_free (b);
  g_free (c);
  g_free (t);
  return med;
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s WEIGHTS.nsw [runs=3] [side=1000]\n", argv[0]);
      return 2;
    }
  int runs = argc > 2 ? atoi (argv[2]) : 3, side = argc > 3 ? atoi (argv[3]) : 1000;
  if (runs < 1 || side < 16)
    {
      fprintf (stderr, "runs must be >= 1 and side >= 16\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (NsWeights) w = ns_weights_load (argv[1], &error);
  g_autoptr (NsGenerator) g = w ? ns_generator_new_from_weights (w, &error) : NULL;
  if (!g)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  const NsGeneratorConfig *cfg = ns_generator_config (g);
  size_t len = (size_t) 3 * side * side;
  float *in = g_new (float, len), *out = g_new (float, len);
  float *mix = g_new0 (float, cfg->n_styles);
  mix[0] = 1;
  NsRng rng;
  ns_rng_init (&rng, 1);
  for (size_t j = 0; j < len; j++)
    in[j] = ns_rng_uniform (&rng);
  double *t = g_new (double, runs);
  gint64 start = g_get_monotonic_time ();
  if (!ns_generator_forward (g, out, in, mix, 1, side, side, FALSE, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  double first = (g_get_monotonic_time () - start) * 1e-6;
  for (int i = 0; i < runs; i++)
    {
      start = g_get_monotonic_time ();
      ns_generator_forward (g, out, in, mix, 1, side, side, FALSE, NULL);
      t[i] = (g_get_monotonic_time () - start) * 1e-6;
    }
  double med = median (t, runs), flop = ns_generator_flops (g, side, side);
  printf ("generator c=%d R=%d out=%d, %dx%d: %.1f GFLOP (%.1f GFLOP/MP)\n",
          cfg->base_channels, cfg->res_blocks, cfg->out_kernel, side, side,
          flop * 1e-9, flop * 1e-9 / (side * (double) side * 1e-6));
  printf ("  forward: first call %.3f s, median of %d %.3f s (fastest %.3f): "
          "%.1f GFLOP/s\n", first, runs, med, t[0], flop / med * 1e-9);
  /* the residual blocks' conv: 4c x 4c x 3x3 at 1/4 resolution */
  int c4 = 4 * cfg->base_channels, n4 = (side / 4) * (side / 4);
  double fast;
  double ts = time_sgemm (c4, n4, 9 * c4, MAX (runs, 5), &fast);
  printf ("  cblas_sgemm %dx%dx%d (a residual conv as one GEMM): %.1f GFLOP/s (fastest %.1f)\n",
          c4, n4, 9 * c4, 2.0 * c4 * n4 * 9 * c4 / ts * 1e-9, 2.0 * c4 * n4 * 9 * c4 / fast * 1e-9);
  ts = time_sgemm (1024, 1024, 1024, MAX (runs, 5), &fast);
  printf ("  cblas_sgemm 1024^3: %.1f GFLOP/s (fastest %.1f)\n",
          2.0 * 1024 * 1024 * 1024 / ts * 1e-9, 2.0 * 1024 * 1024 * 1024 / fast * 1e-9);
  g_free (in);
  g_free (out);
  g_free (mix);
  g_free (t);
  return 0;
}

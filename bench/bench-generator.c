/* The fast path's speed: the generator forward on a 1000x1000 image with a
 * trained weight file, its GFLOP (ns_generator_flops) and GFLOP/s, next to
 * cblas_sgemm on the shape of the network's widest 3x3 conv (the residual
 * blocks at 1/4 resolution) and on 1024^3; then each layer's conv forward
 * and backward (din + dw + db) on its planned shape.  Each is timed with the
 * im2col + BLAS kernels ("before"; NS_BENCH_BEFORE names another, e.g.
 * "direct") and the conv kernel in use ("after", ns_conv2d_kernel;
 * NS_CONV_KERNEL picks another), runs alternating between the two so that
 * load from other processes hits both alike.
 *
 *   bench-generator WEIGHTS.nsw [runs=3] [side=1000] [batch=1] [layers=1]
 *
 * layers=0 skips the per-layer table (the whole forward and sgemm only).
 *
 * Reported: median of the runs after one warm-up call (which plans the
 * arena), and the fastest run. */
#include "bench-common.h"
#include "ns_blas.h"
#include "ns_generator.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include "ns_ops.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
  double med = bench_median (t, runs);
  *fastest = t[0];
  g_free (a);
  g_free (b);
  g_free (c);
  g_free (t);
  return med;
}

typedef struct
{
  NsConv2dShape s;
  float *in, *w, *b, *out, *dout, *din, *dw, *db, *ws;
} Layer;

/* CPU seconds of every thread of the process: what a pass costs the
 * machine, much less sensitive to other processes' load than wall time. */
static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
time_layer (Layer *l, gboolean backward, double *wall, double *cpu)
{
  double c0 = cpu_seconds ();
  gint64 start = g_get_monotonic_time ();
  if (backward)
    ns_conv2d_backward (l->din, l->dw, l->db, l->dout, l->in, l->w, &l->s, l->ws);
  else
    ns_conv2d_forward (l->out, l->in, l->w, l->b, &l->s, l->ws);
  *wall = (g_get_monotonic_time () - start) * 1e-6;
  *cpu = cpu_seconds () - c0;
}

/* Median wall and CPU seconds of one conv pass with kernels[0] and
 * kernels[1], alternating; one warm-up call each. */
static void
time_conv (Layer *l, gboolean backward, const char *const kernels[2], int runs,
           double med[2], double med_cpu[2])
{
  double *t[2] = { g_new (double, runs), g_new (double, runs) };
  double *c[2] = { g_new (double, runs), g_new (double, runs) }, dummy;
  for (int k = 0; k < 2; k++)
    {
      ns_conv2d_set_kernel (kernels[k]);
      time_layer (l, backward, &dummy, &dummy);
    }
  for (int i = 0; i < runs; i++)
    for (int k = 0; k < 2; k++)
      {
        ns_conv2d_set_kernel (kernels[k]);
        time_layer (l, backward, &t[k][i], &c[k][i]);
      }
  for (int k = 0; k < 2; k++)
    {
      med[k] = bench_median (t[k], runs);
      med_cpu[k] = bench_median (c[k], runs);
      g_free (t[k]);
      g_free (c[k]);
    }
}

/* Each layer's conv, forward and backward, before and after. */
static void
bench_layers (NsGenerator *g, const char *const kernels[2], int runs)
{
  NsRng rng;
  ns_rng_init (&rng, 2);
  double total[2][2] = { { 0 } }, cpu[2][2] = { { 0 } }, flops = 0;
  printf ("\nPer layer: wall ms (GFLOP/s); CPU: GFLOP per CPU-second of all threads\n"
          "| layer | conv | GFLOP | forward %s | %s | speed-up | CPU %s / %s "
          "| backward %s | %s | speed-up | CPU %s / %s |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          kernels[0], kernels[1], kernels[0], kernels[1], kernels[0], kernels[1],
          kernels[0], kernels[1]);
  for (int i = 0; i < ns_generator_n_layers (g); i++)
    {
      Layer l;
      const char *name = ns_generator_layer (g, i, &l.s);
      const NsConv2dShape *s = &l.s;
      size_t in_len = (size_t) s->n * s->in_c * s->h * s->w;
      size_t out_len = (size_t) s->n * s->out_c * s->out_h * s->out_w;
      size_t w_len = (size_t) s->out_c * s->in_c * s->k * s->k;
      l.in = bench_random_floats (&rng, in_len);
      l.w = bench_random_floats (&rng, w_len);
      l.b = bench_random_floats (&rng, s->out_c);
      l.dout = bench_random_floats (&rng, out_len);
      l.out = g_new (float, out_len);
      l.din = g_new0 (float, in_len);
      l.dw = g_new0 (float, w_len);
      l.db = g_new0 (float, s->out_c);
      l.ws = g_new (float, MAX (ns_conv2d_workspace (s), 1));
      double flop = 2.0 * s->n * s->out_c * s->out_h * s->out_w * s->in_c * s->k * s->k;
      double f[2], b[2], fc[2], bc[2];
      time_conv (&l, FALSE, kernels, runs, f, fc);
      time_conv (&l, TRUE, kernels, runs, b, bc);
      char conv[64];
      g_snprintf (conv, sizeof conv, "%d→%d %dx%d%s, %dx%d", s->in_c, s->out_c,
                  s->k, s->k, s->stride == 2 ? " s2" : "", s->out_w, s->out_h);
      printf ("| %s | %s | %.2f | %.1f (%.0f) | %.1f (%.0f) | %.2fx | %.0f / %.0f "
              "| %.1f (%.0f) | %.1f (%.0f) | %.2fx | %.0f / %.0f |\n", name, conv, flop * 1e-9,
              f[0] * 1e3, flop / f[0] * 1e-9, f[1] * 1e3, flop / f[1] * 1e-9, f[0] / f[1],
              flop / fc[0] * 1e-9, flop / fc[1] * 1e-9,
              b[0] * 1e3, 2 * flop / b[0] * 1e-9, b[1] * 1e3, 2 * flop / b[1] * 1e-9,
              b[0] / b[1], 2 * flop / bc[0] * 1e-9, 2 * flop / bc[1] * 1e-9);
      for (int k = 0; k < 2; k++)
        {
          total[0][k] += f[k];
          total[1][k] += b[k];
          cpu[0][k] += fc[k];
          cpu[1][k] += bc[k];
        }
      flops += flop;
      g_free (l.in); g_free (l.w); g_free (l.b); g_free (l.dout); g_free (l.out);
      g_free (l.din); g_free (l.dw); g_free (l.db); g_free (l.ws);
    }
  printf ("| all convs | | %.2f | %.1f (%.0f) | %.1f (%.0f) | %.2fx | %.0f / %.0f "
          "| %.1f (%.0f) | %.1f (%.0f) | %.2fx | %.0f / %.0f |\n", flops * 1e-9,
          total[0][0] * 1e3, flops / total[0][0] * 1e-9,
          total[0][1] * 1e3, flops / total[0][1] * 1e-9, total[0][0] / total[0][1],
          flops / cpu[0][0] * 1e-9, flops / cpu[0][1] * 1e-9,
          total[1][0] * 1e3, 2 * flops / total[1][0] * 1e-9,
          total[1][1] * 1e3, 2 * flops / total[1][1] * 1e-9, total[1][0] / total[1][1],
          2 * flops / cpu[1][0] * 1e-9, 2 * flops / cpu[1][1] * 1e-9);
  printf ("(backward GFLOP/s count din + dw as twice the forward's work)\n");
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s WEIGHTS.nsw [runs=3] [side=1000] [batch=1] [layers=1]\n", argv[0]);
      return 2;
    }
  int runs = argc > 2 ? atoi (argv[2]) : 3, side = argc > 3 ? atoi (argv[3]) : 1000;
  int batch = argc > 4 ? atoi (argv[4]) : 1;
  gboolean layers = argc > 5 ? atoi (argv[5]) != 0 : TRUE;
  if (runs < 1 || side < 16 || batch < 1)
    {
      fprintf (stderr, "runs and batch must be >= 1 and side >= 16\n");
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
  /* before (im2col + BLAS, or $NS_BENCH_BEFORE) and after (the kernel in use) */
  const char *before = g_getenv ("NS_BENCH_BEFORE") ? g_getenv ("NS_BENCH_BEFORE") : "im2col";
  const char *const kernels[2] = { before, g_strdup (ns_conv2d_kernel ()) };
  if (!ns_conv2d_set_kernel (before) || !ns_conv2d_set_kernel (kernels[1]))
    {
      fprintf (stderr, "NS_BENCH_BEFORE=%s: unknown or not supported here\n", before);
      return 2;
    }
#ifdef OPENBLAS_VERSION
  printf ("BLAS: %s, %d threads; conv kernels: %s vs %s\n", openblas_get_config (),
          openblas_get_num_threads (), kernels[0], kernels[1]);
#endif
  gchar *load = NULL;
  if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    printf ("load average at start: %s", load);
  g_free (load);

  const NsGeneratorConfig *cfg = ns_generator_config (g);
  size_t len = (size_t) batch * 3 * side * side;
  float *in = g_new (float, len), *out = g_new (float, len);
  float *mix = g_new0 (float, cfg->n_styles);
  mix[0] = 1;
  NsRng rng;
  ns_rng_init (&rng, 1);
  for (size_t j = 0; j < len; j++)
    in[j] = ns_rng_uniform (&rng);
  double *t[2] = { g_new (double, runs), g_new (double, runs) }, first[2];
  double *c[2] = { g_new (double, runs), g_new (double, runs) };
  for (int k = 0; k < 2; k++)
    {
      ns_conv2d_set_kernel (kernels[k]);
      gint64 start = g_get_monotonic_time ();
      if (!ns_generator_forward (g, out, in, mix, batch, side, side, FALSE, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      first[k] = (g_get_monotonic_time () - start) * 1e-6;
    }
  for (int i = 0; i < runs; i++)
    for (int k = 0; k < 2; k++)
      {
        ns_conv2d_set_kernel (kernels[k]);
        double c0 = cpu_seconds ();
        gint64 start = g_get_monotonic_time ();
        ns_generator_forward (g, out, in, mix, batch, side, side, FALSE, NULL);
        t[k][i] = (g_get_monotonic_time () - start) * 1e-6;
        c[k][i] = cpu_seconds () - c0;
      }
  double flop = batch * ns_generator_flops (g, side, side), med[2];
  printf ("generator c=%d R=%d out=%d, %d x %dx%d: %.1f GFLOP (%.1f GFLOP/MP)\n",
          cfg->base_channels, cfg->res_blocks, cfg->out_kernel, batch, side, side,
          flop * 1e-9, flop * 1e-9 / (batch * side * (double) side * 1e-6));
  for (int k = 0; k < 2; k++)
    {
      med[k] = bench_median (t[k], runs);
      double med_cpu = bench_median (c[k], runs);
      printf ("  forward, %s: first call %.3f s, median of %d %.3f s (fastest %.3f): "
              "%.1f GFLOP/s; %.3f CPU-s, %.1f GFLOP per CPU-second\n", kernels[k],
              first[k], runs, med[k], t[k][0], flop / med[k] * 1e-9, med_cpu,
              flop / med_cpu * 1e-9);
    }
  /* the residual blocks' conv: 4c x 4c x 3x3 at 1/4 resolution */
  int c4 = 4 * cfg->base_channels, n4 = (side / 4) * (side / 4);
  double fast;
  double ts = time_sgemm (c4, n4, 9 * c4, MAX (runs, 5), &fast);
  printf ("  cblas_sgemm %dx%dx%d (a residual conv as one GEMM): %.1f GFLOP/s (fastest %.1f)\n",
          c4, n4, 9 * c4, 2.0 * c4 * n4 * 9 * c4 / ts * 1e-9, 2.0 * c4 * n4 * 9 * c4 / fast * 1e-9);
  ts = time_sgemm (1024, 1024, 1024, MAX (runs, 5), &fast);
  double peak = 2.0 * 1024 * 1024 * 1024 / ts;
  printf ("  cblas_sgemm 1024^3: %.1f GFLOP/s (fastest %.1f); the forward with %s "
          "at %.0f %% of it (%s: %.0f %%)\n", peak * 1e-9,
          2.0 * 1024 * 1024 * 1024 / fast * 1e-9, kernels[1], 100 * flop / med[1] / peak,
          kernels[0], 100 * flop / med[0] / peak);

  if (layers)
    bench_layers (g, kernels, runs);
  ns_conv2d_set_kernel (kernels[1]);
  g_free (in);
  g_free (out);
  g_free (mix);
  g_free (t[0]);
  g_free (t[1]);
  g_free (c[0]);
  g_free (c[1]);
  g_free ((gpointer) kernels[1]);
  return 0;
}

/* Throughput of ns_conv2d forward and backward next to cblas_sgemm's on the
 * same work, so the overhead of im2col/col2im and banding is visible.
 *
 *   bench-conv [runs] [size]      (defaults: 7 runs, 256x256)
 *
 * Layer: batch 1, 64 -> 64 channels, 3x3, stride 1, reflection padding, bias.
 * Reported: median of the runs after one warm-up run, and the fastest run.
 * GFLOP/s count the GEMM-equivalent work, 2*M*N*K per product. */
#include "bench-common.h"
#include "ns_blas.h"
#include "ns_ops.h"
#include "ns_rng.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*BenchFunc) (gpointer data);

/* Seconds per call: the median (the figure reported) and the fastest run,
 * which shows what the code does when other processes leave the cores alone. */
typedef struct
{
  double median, fastest;
} Timing;

static Timing
time_calls (BenchFunc func, gpointer data, int runs)
{
  double *t = g_new (double, runs);
  func (data); /* warm-up: page faults, OpenBLAS thread start */
  for (int i = 0; i < runs; i++)
    {
      gint64 start = g_get_monotonic_time ();
      func (data);
      t[i] = (g_get_monotonic_time () - start) * 1e-6;
    }
  Timing timing = { bench_median (t, runs), 0 };
  timing.fastest = t[0];
  g_free (t);
  return timing;
}

static void
print_rate (const char *what, double flop, Timing t)
{
  printf ("%-52s %8.2f ms  %6.1f GFLOP/s  (fastest %6.1f)\n",
          what, t.median * 1e3, flop / t.median * 1e-9, flop / t.fastest * 1e-9);
}

typedef struct
{
  NsConv2dShape s;
  float *in, *w, *b, *out, *din, *dw, *db, *dout, *ws;
} ConvBench;

static void
run_forward (gpointer data)
{
  ConvBench *c = data;
  ns_conv2d_forward (c->out, c->in, c->w, c->b, &c->s, c->ws);
}

static void
run_backward (gpointer data)
{
  ConvBench *c = data;
  ns_conv2d_backward (c->din, c->dw, c->db, c->dout, c->in, c->w, &c->s, c->ws);
}

typedef struct
{
  int m, n, k;
  float *a, *b, *c;
} GemmBench;

static void
run_gemm (gpointer data)
{
  GemmBench *g = data;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k,
               1.0f, g->a, g->k, g->b, g->n, 0.0f, g->c, g->n);
}

static void
bench_gemm (NsRng *rng, const char *what, int m, int n, int k, int runs)
{
  GemmBench g = { m, n, k, bench_random_floats (rng, (size_t) m * k),
                  bench_random_floats (rng, (size_t) k * n), g_new (float, (size_t) m * n) };
  char label[96];
  g_snprintf (label, sizeof label, "sgemm %dx%dx%d %s", m, n, k, what);
  print_rate (label, 2.0 * m * n * k, time_calls (run_gemm, &g, runs));
  g_free (g.a); g_free (g.b); g_free (g.c);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  int runs = argc > 1 ? atoi (argv[1]) : 7;
  int size = argc > 2 ? atoi (argv[2]) : 256;
  if (runs < 1 || size < 1)
    {
      fprintf (stderr, "usage: %s [runs >= 1] [size >= 1]\n", argv[0]);
      return 2;
    }
  const int channels = 64, k = 3;
  NsRng rng;
  ns_rng_init (&rng, 1);

#ifdef OPENBLAS_VERSION
  printf ("BLAS: %s, %d threads\n", openblas_get_config (), openblas_get_num_threads ());
#endif
  gchar *load = NULL;
  if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    printf ("load average at start: %s", load);
  g_free (load);

  ConvBench c;
  ns_conv2d_shape (&c.s, 1, channels, size, size, channels, k, 1, NS_PAD_REFLECT);
  size_t in_len = (size_t) channels * size * size, w_len = (size_t) channels * channels * k * k;
  size_t out_len = (size_t) channels * c.s.out_h * c.s.out_w;
  c.in = bench_random_floats (&rng, in_len);
  c.w = bench_random_floats (&rng, w_len);
  c.b = bench_random_floats (&rng, channels);
  c.dout = bench_random_floats (&rng, out_len);
  c.out = g_new (float, out_len);
  c.din = g_new0 (float, in_len);
  c.dw = g_new0 (float, w_len);
  c.db = g_new0 (float, channels);
  size_t ws_len = ns_conv2d_workspace (&c.s);
  c.ws = g_new (float, MAX (ws_len, 1));

  /* GEMM-equivalent work: forward is one [out_c x K] x [K x HW] product;
   * backward is two of the same size (dW and dcol). */
  const int K = channels * k * k, hw = c.s.out_h * c.s.out_w;
  const double fwd_flop = 2.0 * channels * hw * K;
  printf ("conv2d %dx%d, %d->%d channels, %dx%d, stride 1, reflect; median of %d runs\n",
          size, size, channels, channels, k, k, runs);
  printf ("workspace: %zu floats (%.1f MiB), one band of %zu output rows\n",
          ws_len, ws_len * 4.0 / (1 << 20), ws_len / ((size_t) K * c.s.out_w));

  print_rate ("conv2d forward", fwd_flop, time_calls (run_forward, &c, runs));
  print_rate ("conv2d backward (din + dw + db)", 2 * fwd_flop, time_calls (run_backward, &c, runs));
  bench_gemm (&rng, "(the layer as one GEMM)", channels, hw, K, runs);
  bench_gemm (&rng, "(one band: what conv2d calls)", channels, (int) (ws_len / K), K, runs);
  bench_gemm (&rng, "(square)", 1024, 1024, 1024, runs);

  g_free (c.in); g_free (c.w); g_free (c.b); g_free (c.dout); g_free (c.out);
  g_free (c.din); g_free (c.dw); g_free (c.db); g_free (c.ws);
  return 0;
}

/* The BLAS kernel every program of the project runs.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels from the CPU
 * model while the library loads.  A release older than the CPU does not know
 * the model and falls back to its SSE3 "Prescott" kernels: Debian 12's 0.3.21
 * on Raptor Lake, Sapphire and Emerald Rapids (OpenBLAS issue 4267, fixed in
 * 0.3.25) runs sgemm 2-4.5x slower than the CPU can.  ns_blas_init corrects
 * that from the CPU's own feature flags.  docs/benchmark.md has the figures. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Call first in every main(), with main's argv (NULL-terminated), before
 * anything else is opened or printed.
 *
 * When the kernel the BLAS picked by itself lacks AVX2 on a CPU that has
 * AVX2 and FMA, sets OPENBLAS_CORETYPE to the kernel the CPU's features call
 * for (SkylakeX with AVX-512, else Zen on AMD, else Haswell) and re-executes
 * the program (/proc/self/exe): OpenBLAS reads that variable only while it
 * loads, before main.  The new image keeps the pid, the arguments and the
 * open descriptors (a GIMP plug-in's pipes) and does not re-execute again.
 * Nothing happens when OPENBLAS_CORETYPE is the user's (it always wins), on
 * CPUs the BLAS knows, or with a BLAS that has one kernel only.
 *
 * Testing: with NS_BLAS_SIMULATE_FALLBACK=1 in the environment, a
 * OPENBLAS_CORETYPE stands for what the BLAS's own detection picked, so a
 * forced "Prescott" simulates the fallback on any machine.
 *
 * Returns FALSE with NS_ERROR_IO only when the re-exec failed; the program
 * can go on, on the slow kernel. */
gboolean     ns_blas_init             (char **argv, GError **error);

/* The kernel in use, e.g. "SkylakeX"; "unknown" for a BLAS that cannot
 * tell. */
const char  *ns_blas_kernel           (void);

/* The kernel this CPU calls for, or NULL without AVX2 and FMA (or off
 * x86-64): nothing to correct there. */
const char  *ns_blas_cpu_kernel       (void);

/* TRUE when kernel is one without AVX2 while the CPU has AVX2 and FMA:
 * the fallback ns_blas_init corrects. */
gboolean     ns_blas_kernel_is_generic (const char *kernel);

/* Who chose the kernel in use, for a human: "OpenBLAS's own detection",
 * "OPENBLAS_CORETYPE" or "chosen by neural-style ...". */
gchar       *ns_blas_describe_choice  (void);

/* The BLAS's build line, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...";
 * "a CBLAS" where the BLAS cannot say. */
const char  *ns_blas_config           (void);

/* Sets the number of threads the BLAS splits one call over; returns the
 * previous number.  The optimiser runs it at 1 and splits its work over
 * the cores itself (ns_parallel2). */
int          ns_blas_threads          (int n);

G_END_DECLS

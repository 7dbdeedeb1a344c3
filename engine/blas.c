/* ns_blas.h: the BLAS kernel for this CPU, corrected by a re-exec. */
#include "ns_blas.h"
#include "ns_config.h"
#include "ns_error.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef NS_HAVE_OPENBLAS
char *openblas_get_corename (void);
char *openblas_get_config (void);
int openblas_get_num_threads (void);
void openblas_set_num_threads (int n);
#endif

/* Set with OPENBLAS_CORETYPE on the re-exec: "DETECTED CHOSEN".  It tells
 * the new image that the variable is ours, not the user's, and what the
 * BLAS had picked by itself. */
#define REEXEC_VAR   "NS_BLAS_REEXEC"
#define SIMULATE_VAR "NS_BLAS_SIMULATE_FALLBACK"

/* OpenBLAS's kernels for AVX2 CPUs (its corenames): any other kernel on
 * a CPU with AVX2 and FMA is a fall-back. */
static const char *const avx2_kernels[] = {
  "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Excavator",
};

const char *
ns_blas_kernel (void)
{
#ifdef NS_HAVE_OPENBLAS
  const char *name = openblas_get_corename ();
  return name ? name : "unknown";
#else
  return "unknown";
#endif
}

const char *
ns_blas_config (void)
{
#ifdef NS_HAVE_OPENBLAS
  const char *config = openblas_get_config ();
  return config ? config : "OpenBLAS";
#else
  return "a CBLAS";
#endif
}

static gboolean
cpu_has_avx512 (void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init ();
  /* what OpenBLAS's SkylakeX kernels use; the builtins also check that the
   * OS saves the registers */
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
         && __builtin_cpu_supports ("avx512dq") && __builtin_cpu_supports ("avx512vl")
         && __builtin_cpu_supports ("avx512cd");
#else
  return FALSE;
#endif
}

const char *
ns_blas_cpu_kernel (void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    return NULL;
  /* AVX-512 on AMD too: on Zen 4 SkylakeX's sgemm is the fastest
   * (docs/benchmark.md) */
  if (cpu_has_avx512 ())
    return "SkylakeX";
  return __builtin_cpu_is ("amd") ? "Zen" : "Haswell";
#else
  return NULL;
#endif
}

gboolean
ns_blas_kernel_is_generic (const char *kernel)
{
  if (!ns_blas_cpu_kernel () || !kernel)
    return FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS (avx2_kernels); i++)
    if (g_ascii_strcasecmp (kernel, avx2_kernels[i]) == 0)
      return FALSE;
  return TRUE;
}

/* TRUE, with what the BLAS had detected by itself, when this image is the
 * result of our re-exec and OPENBLAS_CORETYPE is still the value we set. */
static gboolean
reexecuted (gchar **detected)
{
  const char *note = g_getenv (REEXEC_VAR), *coretype = g_getenv ("OPENBLAS_CORETYPE");
  const char *space = note ? strchr (note, ' ') : NULL;
  if (!space || !coretype || strcmp (space + 1, coretype) != 0)
    return FALSE;
  if (detected)
    *detected = g_strndup (note, space - note);
  return TRUE;
}

gboolean
ns_blas_init (char **argv, GError **error)
{
  if (reexecuted (NULL))
    return TRUE;
  const char *user = g_getenv ("OPENBLAS_CORETYPE");
  if (user && !g_getenv (SIMULATE_VAR))
    return TRUE;
  /* a BLAS built for one kernel ignores OPENBLAS_CORETYPE */
  if (!strstr (ns_blas_config (), "DYNAMIC_ARCH"))
    return TRUE;
  const char *kernel = ns_blas_kernel (), *want = ns_blas_cpu_kernel ();
  if (!ns_blas_kernel_is_generic (kernel))
    return TRUE;

  g_autofree gchar *user_copy = g_strdup (user);
  g_autofree gchar *note = g_strdup_printf ("%s %s", kernel, want);
  g_setenv ("OPENBLAS_CORETYPE", want, TRUE);
  g_setenv (REEXEC_VAR, note, TRUE);
  /* the file /proc/self/exe names, not argv[0] (a plug-in's need not be a
   * path) and not the link itself: the process's name (comm: ps, top, a
   * test that finds the plug-in) is the basename execv is given */
  g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  execv (self ? self : "/proc/self/exe", argv);
  int saved = errno;
  if (user_copy)
    g_setenv ("OPENBLAS_CORETYPE", user_copy, TRUE);
  else
    g_unsetenv ("OPENBLAS_CORETYPE");
  g_unsetenv (REEXEC_VAR);
  g_set_error (error, NS_ERROR, NS_ERROR_IO,
               "could not restart with the %s BLAS kernel (running on %s): %s",
               want, kernel, g_strerror (saved));
  return FALSE;
}

gchar *
ns_blas_describe_choice (void)
{
  g_autofree gchar *detected = NULL;
  if (reexecuted (&detected))
    return g_strdup_printf ("chosen by neural-style for this CPU's %s; "
                            "OpenBLAS's own detection gave %s",
                            cpu_has_avx512 () ? "AVX-512" : "AVX2 and FMA",
                            detected);
  if (g_getenv ("OPENBLAS_CORETYPE"))
    return g_strdup ("set by OPENBLAS_CORETYPE");
  return g_strdup ("OpenBLAS's own detection");
}

int
ns_blas_threads (int n)
{
#ifdef NS_HAVE_OPENBLAS
  int before = openblas_get_num_threads ();
  if (n != before)
    openblas_set_num_threads (n);
  return before;
#else
  (void) n;
  return 1;   /* a BLAS we cannot steer */
#endif
}

/* The BLAS kernel (engine/ns_blas.h): on a CPU with AVX2 the kernel in use
 * is never a generic one; a simulated fall-back of the BLAS's detection is
 * corrected by a re-exec of the same process; the user's OPENBLAS_CORETYPE
 * wins.  The child runs are this program again with --print-kernel. */
#include "ns_blas.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The CPU's kernel, or skips the test with the reason. */
static const char *
cpu_kernel_or_skip (void)
{
  const char *want = ns_blas_cpu_kernel ();
  if (!want)
    g_test_skip ("this CPU lacks AVX2 or FMA: the generic kernels are the right ones");
  return want;
}

static void
test_not_generic (void)
{
  if (!cpu_kernel_or_skip ())
    return;
  g_autofree gchar *choice = ns_blas_describe_choice ();
  g_test_message ("kernel %s (%s), CPU calls for %s", ns_blas_kernel (), choice,
                  ns_blas_cpu_kernel ());
  if (strcmp (choice, "set by OPENBLAS_CORETYPE") == 0)
    {
      g_test_skip ("OPENBLAS_CORETYPE is set by hand: the user's choice wins");
      return;
    }
  g_assert_false (ns_blas_kernel_is_generic (ns_blas_kernel ()));
}

/* Runs this program with --print-kernel in env; its one line of output is
 * "PID COMM KERNEL REEXEC-NOTE", split into fields; child_pid is the pid
 * spawned. */
static gchar **
run_child (const char *const *env_set, GPid *child_pid)
{
  gchar **envp = g_get_environ ();
  envp = g_environ_unsetenv (envp, "OPENBLAS_CORETYPE");
  envp = g_environ_unsetenv (envp, "NS_BLAS_REEXEC");
  envp = g_environ_unsetenv (envp, "NS_BLAS_SIMULATE_FALLBACK");
  for (int i = 0; env_set[i]; i += 2)
    envp = g_environ_setenv (envp, env_set[i], env_set[i + 1], TRUE);
  g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  g_assert_nonnull (self);
  char *argv[] = { self, "--print-kernel", NULL };
  int out_fd = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, child_pid, NULL, &out_fd,
                                           NULL, &error));
  g_assert_no_error (error);
  g_strfreev (envp);
  GIOChannel *ch = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (ch, TRUE);
  gchar *line = NULL;
  g_io_channel_read_to_end (ch, &line, NULL, NULL);
  g_io_channel_unref (ch);
  int status;
  g_assert_cmpint (waitpid (*child_pid, &status, 0), ==, *child_pid);
  g_spawn_close_pid (*child_pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_nonnull (line);
  g_test_message ("child: %s", g_strstrip (line));
  gchar **fields = g_strsplit (line, " ", 4);
  g_free (line);
  g_assert_cmpint (g_strv_length (fields), ==, 4);
  /* the same process under the same name (ps, top, pkill find it) */
  g_assert_cmpint (atoi (fields[0]), ==, *child_pid);
  g_assert_cmpstr (fields[1], ==, "test-blas");
  /* from here on: KERNEL NOTE */
  g_free (fields[0]);
  g_free (fields[1]);
  memmove (fields, fields + 2, 3 * sizeof *fields);
  return fields;
}

/* The BLAS's detection forced to the fall-back: the same process (pid)
 * ends up on the CPU's kernel, and says what the BLAS had picked. */
static void
test_fallback_corrected (void)
{
  const char *want = cpu_kernel_or_skip ();
  if (!want)
    return;
  const char *env[] = { "OPENBLAS_CORETYPE", "Prescott",
                        "NS_BLAS_SIMULATE_FALLBACK", "1", NULL };
  GPid pid;
  g_auto (GStrv) f = run_child (env, &pid);
  g_assert_cmpstr (f[0], ==, want);
  g_autofree gchar *note = g_strconcat ("Prescott ", want, NULL);
  g_assert_cmpstr (f[1], ==, note);
}

/* A user's OPENBLAS_CORETYPE wins, however slow. */
static void
test_user_wins (void)
{
  const char *env[] = { "OPENBLAS_CORETYPE", "Prescott", NULL };
  GPid pid;
  g_auto (GStrv) f = run_child (env, &pid);
  g_assert_cmpstr (f[0], ==, "Prescott");
  g_assert_cmpstr (f[1], ==, "-");
}

/* Nothing set: a re-exec happens only from a generic kernel. */
static void
test_known_cpu_untouched (void)
{
  const char *env[] = { NULL };
  GPid pid;
  g_auto (GStrv) f = run_child (env, &pid);
  g_assert_false (ns_blas_kernel_is_generic (f[0]));
  if (strcmp (f[1], "-") != 0)
    {
      g_auto (GStrv) note = g_strsplit (f[1], " ", 2);
      g_assert_true (ns_blas_kernel_is_generic (note[0]));
    }
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);
  if (argc == 2 && strcmp (argv[1], "--print-kernel") == 0)
    {
      /* the note's first word: what the BLAS had picked before the re-exec */
      const char *note = g_getenv ("NS_BLAS_REEXEC");
      g_autofree gchar *comm = NULL;
      g_file_get_contents ("/proc/self/comm", &comm, NULL, NULL);
      printf ("%d %s %s %s\n", (int) getpid (), comm ? g_strstrip (comm) : "?",
              ns_blas_kernel (), note ? note : "-");
      return 0;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/blas/not-generic", test_not_generic);
  g_test_add_func ("/blas/fallback-corrected", test_fallback_corrected);
  g_test_add_func ("/blas/user-wins", test_user_wins);
  g_test_add_func ("/blas/known-cpu-untouched", test_known_cpu_untouched);
  return g_test_run ();
}

/* Runs every file of tests/fuzz/corpus/ through the fuzz target as an
 * ordinary g_test, so seeds and past findings stay fixed without libFuzzer.
 * In the production build (checksums verified) a file named valid-* must
 * load and a file named bad-* must be refused; other files (found-*: inputs
 * libFuzzer found that reach loader branches the seeds miss; crash-*: any
 * past crash) only have to pass the target's own checks. */
#include "ns_error.h"
#include "ns_weights.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
replay_file (gconstpointer user_data)
{
  const char *path = user_data;
  g_autofree gchar *contents = NULL;
  gsize len;
  GError *error = NULL;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);

#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  g_autofree gchar *base = g_path_get_basename (path);
  g_autoptr (NsWeights) w = ns_weights_load_from_data ((const guint8 *) contents,
                                                       len, base, &error);
  if (g_str_has_prefix (base, "valid-"))
    g_assert_no_error (error);
  else if (g_str_has_prefix (base, "bad-"))
    {
      g_assert_null (w);
      g_assert_true (error->domain == NS_ERROR);
      g_test_message ("%s", error->message);
    }
  g_clear_error (&error);
#endif
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree gchar *dir = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", NULL);
  GError *error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);

  /* sorted, so test numbers are stable */
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      gchar *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree gchar *test = g_strdup_printf ("/fuzz/replay/%s", (char *) names->pdata[i]);
      g_ptr_array_add (paths, path);
      g_test_add_data_func (test, path, replay_file);
    }
  g_assert_cmpuint (paths->len, >=, 5);
  return g_test_run ();
}

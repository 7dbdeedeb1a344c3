/* The replay programs' shared main: every file of a corpus folder becomes
 * one g_test, in name order so test numbers are stable. */
#pragma once
#include <glib.h>
#include <string.h>

static int
replay_compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* folder under the test source dir's fuzz/, tests named prefix/FILE; at
 * least min_files must be there.  Returns g_test_run's status. */
static inline int
replay_corpus (int *argc, char ***argv, const char *folder, const char *prefix,
               guint min_files, GTestDataFunc replay_file)
{
  g_test_init (argc, argv, NULL);
  g_autofree gchar *dir = g_test_build_filename (G_TEST_DIST, "fuzz", folder, NULL);
  GError *error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, replay_compare_names);

  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      gchar *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree gchar *test = g_strdup_printf ("%s/%s", prefix, (char *) names->pdata[i]);
      g_ptr_array_add (paths, path);
      g_test_add_data_func (test, path, replay_file);
    }
  g_assert_cmpuint (paths->len, >=, min_files);
  return g_test_run ();
}

/* Runs every file of tests/fuzz/corpus/ through the fuzz target as an
 * ordinary g_test, so seeds and past findings stay fixed without libFuzzer.
 * In the production build (checksums verified) a file named valid-* must
 * load and a file named bad-* must be refused; other files (found-*: inputs
 * libFuzzer found that reach loader branches the seeds miss; crash-*: any
 * past crash) only have to pass the target's own checks. */
#include "ns_error.h"
#include "ns_arch.h"
#include "replay-corpus.h"
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

int
main (int argc, char **argv)
{
  return replay_corpus (&argc, &argv, "corpus", "/fuzz/replay", 5, replay_file);
}

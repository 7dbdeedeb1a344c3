/* Runs every file of tests/fuzz/image-corpus/ through the image fuzz target
 * (fuzz-image.c) as an ordinary g_test, and through the command's own
 * limit: valid-* must load, bad-* must be refused with an error naming the
 * file (too-large-* with NS_ERROR_TOO_LARGE, truncated-* with
 * NS_ERROR_TRUNCATED); other files (found-*, crash-*) only have to pass the
 * target's checks. */
#include "ns_image_file.h"
#include "ns_error.h"
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

  g_autofree gchar *base = g_path_get_basename (path);
  g_autoptr (NsImage) img = ns_image_file_load_data ((const guint8 *) contents, len,
                                                    base, TRUE, NS_IMAGE_MAX_PIXELS,
                                                    &error);
  if (g_str_has_prefix (base, "valid-"))
    g_assert_no_error (error);
  else if (g_str_has_prefix (base, "bad-"))
    {
      g_assert_null (img);
      g_assert_true (error->domain == NS_ERROR);
      g_assert_nonnull (strstr (error->message, base));
      if (strstr (base, "too-large"))
        g_assert_error (error, NS_ERROR, NS_ERROR_TOO_LARGE);
      if (strstr (base, "truncated"))
        g_assert_error (error, NS_ERROR, NS_ERROR_TRUNCATED);
      g_test_message ("%s", error->message);
    }
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  return replay_corpus (&argc, &argv, "image-corpus", "/fuzz/image", 8, replay_file);
}

/* libFuzzer target for the .nsw loader.  Also linked into the replay
 * driver (replay.c), which runs the committed corpus as an ordinary test.
 *
 * Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the loader skips the
 * SHA-256 comparison (a fuzzer cannot forge digests) so that mutations reach
 * the key/value, directory and architecture checks. */
#include "ns_error.h"
#include "ns_arch.h"
#include "fuzz-check.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_one (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  NsWeights *w = ns_weights_load_from_data (data, size, "fuzz.nsw", &error);
  if (!w)
    {
      /* every refusal is an NS_ERROR that names the file */
      FUZZ_CHECK (error != NULL && error->domain == NS_ERROR);
      FUZZ_CHECK (g_str_has_prefix (error->message, "fuzz.nsw: "));
      g_error_free (error);
      return;
    }
  FUZZ_CHECK (error == NULL);

  /* What loads can be described, and written back to bytes that load again
   * and write back identically (the writer's layout is canonical). */
  g_free (ns_weights_describe (w));
  GBytes *first = ns_weights_to_bytes (w, &error);
  FUZZ_CHECK (first != NULL);
  gsize len;
  const guint8 *bytes = g_bytes_get_data (first, &len);
  NsWeights *again = ns_weights_load_from_data (bytes, len, "fuzz-again.nsw", &error);
  FUZZ_CHECK (again != NULL);
  FUZZ_CHECK (ns_weights_n_tensors (again) == ns_weights_n_tensors (w));
  FUZZ_CHECK (ns_weights_n_params (again) == ns_weights_n_params (w));
  GBytes *second = ns_weights_to_bytes (again, &error);
  FUZZ_CHECK (second != NULL && g_bytes_equal (first, second));

  g_bytes_unref (second);
  g_bytes_unref (first);
  ns_weights_free (again);
  ns_weights_free (w);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check_one (data, size);
  /* Most mutations that insert or erase bytes stop at the header's
   * file_size; a second pass with it set to the real size lets them reach
   * the key/values and the directory. */
  if (size >= 40)
    {
      uint8_t *copy = g_memdup2 (data, size);
      for (int i = 0; i < 8; i++)
        copy[32 + i] = (uint8_t) ((guint64) size >> (8 * i));
      check_one (copy, size);
      g_free (copy);
    }
  return 0;
}

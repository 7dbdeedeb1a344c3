/* libFuzzer target for the image-file reading of the neural-style command
 * and the plug-in's style files (imagefile/image_file.c): the header size check, the PNG/JPEG completeness
 * checks around gdk-pixbuf's decoders, the conversion to float pixels, and
 * the engine's conversion to planes.  Also linked into replay-image.c,
 * which runs tests/fuzz/image-corpus/ as an ordinary test. */
#include "ns_image_file.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include "fuzz-check.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Small, so that every input decodes in microseconds; the cap is the same
 * code as the command's 2^27. */
#define FUZZ_MAX_PIXELS (1u << 12)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* the last byte picks whether alpha is kept, as the photo (kept) and
   * the style image (dropped) are read */
  gboolean keep_alpha = size > 0 && (data[size - 1] & 1);
  GError *error = NULL;
  NsImage *img = ns_image_file_load_data (data, size, "fuzz.img", keep_alpha,
                                         FUZZ_MAX_PIXELS, &error);
  if (!img)
    {
      /* every refusal is an NS_ERROR that names the file */
      FUZZ_CHECK (error != NULL && error->domain == NS_ERROR);
      FUZZ_CHECK (strstr (error->message, "fuzz.img") != NULL);
      g_error_free (error);
      return 0;
    }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (img->width >= 1 && img->height >= 1);
  FUZZ_CHECK ((guint64) img->width * img->height <= FUZZ_MAX_PIXELS);
  FUZZ_CHECK (img->channels == 3 || (keep_alpha && img->channels == 4));
  gsize n = (gsize) img->width * img->height * img->channels;
  for (gsize i = 0; i < n; i++)
    FUZZ_CHECK (img->data[i] >= 0.0f && img->data[i] <= 1.0f);

  NsPlanes *planes = ns_planes_from_image_rgb (img, &error);
  FUZZ_CHECK (planes != NULL && planes->c == 3 && planes->h == img->height &&
              planes->w == img->width);
  ns_planes_to_image_rgb (planes, img);
  ns_planes_free (planes);
  ns_image_free (img);
  return 0;
}

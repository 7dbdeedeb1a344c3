/* Writes the seed corpus of tests/fuzz/corpus/ (run by hand, output committed):
 *   make-corpus DIR
 * valid-* files load; bad-* files are each refused for one reason. */
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include "../weights-fixture.h"
#include <stdio.h>
#include <string.h>

#define OFF_MAJOR  8
#define OFF_DIGEST 40
#define HEADER     72

static GByteArray *
to_array (NsWeights *w)
{
  g_autoptr (GBytes) bytes = ns_weights_to_bytes (w, NULL);
  g_assert (bytes);
  GByteArray *a = g_byte_array_new ();
  g_byte_array_append (a, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return a;
}

static void
fix_checksum (GByteArray *a)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize n = 32;
  g_checksum_update (sum, a->data, OFF_DIGEST);
  g_checksum_update (sum, a->data + HEADER, a->len - HEADER);
  g_checksum_get_digest (sum, a->data + OFF_DIGEST, &n);
  g_checksum_free (sum);
}

static guint8 *
find (GByteArray *a, const char *s)
{
  gsize n = strlen (s);
  for (gsize i = 0; i + n <= a->len; i++)
    if (memcmp (a->data + i, s, n) == 0)
      return a->data + i;
  g_assert_not_reached ();
  return NULL;
}

static void
save (const char *dir, const char *name, GByteArray *a, gsize len)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_assert (g_file_set_contents (path, (const char *) a->data, len, NULL));
  printf ("%s: %" G_GSIZE_FORMAT " bytes\n", path, len);
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s DIR\n", argv[0]);
      return 2;
    }
  const char *dir = argv[1];

  g_autoptr (NsWeights) g = ns_weights_new (NS_ARCH_GENERATOR);
  ns_weights_set_int (g, "base_channels", 1);
  ns_weights_set_int (g, "res_blocks", 1);
  ns_weights_set_double (g, "content_weight", 1.5);
  ns_weights_set_string (g, "note", "seed");
  ns_weights_set_strv (g, "losses", (const char *const[]) { "swd", "adv", NULL });
  ns_weights_set_bytes (g, "blob", "\0\1", 2);
  g_assert (ns_weights_add_style (g, "mosaic", "mosaic.png", tiny_png, sizeof tiny_png, NULL));
  g_assert (ns_weights_add_style (g, "wave", NULL, NULL, 0, NULL));
  fill_tensors (g, 1);

  g_autoptr (NsWeights) d = ns_weights_new (NS_ARCH_DISCRIMINATOR);
  ns_weights_set_int (d, "base_channels", 1);
  ns_weights_set_int (d, "layers", 2);
  fill_tensors (d, 2);

  g_autoptr (GByteArray) a = to_array (g);
  save (dir, "valid-generator.nsw", a, a->len);
  g_autoptr (GByteArray) b = to_array (d);
  save (dir, "valid-discriminator.nsw", b, b->len);

  /* newer minor, a value of an unknown type (skipped) */
  g_byte_array_unref (a);
  a = to_array (g);
  a->data[10] = 9;
  guint8 *type = find (a, "note") + 4;
  type[0] = 42;
  fix_checksum (a);
  save (dir, "valid-newer-minor.nsw", a, a->len);

  g_byte_array_unref (a);
  a = to_array (g);
  a->data[3] = 'X';
  save (dir, "bad-magic.nsw", a, a->len);
  a->data[3] = 'W';
  save (dir, "bad-truncated.nsw", a, a->len - 100);
  a->data[OFF_MAJOR] = 2;
  fix_checksum (a);
  save (dir, "bad-version.nsw", a, a->len);
  a->data[OFF_MAJOR] = 1;
  a->data[a->len - 3] ^= 0x10;
  save (dir, "bad-checksum.nsw", a, a->len);
  a->data[a->len - 3] ^= 0x10;
  guint8 *dims = find (a, "enc1.weight") + 11 + 8;   /* [1][3][9][9] -> [3][1][9][9] */
  dims[0] = 3;
  dims[4] = 1;
  fix_checksum (a);
  save (dir, "bad-shape.nsw", a, a->len);

  /* a NaN, then an infinity, as the last tensor's last float */
  g_byte_array_unref (a);
  a = to_array (g);
  memcpy (a->data + a->len - 4, "\x00\x00\xc0\x7f", 4);
  fix_checksum (a);
  save (dir, "bad-nan.nsw", a, a->len);
  memcpy (a->data + a->len - 4, "\x00\x00\x80\x7f", 4);
  fix_checksum (a);
  save (dir, "bad-inf.nsw", a, a->len);
  return 0;
}

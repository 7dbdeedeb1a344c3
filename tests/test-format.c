/* The .nsw format: round trips, one test per refusal, truncation at every
 * byte and corruption of every byte.  Byte offsets follow weights/FORMAT.md. */
#include "ns_blas.h"
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include "weights-fixture.h"
#include <fcntl.h>
#include <math.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* header fields (weights/FORMAT.md) */
#define OFF_MAJOR       8
#define OFF_MINOR       10
#define OFF_DATA_OFFSET 24
#define OFF_FILE_SIZE   32
#define OFF_DIGEST      40
#define HEADER_SIZE     72

static gchar *tmpdir;

/* A generator with random tensors; every value type is used once. */
static NsWeights *
make_generator (int c, int res_blocks, guint64 seed)
{
  NsWeights *w = ns_weights_new (NS_ARCH_GENERATOR);
  GError *error = NULL;

  ns_weights_set_int (w, "base_channels", c);
  ns_weights_set_int (w, "res_blocks", res_blocks);
  ns_weights_set_double (w, "learning_rate", -1.25e-4);
  ns_weights_set_string (w, "note", "trained on CPU, \xc3\xa9t\xc3\xa9 2026");
  ns_weights_set_strv (w, "losses", (const char *const[]) { "swd", "adv", "", NULL });
  ns_weights_set_bytes (w, "blob", "\0\1\2\0", 4);
  g_assert_true (ns_weights_add_style (w, "mosaic", "mosaic.jpg (CC0)",
                                       tiny_png, sizeof tiny_png, &error));
  g_assert_no_error (error);
  g_assert_true (ns_weights_add_style (w, "wave", NULL, NULL, 0, &error));
  g_assert_no_error (error);

  fill_tensors (w, seed);
  return w;
}

/* the bytes of a small valid file, as a mutable copy */
static guint8 *
valid_file (gsize *len)
{
  g_autoptr (NsWeights) w = make_generator (2, 1, 7);
  GError *error = NULL;
  GBytes *bytes = ns_weights_to_bytes (w, &error);
  g_assert_no_error (error);
  return g_bytes_unref_to_data (bytes, len);
}

/* what a writer would store as the digest of the (patched) bytes */
static void
fix_checksum (guint8 *data, gsize len)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize n = 32;
  g_checksum_update (sum, data, OFF_DIGEST);
  g_checksum_update (sum, data + HEADER_SIZE, len - HEADER_SIZE);
  g_checksum_get_digest (sum, data + OFF_DIGEST, &n);
  g_checksum_free (sum);
}

static void
put_le32 (guint8 *p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static void
put_le64 (guint8 *p, guint64 v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

/* just past the first occurrence of str */
static gsize
after (const guint8 *data, gsize len, const char *str)
{
  gsize n = strlen (str);
  for (gsize i = 0; i + n <= len; i++)
    if (memcmp (data + i, str, n) == 0)
      return i + n;
  g_assert_not_reached ();
  return 0;
}

/* where a length-prefixed name (key or tensor) is stored, just past the name */
static gsize
after_name (const guint8 *data, gsize len, const char *name)
{
  gsize n = strlen (name);
  for (gsize i = 4; i + n <= len; i++)
    if (memcmp (data + i, name, n) == 0 && data[i - 4] == n && !data[i - 3]
        && !data[i - 2] && !data[i - 1])
      return i + n;
  g_assert_not_reached ();
  return 0;
}

/* Writes data to a file, loads it, and checks the exact error code and
 * that the message names the file. */
static void
assert_load_fails (const guint8 *data, gsize len, NsError code)
{
  g_autofree gchar *path = g_build_filename (tmpdir, "refused.nsw", NULL);
  GError *error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) data, len, NULL));
  NsWeights *w = ns_weights_load (path, &error);
  g_assert_null (w);
  g_assert_error (error, NS_ERROR, (int) code);
  if (!strstr (error->message, path))
    g_error ("message does not name %s: %s", path, error->message);
  g_test_message ("refused as expected: %s", error->message);
  g_error_free (error);
}

static void
assert_tensors_equal (const NsWeights *a, const NsWeights *b)
{
  g_assert_cmpint (ns_weights_n_tensors (a), ==, ns_weights_n_tensors (b));
  for (int i = 0; i < ns_weights_n_tensors (a); i++)
    {
      const char *name = ns_weights_tensor_name (a, i);
      int da[4], db[4], na, nb;
      const float *x = ns_weights_tensor (a, name, da, &na);
      const float *y = ns_weights_tensor (b, name, db, &nb);
      g_assert_cmpstr (name, ==, ns_weights_tensor_name (b, i));
      g_assert_nonnull (y);
      g_assert_cmpmem (da, sizeof (int) * na, db, sizeof (int) * nb);
      gsize n = 1;
      for (int d = 0; d < na; d++)
        n *= da[d];
      g_assert_cmpmem (x, n * sizeof (float), y, n * sizeof (float));   /* bit-exact */
    }
}

static void
test_roundtrip (void)
{
  g_autoptr (NsWeights) w = make_generator (2, 1, 1);
  g_autofree gchar *path = g_build_filename (tmpdir, "roundtrip.nsw", NULL);
  GError *error = NULL;

  g_assert_true (ns_weights_save (w, path, &error));
  g_assert_no_error (error);
  g_autoptr (NsWeights) r = ns_weights_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);

  gint64 i;
  double d;
  const char *s;
  const char *const *strv;
  const guint8 *bytes;
  gsize len;
  g_assert_cmpstr (ns_weights_arch (r), ==, NS_ARCH_GENERATOR);
  g_assert_true (ns_weights_get_int (r, "base_channels", &i));
  g_assert_cmpint (i, ==, 2);
  g_assert_true (ns_weights_get_double (r, "learning_rate", &d));
  g_assert_true (d == -1.25e-4);
  g_assert_true (ns_weights_get_string (r, "note", &s));
  g_assert_cmpstr (s, ==, "trained on CPU, \xc3\xa9t\xc3\xa9 2026");
  g_assert_true (ns_weights_get_strv (r, "losses", &strv));
  g_assert_cmpstrv (strv, ((const char *const[]) { "swd", "adv", "", NULL }));
  g_assert_true (ns_weights_get_bytes (r, "blob", &bytes, &len));
  g_assert_cmpmem (bytes, len, "\0\1\2\0", 4);
  /* a getter of the wrong type or an absent key finds nothing */
  g_assert_false (ns_weights_get_int (r, "learning_rate", &i));
  g_assert_false (ns_weights_get_string (r, "no such key", &s));

  g_assert_cmpint (ns_weights_n_styles (r), ==, 2);
  g_assert_cmpstr (ns_weights_style_name (r, 0), ==, "mosaic");
  g_assert_cmpstr (ns_weights_style_name (r, 1), ==, "wave");
  g_assert_null (ns_weights_style_name (r, 2));
  g_assert_cmpstr (ns_weights_style_source (r, 0), ==, "mosaic.jpg (CC0)");
  g_assert_null (ns_weights_style_source (r, 1));
  g_assert_cmpint (ns_weights_style_index (r, "wave"), ==, 1);
  g_assert_cmpint (ns_weights_style_index (r, "nope"), ==, -1);
  bytes = ns_weights_style_thumbnail (r, 0, &len);
  g_assert_cmpmem (bytes, len, tiny_png, sizeof tiny_png);
  g_assert_null (ns_weights_style_thumbnail (r, 1, &len));

  assert_tensors_equal (w, r);
  g_assert_cmpuint (ns_weights_n_params (r), ==, ns_weights_n_params (w));

  /* writing what was read gives the same bytes: the writer is deterministic */
  g_autofree gchar *first = NULL;
  gsize first_len;
  g_assert_true (g_file_get_contents (path, &first, &first_len, NULL));
  g_autoptr (GBytes) again = ns_weights_to_bytes (r, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (first, first_len, g_bytes_get_data (again, NULL), g_bytes_get_size (again));
  /* tensor data starts on 32-byte boundaries */
  guint64 data_offset;
  memcpy (&data_offset, first + OFF_DATA_OFFSET, 8);
  g_assert_cmpuint (GUINT64_FROM_LE (data_offset) % 32, ==, 0);
}

static void
test_setters (void)
{
  g_autoptr (NsWeights) w = ns_weights_new ("anything");
  GError *error = NULL;
  gint64 i;
  double d;

  ns_weights_set_int (w, "k", 5);
  ns_weights_set_double (w, "k", 2.5);          /* replaces value and type */
  g_assert_false (ns_weights_get_int (w, "k", &i));
  g_assert_true (ns_weights_get_double (w, "k", &d));
  g_assert_cmpfloat (d, ==, 2.5);

  g_assert_false (ns_weights_add_style (w, "", NULL, NULL, 0, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (ns_weights_add_style (w, "a", NULL, NULL, 0, &error));
  g_assert_false (ns_weights_add_style (w, "a", NULL, NULL, 0, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ns_weights_add_style (w, "b", NULL, (const guint8 *) "GIF89a..", 8, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* the writer refuses what the loader would refuse */
  g_assert_null (ns_weights_to_bytes (w, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);
}

static void
test_describe (void)
{
  g_autofree gchar *path = g_build_filename (tmpdir, "describe.nsw", NULL);
  g_autoptr (NsWeights) w = make_generator (2, 1, 3);
  GError *error = NULL;
  g_assert_true (ns_weights_save (w, path, &error));
  g_autoptr (NsWeights) r = ns_weights_load (path, &error);
  g_assert_no_error (error);
  g_autofree gchar *text = ns_weights_describe (r);
  g_test_message ("%s", text);

  g_autofree gchar *params = g_strdup_printf ("total parameters: %" G_GUINT64_FORMAT "\n",
                                              ns_weights_n_params (r));
  const char *want[] = {
    "architecture: ns-generator-1\n", "format version: 1.0\n",
    "  base_channels = 2\n", "  learning_rate = -0.000125\n",
    "  losses = [\"swd\", \"adv\", \"\"]\n", "  blob = 4 bytes\n",
    "styles: 2\n", "  0 mosaic  source: mosaic.jpg (CC0)  thumbnail: 1x1 PNG, 67 bytes\n",
    "  1 wave  source: (unknown)  thumbnail: none\n",
    "tensors: 30\n", "  enc1.weight [2, 3, 9, 9] 1944 bytes\n",
    "  res0.conv2.norm.beta [2, 8] 64 bytes\n", params, "checksum: ok (sha256 ",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    if (!strstr (text, want[i]))
      g_error ("describe lacks \"%s\"", want[i]);
  g_assert_null (strstr (text, "arch =")); /* reserved keys are not hyper-parameters */

  g_autofree gchar *fresh = ns_weights_describe (w);
  g_assert_nonnull (strstr (fresh, "checksum: none"));
}

static int
shape_index (GPtrArray *list, const char *name)
{
  for (guint i = 0; i < list->len; i++)
    if (strcmp (((NsArchTensor *) list->pdata[i])->name, name) == 0)
      return (int) i;
  return -1;
}

static void
assert_shape (GPtrArray *list, const char *name, int ndim, const int *dims)
{
  int i = shape_index (list, name);
  if (i < 0)
    g_error ("no tensor %s", name);
  const NsArchTensor *t = list->pdata[i];
  g_assert_cmpmem (t->dims, sizeof (int) * t->ndim, dims, sizeof (int) * ndim);
}

static void
test_arch_shapes (void)
{
  GError *error = NULL;
  g_autoptr (NsWeights) g = ns_weights_new (NS_ARCH_GENERATOR);
  ns_weights_set_int (g, "base_channels", 32);
  ns_weights_set_int (g, "res_blocks", 5);
  for (int s = 0; s < 3; s++)
    {
      char name[8];
      g_snprintf (name, sizeof name, "s%d", s);
      g_assert_true (ns_weights_add_style (g, name, NULL, NULL, 0, &error));
    }
  g_autoptr (GPtrArray) list = ns_arch_tensors (g, &error);
  g_assert_no_error (error);
  /* 16 convs (weight + bias), 15 of them with a conditional norm (gamma + beta) */
  g_assert_cmpuint (list->len, ==, 16 * 2 + 15 * 2);
  assert_shape (list, "enc1.weight", 4, (int[]) { 32, 3, 9, 9 });
  assert_shape (list, "enc2.weight", 4, (int[]) { 64, 32, 3, 3 });
  assert_shape (list, "enc3.norm.gamma", 2, (int[]) { 3, 128 });
  assert_shape (list, "res4.conv2.weight", 4, (int[]) { 128, 128, 3, 3 });
  assert_shape (list, "dec1.weight", 4, (int[]) { 64, 128, 3, 3 });
  assert_shape (list, "dec2.norm.beta", 2, (int[]) { 3, 32 });
  assert_shape (list, "out.weight", 4, (int[]) { 3, 32, 9, 9 });
  assert_shape (list, "out.bias", 1, (int[]) { 3 });
  g_assert_cmpint (shape_index (list, "out.norm.gamma"), ==, -1);
  g_assert_cmpint (shape_index (list, "res5.conv1.weight"), ==, -1);
  /* parameter count documented in weights/FORMAT.md: 1676035 + 3200 per style */
  guint64 params = 0;
  for (guint i = 0; i < list->len; i++)
    {
      const NsArchTensor *t = list->pdata[i];
      guint64 n = 1;
      for (int k = 0; k < t->ndim; k++)
        n *= t->dims[k];
      params += n;
    }
  g_assert_cmpuint (params, ==, 1676035 + 3200 * 3);

  /* the optional output kernel (default 9) must be odd, 1..9 */
  ns_weights_set_int (g, "out_kernel", 3);
  g_autoptr (GPtrArray) small = ns_arch_tensors (g, &error);
  g_assert_no_error (error);
  assert_shape (small, "out.weight", 4, (int[]) { 3, 32, 3, 3 });
  ns_weights_set_int (g, "out_kernel", 4);
  g_assert_null (ns_arch_tensors (g, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);
  ns_weights_set_int (g, "out_kernel", 11);
  g_assert_null (ns_arch_tensors (g, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);

  g_autoptr (NsWeights) d = ns_weights_new (NS_ARCH_DISCRIMINATOR);
  ns_weights_set_int (d, "base_channels", 16);
  ns_weights_set_int (d, "layers", 3);
  g_autoptr (GPtrArray) dl = ns_arch_tensors (d, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dl->len, ==, 8);
  assert_shape (dl, "d0.weight", 4, (int[]) { 16, 3, 3, 3 });
  assert_shape (dl, "d2.weight", 4, (int[]) { 64, 32, 3, 3 });
  assert_shape (dl, "out.weight", 4, (int[]) { 1, 64, 3, 3 });

  /* a missing hyper-parameter or an unknown architecture is a format error */
  g_autoptr (NsWeights) bad = ns_weights_new (NS_ARCH_DISCRIMINATOR);
  g_assert_null (ns_arch_tensors (bad, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);
  g_autoptr (NsWeights) unknown = ns_weights_new ("ns-generator-9");
  g_assert_false (ns_arch_check (unknown, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);

  /* an extra tensor is a shape error too */
  g_autoptr (NsWeights) extra = make_generator (2, 0, 5);
  g_assert_true (ns_arch_check (extra, &error));
  ns_weights_add_tensor (extra, "spare", 1, (int[]) { 1 }, (float[]) { 0 });
  g_assert_false (ns_arch_check (extra, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "spare"));
  g_clear_error (&error);
}

static void
test_bad_magic (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  data[1] = 'X';
  assert_load_fails (data, len, NS_ERROR_BAD_MAGIC);
  assert_load_fails ((const guint8 *) "GIF89a, not weights", 19, NS_ERROR_BAD_MAGIC);
}

static void
test_version (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  GError *error = NULL;

  data[OFF_MAJOR] = 2;
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_VERSION);

  /* a newer minor loads, skipping a value of a type it does not know */
  data[OFF_MAJOR] = 1;
  data[OFF_MINOR] = 9;
  gsize type_at = after_name (data, len, "note");
  put_le32 (data + type_at, 77);
  fix_checksum (data, len);
  g_autoptr (NsWeights) w = ns_weights_load_from_data (data, len, "minor.nsw", &error);
  g_assert_no_error (error);
  g_assert_false (ns_weights_get_string (w, "note", NULL));
  g_assert_true (ns_weights_get_strv (w, "losses", NULL));

  /* the same unknown type in a file of this minor version is malformed */
  data[OFF_MINOR] = NS_WEIGHTS_MINOR;
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);
}

/* a NaN or an infinity in a tensor, with a correct checksum: refused on
 * loading, and the writer refuses to write one */
static void
test_not_finite (void)
{
  static const guint32 bits[] = { 0x7FC00000u, 0x7F800000u, 0xFF800000u };
  for (gsize i = 0; i < G_N_ELEMENTS (bits); i++)
    {
      gsize len;
      g_autofree guint8 *data = valid_file (&len);
      put_le32 (data + len - 4, bits[i]);   /* the last tensor's last float */
      fix_checksum (data, len);
      assert_load_fails (data, len, NS_ERROR_NOT_FINITE);
    }

  g_autoptr (NsWeights) w = make_generator (2, 1, 7);
  int dims[NS_WEIGHTS_MAX_DIMS], ndim;
  const float *bias = ns_weights_tensor (w, "out.bias", dims, &ndim);
  g_assert_nonnull (bias);
  float nan_bias[3] = { NAN, bias[1], bias[2] };
  g_assert_cmpint (dims[0], ==, 3);
  ns_weights_add_tensor (w, "out.bias", ndim, dims, nan_bias);
  GError *error = NULL;
  g_assert_null (ns_weights_to_bytes (w, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FINITE);
  g_assert_nonnull (strstr (error->message, "out.bias"));
  g_error_free (error);
}

static void
test_checksum (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  data[len - 1] ^= 0x01;                 /* one bit of the last float */
  assert_load_fails (data, len, NS_ERROR_CHECKSUM);
  data[len - 1] ^= 0x01;
  data[OFF_DIGEST + 5] ^= 0x80;          /* the stored digest itself */
  assert_load_fails (data, len, NS_ERROR_CHECKSUM);
}

static void
test_truncated (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  assert_load_fails (data, len / 2, NS_ERROR_TRUNCATED);
  assert_load_fails (data, len - 1, NS_ERROR_TRUNCATED);
  assert_load_fails (data, 40, NS_ERROR_TRUNCATED);
  assert_load_fails (data, 0, NS_ERROR_TRUNCATED);

  GError *error = NULL;
  g_assert_null (ns_weights_load_from_data (NULL, 0, "empty.nsw", &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_TRUNCATED);
  g_assert_true (g_str_has_prefix (error->message, "empty.nsw: "));
  g_clear_error (&error);
}

static void
test_shape (void)
{
  gsize len;
  g_autofree guint8 *orig = valid_file (&len);
  g_autofree guint8 *data = g_memdup2 (orig, len);

  /* enc1.weight [2][3][9][9] stored as [3][2][9][9]: same size, wrong shape */
  gsize at = after_name (data, len, "enc1.weight") + 8;
  put_le32 (data + at, 3);
  put_le32 (data + at + 4, 2);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_SHAPE);

  /* a missing tensor (renamed: the architecture has no enc1.biaz) */
  memcpy (data, orig, len);
  data[after_name (data, len, "enc1.bias") - 1] = 'z';
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_SHAPE);

  /* gammas for one style where the file lists two */
  memcpy (data, orig, len);
  at = after_name (data, len, "enc2.norm.gamma") + 8;
  put_le32 (data + at, 1);
  put_le32 (data + at + 4, 8);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_SHAPE);
}

static void
test_too_large (void)
{
  gsize len;
  g_autofree guint8 *orig = valid_file (&len);
  g_autofree guint8 *data = g_memdup2 (orig, len);

  /* a file over 2 GiB is refused before it is read (sparse: no disk used) */
  g_autofree gchar *huge = g_build_filename (tmpdir, "huge.nsw", NULL);
  GError *error = NULL;
  int fd = g_open (huge, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) NS_WEIGHTS_MAX_BYTES + 1), ==, 0);
  g_close (fd, NULL);
  g_assert_null (ns_weights_load (huge, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, huge));
  g_clear_error (&error);
  g_unlink (huge);

  put_le64 (data + OFF_FILE_SIZE, (guint64) 3 << 30);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_TOO_LARGE);

  /* dimensions whose product overflows 64 bits */
  memcpy (data, orig, len);
  gsize at = after_name (data, len, "enc1.weight") + 8;
  for (int d = 0; d < 4; d++)
    put_le32 (data + at + 4 * d, 0x7fffffff);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_TOO_LARGE);

  /* one dimension alone past 2 GiB of floats */
  memcpy (data, orig, len);
  put_le32 (data + at, 0x40000000);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_TOO_LARGE);
}

static void
test_format (void)
{
  gsize len;
  g_autofree guint8 *orig = valid_file (&len);
  g_autofree guint8 *data = g_malloc (len + 32);

  /* bytes after the declared end */
  memcpy (data, orig, len);
  memset (data + len, 0, 32);
  assert_load_fails (data, len + 32, NS_ERROR_FORMAT);

  /* a tensor offset off its 32-byte alignment (still inside its padding,
   * so this is the only fault) */
  memcpy (data, orig, len);
  gsize at = after_name (data, len, "enc1.bias") + 8 + 4;
  data[at] += 4;
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* two tensors on the same bytes */
  memcpy (data, orig, len);
  gsize a = after_name (data, len, "enc1.bias") + 8 + 4;
  gsize b = after_name (data, len, "out.bias") + 8 + 4;
  memcpy (data + b, data + a, 8);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* a declared size that does not match the shape */
  memcpy (data, orig, len);
  put_le64 (data + after_name (data, len, "enc1.bias") + 8 + 4 + 8, 4);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* an unknown architecture */
  memcpy (data, orig, len);
  data[after (data, len, "ns-generator-1") - 1] = '9';
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* a key that is not UTF-8 */
  memcpy (data, orig, len);
  data[after_name (data, len, "note") - 1] = 0xff;
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* the string list declaring more elements than it holds */
  memcpy (data, orig, len);
  put_le32 (data + after_name (data, len, "losses") + 12, 1000);
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);

  /* two styles of one name: "s1", "s2" -> "s1", "s1" */
  {
    g_autoptr (NsWeights) w = ns_weights_new (NS_ARCH_DISCRIMINATOR);
    GError *error = NULL;
    ns_weights_set_int (w, "base_channels", 1);
    ns_weights_set_int (w, "layers", 1);
    g_assert_true (ns_weights_add_style (w, "s1", NULL, NULL, 0, &error));
    g_assert_true (ns_weights_add_style (w, "s2", NULL, NULL, 0, &error));
    ns_weights_add_tensor (w, "d0.weight", 4, (int[]) { 1, 3, 3, 3 }, (float[27]) { 0 });
    ns_weights_add_tensor (w, "d0.bias", 1, (int[]) { 1 }, (float[1]) { 0 });
    ns_weights_add_tensor (w, "out.weight", 4, (int[]) { 1, 1, 3, 3 }, (float[9]) { 0 });
    ns_weights_add_tensor (w, "out.bias", 1, (int[]) { 1 }, (float[1]) { 0 });
    gsize dlen;
    g_autofree guint8 *dup = g_bytes_unref_to_data (ns_weights_to_bytes (w, &error), &dlen);
    g_assert_no_error (error);
    dup[after_name (dup, dlen, "s2") - 1] = '1';
    fix_checksum (dup, dlen);
    assert_load_fails (dup, dlen, NS_ERROR_FORMAT);
  }

  /* a thumbnail that is not a PNG */
  memcpy (data, orig, len);
  data[after_name (data, len, "style.0.thumbnail") + 12 + 1] = 'Q';
  fix_checksum (data, len);
  assert_load_fails (data, len, NS_ERROR_FORMAT);
}

static void
test_io (void)
{
  g_autofree gchar *missing = g_build_filename (tmpdir, "missing.nsw", NULL);
  g_autofree gchar *in_missing_dir = g_build_filename (tmpdir, "no", "such.nsw", NULL);
  g_autoptr (NsWeights) w = make_generator (2, 0, 9);
  GError *error = NULL;

  g_assert_null (ns_weights_load (missing, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_assert_null (ns_weights_load (tmpdir, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, tmpdir));
  g_clear_error (&error);
  /* a device is refused before it is read (this one would never end) */
  g_assert_null (ns_weights_load ("/dev/zero", &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (ns_weights_save (w, in_missing_dir, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, in_missing_dir));
  g_clear_error (&error);
}

/* Saving over a file replaces it whole and leaves no temporary file behind. */
static void
test_save_atomic (void)
{
  g_autofree gchar *dir = g_build_filename (tmpdir, "atomic", NULL);
  g_autofree gchar *path = g_build_filename (dir, "w.nsw", NULL);
  g_autoptr (NsWeights) a = make_generator (2, 0, 10);
  g_autoptr (NsWeights) b = make_generator (3, 1, 11);
  GError *error = NULL;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_true (ns_weights_save (a, path, &error));
  g_assert_true (ns_weights_save (b, path, &error));
  g_assert_no_error (error);
  g_autoptr (NsWeights) r = ns_weights_load (path, &error);
  g_assert_no_error (error);
  assert_tensors_equal (b, r);

  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;
  while ((name = g_dir_read_name (d)))
    {
      g_assert_cmpstr (name, ==, "w.nsw");
      n++;
    }
  g_assert_cmpint (n, ==, 1);
  g_unlink (path);
  g_rmdir (dir);
}

/* Cutting a valid file after any number of bytes is always refused as
 * truncated, and never crashes or reads past the end (ASan build). */
static void
test_truncate_every_byte (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  for (gsize cut = 0; cut < len; cut++)
    {
      GError *error = NULL;
      /* a fresh allocation of exactly cut bytes, so ASan sees any overrun */
      g_autofree guint8 *copy = g_memdup2 (data, MAX (cut, 1));
      NsWeights *w = ns_weights_load_from_data (copy, cut, "cut.nsw", &error);
      if (w || !g_error_matches (error, NS_ERROR, NS_ERROR_TRUNCATED))
        g_error ("cut at %" G_GSIZE_FORMAT ": %s", cut, w ? "loaded" : error->message);
      g_error_free (error);
    }
  g_test_message ("%" G_GSIZE_FORMAT " truncations refused", len);
}

/* Changing any one byte of a valid file is always refused: the checksum
 * covers everything but itself, and the header fields are checked first. */
static void
test_corrupt_every_byte (void)
{
  gsize len;
  g_autofree guint8 *data = valid_file (&len);
  NsRng rng;
  ns_rng_init (&rng, 2026);
  for (gsize pos = 0; pos < len; pos++)
    {
      GError *error = NULL;
      guint8 old = data[pos];
      data[pos] ^= (guint8) (1 + ns_rng_below (&rng, 255));
      NsWeights *w = ns_weights_load_from_data (data, len, "corrupt.nsw", &error);
      if (w)
        g_error ("byte %" G_GSIZE_FORMAT " changed %02x -> %02x and it loaded",
                 pos, old, data[pos]);
      g_assert_true (error->domain == NS_ERROR);
      if (pos < 8)
        g_assert_cmpint (error->code, ==, NS_ERROR_BAD_MAGIC);
      else if (pos < OFF_DATA_OFFSET && pos >= OFF_MINOR)
        g_assert_cmpint (error->code, ==, NS_ERROR_CHECKSUM);
      else if (pos >= OFF_DIGEST)
        g_assert_cmpint (error->code, ==, NS_ERROR_CHECKSUM);
      g_error_free (error);
      data[pos] = old;
    }
  g_test_message ("%" G_GSIZE_FORMAT " single-byte corruptions refused", len);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("test-format-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/format/roundtrip", test_roundtrip);
  g_test_add_func ("/format/setters", test_setters);
  g_test_add_func ("/format/describe", test_describe);
  g_test_add_func ("/format/arch-shapes", test_arch_shapes);
  g_test_add_func ("/format/refuse/bad-magic", test_bad_magic);
  g_test_add_func ("/format/refuse/version", test_version);
  g_test_add_func ("/format/refuse/checksum", test_checksum);
  g_test_add_func ("/format/refuse/not-finite", test_not_finite);
  g_test_add_func ("/format/refuse/truncated", test_truncated);
  g_test_add_func ("/format/refuse/shape", test_shape);
  g_test_add_func ("/format/refuse/too-large", test_too_large);
  g_test_add_func ("/format/refuse/format", test_format);
  g_test_add_func ("/format/refuse/io", test_io);
  g_test_add_func ("/format/save-atomic", test_save_atomic);
  g_test_add_func ("/format/truncate-every-byte", test_truncate_every_byte);
  g_test_add_func ("/format/corrupt-every-byte", test_corrupt_every_byte);

  int rc = g_test_run ();
  const char *names[] = { "refused.nsw", "roundtrip.nsw", "describe.nsw" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *p = g_build_filename (tmpdir, names[i], NULL);
      g_unlink (p);
    }
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}

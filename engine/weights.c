/* .nsw weight files: the in-memory NsWeights, its writer and its loader.
 * Byte layout: weights/FORMAT.md (keep the two in step). */
#include "ns_weights.h"
#include "ns_error.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static const guint8 NSW_MAGIC[8] = { 0x89, 'N', 'S', 'W', '\r', '\n', 0x1a, '\n' };
static const guint8 PNG_SIGNATURE[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Fixed header: magic, u16 major, u16 minor, u32 n_kv, u32 n_tensors,
 * u32 reserved, u64 data_offset, u64 file_size, then the SHA-256 of every
 * byte of the file except the digest itself. */
#define HEADER_SIZE   72
#define DIGEST_OFFSET 40
#define DIGEST_SIZE   32
#define DATA_ALIGN    32

/* Value type codes as stored in the file.  A later minor version may add
 * codes; a reader skips those by their size. */
typedef enum
{
  KV_INT    = 1,   /* i64 */
  KV_DOUBLE = 2,   /* IEEE-754 binary64 */
  KV_STRING = 3,   /* UTF-8 bytes, no terminator */
  KV_STRV   = 4,   /* u32 count, then count x (u32 length, UTF-8 bytes) */
  KV_BYTES  = 5    /* raw bytes */
} KvType;

#define DTYPE_F32 0

typedef struct
{
  gchar  *key;
  KvType  type;
  union
  {
    gint64  i;
    double  d;
    gchar  *s;
    gchar **strv;
    GBytes *bytes;
  } v;
} Kv;

typedef struct
{
  gchar *name;
  int    ndim;
  int    dims[NS_WEIGHTS_MAX_DIMS];
  gsize  n;                 /* number of floats */
  float *data;
} Tensor;

struct NsWeights
{
  GPtrArray  *kvs;          /* Kv *, in file / insertion order */
  GHashTable *kv_index;     /* key -> Kv * */
  GPtrArray  *tensors;      /* Tensor *, in file / insertion order */
  GHashTable *tensor_index; /* name -> Tensor * */
  /* Set by the loader, shown by describe; 0 / NULL for weights built here. */
  int         major, minor;
  gchar      *sha256;       /* hex digest of the file */
};

/* ---- in-memory object ---------------------------------------------------- */

static void
kv_clear_value (Kv *kv)
{
  switch (kv->type)
    {
    case KV_STRING: g_free (kv->v.s); break;
    case KV_STRV:   g_strfreev (kv->v.strv); break;
    case KV_BYTES:  g_bytes_unref (kv->v.bytes); break;
    case KV_INT:
    case KV_DOUBLE:
    default:        break;
    }
  memset (&kv->v, 0, sizeof kv->v);
}

static void
kv_free (gpointer p)
{
  Kv *kv = p;
  kv_clear_value (kv);
  g_free (kv->key);
  g_free (kv);
}

static void
tensor_free (gpointer p)
{
  Tensor *t = p;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

/* no keys at all, not even "arch" (the loader reads that from the file) */
static NsWeights *
weights_new_empty (void)
{
  NsWeights *w = g_new0 (NsWeights, 1);
  /* kvs and tensors own the entries; the indexes borrow their names */
  w->kvs = g_ptr_array_new_with_free_func (kv_free);
  w->kv_index = g_hash_table_new (g_str_hash, g_str_equal);
  w->tensors = g_ptr_array_new_with_free_func (tensor_free);
  w->tensor_index = g_hash_table_new (g_str_hash, g_str_equal);
  return w;
}

void
ns_weights_free (NsWeights *w)
{
  if (!w)
    return;
  g_hash_table_unref (w->kv_index);
  g_hash_table_unref (w->tensor_index);
  g_ptr_array_unref (w->kvs);
  g_ptr_array_unref (w->tensors);
  g_free (w->sha256);
  g_free (w);
}

static gboolean
valid_name (const char *s, gsize len)
{
  return len >= 1 && len <= NS_WEIGHTS_MAX_NAME && g_utf8_validate_len (s, len, NULL);
}

static gboolean
is_reserved_key (const char *key)
{
  return strcmp (key, "arch") == 0 || strcmp (key, "styles") == 0
         || g_str_has_prefix (key, "style.");
}

static gboolean
settable_key (const char *key)
{
  return key && valid_name (key, strlen (key)) && !is_reserved_key (key);
}

/* The entry for key, emptied and retyped; appended when new so that the
 * file keeps the order in which values were first set. */
static Kv *
kv_slot (NsWeights *w, const char *key, KvType type)
{
  Kv *kv = g_hash_table_lookup (w->kv_index, key);
  if (kv)
    kv_clear_value (kv);
  else
    {
      kv = g_new0 (Kv, 1);
      kv->key = g_strdup (key);
      g_ptr_array_add (w->kvs, kv);
      g_hash_table_insert (w->kv_index, kv->key, kv);
    }
  kv->type = type;
  return kv;
}

NsWeights *
ns_weights_new (const char *arch)
{
  g_return_val_if_fail (arch != NULL && g_utf8_validate (arch, -1, NULL), NULL);
  NsWeights *w = weights_new_empty ();
  kv_slot (w, "arch", KV_STRING)->v.s = g_strdup (arch);
  return w;
}

static const Kv *
kv_get (const NsWeights *w, const char *key, KvType type)
{
  const Kv *kv = key ? g_hash_table_lookup (w->kv_index, key) : NULL;
  return kv && kv->type == type ? kv : NULL;
}

const char *
ns_weights_arch (const NsWeights *w)
{
  const Kv *kv = kv_get (w, "arch", KV_STRING);
  return kv ? kv->v.s : NULL;
}

void
ns_weights_set_int (NsWeights *w, const char *key, gint64 value)
{
  g_return_if_fail (settable_key (key));
  kv_slot (w, key, KV_INT)->v.i = value;
}

void
ns_weights_set_double (NsWeights *w, const char *key, double value)
{
  g_return_if_fail (settable_key (key));
  kv_slot (w, key, KV_DOUBLE)->v.d = value;
}

void
ns_weights_set_string (NsWeights *w, const char *key, const char *value)
{
  g_return_if_fail (settable_key (key));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));
  kv_slot (w, key, KV_STRING)->v.s = g_strdup (value);
}

void
ns_weights_set_strv (NsWeights *w, const char *key, const char *const *strv)
{
  g_return_if_fail (settable_key (key));
  g_return_if_fail (strv != NULL);
  for (int i = 0; strv[i]; i++)
    g_return_if_fail (g_utf8_validate (strv[i], -1, NULL));
  kv_slot (w, key, KV_STRV)->v.strv = g_strdupv ((gchar **) strv);
}

void
ns_weights_set_bytes (NsWeights *w, const char *key, const void *data, gsize len)
{
  g_return_if_fail (settable_key (key));
  g_return_if_fail (data != NULL || len == 0);
  kv_slot (w, key, KV_BYTES)->v.bytes = g_bytes_new (data, len);
}

gboolean
ns_weights_get_int (const NsWeights *w, const char *key, gint64 *out)
{
  const Kv *kv = kv_get (w, key, KV_INT);
  if (kv && out)
    *out = kv->v.i;
  return kv != NULL;
}

gboolean
ns_weights_get_double (const NsWeights *w, const char *key, double *out)
{
  const Kv *kv = kv_get (w, key, KV_DOUBLE);
  if (kv && out)
    *out = kv->v.d;
  return kv != NULL;
}

gboolean
ns_weights_get_string (const NsWeights *w, const char *key, const char **out)
{
  const Kv *kv = kv_get (w, key, KV_STRING);
  if (kv && out)
    *out = kv->v.s;
  return kv != NULL;
}

gboolean
ns_weights_get_strv (const NsWeights *w, const char *key, const char *const **out)
{
  const Kv *kv = kv_get (w, key, KV_STRV);
  if (kv && out)
    *out = (const char *const *) kv->v.strv;
  return kv != NULL;
}

gboolean
ns_weights_get_bytes (const NsWeights *w, const char *key,
                      const guint8 **data, gsize *len)
{
  const Kv *kv = kv_get (w, key, KV_BYTES);
  if (kv)
    {
      gsize n;
      const guint8 *p = g_bytes_get_data (kv->v.bytes, &n);
      if (data)
        *data = p;
      if (len)
        *len = n;
    }
  return kv != NULL;
}

/* ---- styles: stored as the reserved keys "styles" (names, in row order),
 * "style.<i>.source" and "style.<i>.thumbnail" ---------------------------- */

int
ns_weights_n_styles (const NsWeights *w)
{
  const Kv *kv = kv_get (w, "styles", KV_STRV);
  return kv ? (int) g_strv_length (kv->v.strv) : 0;
}

const char *
ns_weights_style_name (const NsWeights *w, int i)
{
  return i >= 0 && i < ns_weights_n_styles (w)
         ? kv_get (w, "styles", KV_STRV)->v.strv[i] : NULL;
}

static const Kv *
style_kv (const NsWeights *w, int i, const char *field, KvType type)
{
  char key[64];
  if (i < 0 || i >= ns_weights_n_styles (w))
    return NULL;
  g_snprintf (key, sizeof key, "style.%d.%s", i, field);
  return kv_get (w, key, type);
}

const char *
ns_weights_style_source (const NsWeights *w, int i)
{
  const Kv *kv = style_kv (w, i, "source", KV_STRING);
  return kv ? kv->v.s : NULL;
}

const guint8 *
ns_weights_style_thumbnail (const NsWeights *w, int i, gsize *len)
{
  const Kv *kv = style_kv (w, i, "thumbnail", KV_BYTES);
  gsize n = 0;
  const guint8 *p = kv ? g_bytes_get_data (kv->v.bytes, &n) : NULL;
  if (len)
    *len = n;
  return p;
}

int
ns_weights_style_index (const NsWeights *w, const char *name)
{
  int n = ns_weights_n_styles (w);
  for (int i = 0; name && i < n; i++)
    if (strcmp (ns_weights_style_name (w, i), name) == 0)
      return i;
  return -1;
}

static gboolean
is_png (const guint8 *data, gsize len)
{
  return len >= sizeof PNG_SIGNATURE
         && memcmp (data, PNG_SIGNATURE, sizeof PNG_SIGNATURE) == 0;
}

gboolean
ns_weights_add_style (NsWeights *w, const char *name, const char *source,
                      const guint8 *png, gsize png_len, GError **error)
{
  if (!name || !valid_name (name, strlen (name)))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "A style name must be 1 to %d bytes of UTF-8",
                   NS_WEIGHTS_MAX_NAME);
      return FALSE;
    }
  if (ns_weights_style_index (w, name) >= 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "There is already a style called \"%s\"", name);
      return FALSE;
    }
  if (source && !g_utf8_validate (source, -1, NULL))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The source of style \"%s\" is not UTF-8", name);
      return FALSE;
    }
  if (png && !is_png (png, png_len))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The thumbnail of style \"%s\" is not a PNG image", name);
      return FALSE;
    }

  int i = ns_weights_n_styles (w);
  gchar **names = g_new0 (gchar *, i + 2);
  for (int k = 0; k < i; k++)
    names[k] = g_strdup (ns_weights_style_name (w, k));
  names[i] = g_strdup (name);
  kv_slot (w, "styles", KV_STRV)->v.strv = names;

  char key[64];
  if (source)
    {
      g_snprintf (key, sizeof key, "style.%d.source", i);
      kv_slot (w, key, KV_STRING)->v.s = g_strdup (source);
    }
  if (png)
    {
      g_snprintf (key, sizeof key, "style.%d.thumbnail", i);
      kv_slot (w, key, KV_BYTES)->v.bytes = g_bytes_new (png, png_len);
    }
  return TRUE;
}

/* ---- tensors ------------------------------------------------------------- */

/* The entry for name, data freed; appended when new. */
static Tensor *
tensor_slot (NsWeights *w, const char *name)
{
  Tensor *t = g_hash_table_lookup (w->tensor_index, name);
  if (t)
    g_clear_pointer (&t->data, g_free);
  else
    {
      t = g_new0 (Tensor, 1);
      t->name = g_strdup (name);
      g_ptr_array_add (w->tensors, t);
      g_hash_table_insert (w->tensor_index, t->name, t);
    }
  return t;
}

void
ns_weights_add_tensor (NsWeights *w, const char *name, int ndim,
                       const int *dims, const float *data)
{
  g_return_if_fail (name != NULL && valid_name (name, strlen (name)));
  g_return_if_fail (ndim >= 1 && ndim <= NS_WEIGHTS_MAX_DIMS);
  g_return_if_fail (dims != NULL && data != NULL);
  gsize n = 1;
  for (int i = 0; i < ndim; i++)
    {
      g_return_if_fail (dims[i] >= 1);
      g_return_if_fail (g_size_checked_mul (&n, n, (gsize) dims[i]));
    }
  g_return_if_fail (n <= NS_WEIGHTS_MAX_BYTES / sizeof (float));

  Tensor *t = tensor_slot (w, name);
  t->ndim = ndim;
  memset (t->dims, 0, sizeof t->dims);
  memcpy (t->dims, dims, sizeof (int) * ndim);
  t->n = n;
  t->data = g_memdup2 (data, n * sizeof (float));
}

const float *
ns_weights_tensor (const NsWeights *w, const char *name,
                   int dims_out[NS_WEIGHTS_MAX_DIMS], int *ndim_out)
{
  const Tensor *t = name ? g_hash_table_lookup (w->tensor_index, name) : NULL;
  if (!t)
    return NULL;
  if (dims_out)
    memcpy (dims_out, t->dims, sizeof t->dims);
  if (ndim_out)
    *ndim_out = t->ndim;
  return t->data;
}

int
ns_weights_n_tensors (const NsWeights *w)
{
  return (int) w->tensors->len;
}

const char *
ns_weights_tensor_name (const NsWeights *w, int i)
{
  return i >= 0 && (guint) i < w->tensors->len
         ? ((const Tensor *) w->tensors->pdata[i])->name : NULL;
}

guint64
ns_weights_n_params (const NsWeights *w)
{
  guint64 total = 0;
  for (guint i = 0; i < w->tensors->len; i++)
    total += ((const Tensor *) w->tensors->pdata[i])->n;
  return total;
}

/* ---- checksum ------------------------------------------------------------ */

/* SHA-256 of the whole file except the digest field (len >= HEADER_SIZE). */
static void
file_digest (const guint8 *file, gsize len, guint8 digest[DIGEST_SIZE])
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize digest_len = DIGEST_SIZE;
  g_checksum_update (sum, file, DIGEST_OFFSET);
  g_checksum_update (sum, file + HEADER_SIZE, (gssize) (len - HEADER_SIZE));
  g_checksum_get_digest (sum, digest, &digest_len);
  g_checksum_free (sum);
}

static gchar *
hex_digest (const guint8 digest[DIGEST_SIZE])
{
  gchar *hex = g_malloc (2 * DIGEST_SIZE + 1);
  for (int i = 0; i < DIGEST_SIZE; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", digest[i]);
  return hex;
}

/* ---- writer -------------------------------------------------------------- */

typedef struct
{
  GByteArray *buf;
  gboolean    too_large;    /* set once anything would pass the size limit */
} Writer;

static void
put (Writer *wr, const void *data, gsize len)
{
  if (wr->too_large || len > NS_WEIGHTS_MAX_BYTES - wr->buf->len)
    {
      wr->too_large = TRUE;
      return;
    }
  g_byte_array_append (wr->buf, data, (guint) len);
}

static void
put_u32 (Writer *wr, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  put (wr, &le, 4);
}

static void
put_u64 (Writer *wr, guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);
  put (wr, &le, 8);
}

static void
put_string (Writer *wr, const char *s)
{
  gsize len = strlen (s);
  if (len > G_MAXUINT32)
    {
      wr->too_large = TRUE;
      return;
    }
  put_u32 (wr, (guint32) len);
  put (wr, s, len);
}

static void
put_zeros (Writer *wr, gsize len)
{
  static const guint8 zeros[DATA_ALIGN];
  while (len > 0 && !wr->too_large)
    {
      gsize chunk = MIN (len, sizeof zeros);
      put (wr, zeros, chunk);
      len -= chunk;
    }
}

static guint64
align_up (guint64 x)
{
  return (x + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
}

static void
put_kv (Writer *wr, const Kv *kv)
{
  put_string (wr, kv->key);
  put_u32 (wr, kv->type);
  switch (kv->type)
    {
    case KV_INT:
      put_u64 (wr, 8);
      put_u64 (wr, (guint64) kv->v.i);
      break;
    case KV_DOUBLE:
      {
        guint64 bits;
        memcpy (&bits, &kv->v.d, 8);
        put_u64 (wr, 8);
        put_u64 (wr, bits);
        break;
      }
    case KV_STRING:
      put_u64 (wr, strlen (kv->v.s));
      put (wr, kv->v.s, strlen (kv->v.s));
      break;
    case KV_STRV:
      {
        guint64 size = 4;
        guint n = g_strv_length (kv->v.strv);
        for (guint i = 0; i < n; i++)
          size += 4 + strlen (kv->v.strv[i]);
        put_u64 (wr, size);
        put_u32 (wr, n);
        for (guint i = 0; i < n; i++)
          put_string (wr, kv->v.strv[i]);
        break;
      }
    case KV_BYTES:
      {
        gsize len;
        const guint8 *data = g_bytes_get_data (kv->v.bytes, &len);
        put_u64 (wr, len);
        put (wr, data, len);
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

/* NS_ERROR_NOT_FINITE for the first NaN or infinity of t */
static gboolean
tensor_is_finite (const Tensor *t, GError **error)
{
  for (gsize k = 0; k < t->n; k++)
    if (!isfinite (t->data[k]))
      {
        g_set_error (error, NS_ERROR, NS_ERROR_NOT_FINITE,
                     "tensor %s holds %s at index %" G_GSIZE_FORMAT
                     " (weights must be finite numbers)", t->name,
                     isnan (t->data[k]) ? "NaN" : "an infinity", k);
        return FALSE;
      }
  return TRUE;
}

static void
put_floats (Writer *wr, const float *data, gsize n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  put (wr, data, n * sizeof (float));
#else
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &data[i], 4);
      put_u32 (wr, bits);
    }
#endif
}

GBytes *
ns_weights_serialise (const NsWeights *w, GError **error)
{
  for (guint i = 0; i < w->tensors->len; i++)
    if (!tensor_is_finite (w->tensors->pdata[i], error))
      return NULL;

  Writer wr = { g_byte_array_new (), FALSE };
  put_zeros (&wr, HEADER_SIZE);
  for (guint i = 0; i < w->kvs->len; i++)
    put_kv (&wr, w->kvs->pdata[i]);

  /* each tensor's offset within the data section, 32-byte aligned */
  guint64 offset = 0;
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const Tensor *t = w->tensors->pdata[i];
      put_string (&wr, t->name);
      put_u32 (&wr, DTYPE_F32);
      put_u32 (&wr, (guint32) t->ndim);
      for (int d = 0; d < t->ndim; d++)
        put_u32 (&wr, (guint32) t->dims[d]);
      offset = align_up (offset);
      put_u64 (&wr, offset);
      put_u64 (&wr, t->n * sizeof (float));
      offset += t->n * sizeof (float);
    }
  put_zeros (&wr, align_up (wr.buf->len) - wr.buf->len);
  guint64 data_offset = wr.buf->len;
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const Tensor *t = w->tensors->pdata[i];
      put_zeros (&wr, align_up (wr.buf->len) - wr.buf->len);
      put_floats (&wr, t->data, t->n);
    }
  if (wr.too_large)
    {
      g_byte_array_unref (wr.buf);
      g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                   "weights would take more than the %" G_GUINT64_FORMAT
                   " bytes a weight file may have", NS_WEIGHTS_MAX_BYTES);
      return NULL;
    }

  guint8 *h = wr.buf->data;
  guint16 major = GUINT16_TO_LE (NS_WEIGHTS_MAJOR), minor = GUINT16_TO_LE (NS_WEIGHTS_MINOR);
  guint32 n_kv = GUINT32_TO_LE (w->kvs->len), n_tensors = GUINT32_TO_LE (w->tensors->len);
  guint64 data_offset_le = GUINT64_TO_LE (data_offset);
  guint64 file_size_le = GUINT64_TO_LE ((guint64) wr.buf->len);
  memcpy (h, NSW_MAGIC, 8);
  memcpy (h + 8, &major, 2);
  memcpy (h + 10, &minor, 2);
  memcpy (h + 12, &n_kv, 4);
  memcpy (h + 16, &n_tensors, 4);
  memcpy (h + 24, &data_offset_le, 8);
  memcpy (h + 32, &file_size_le, 8);
  file_digest (h, wr.buf->len, h + DIGEST_OFFSET);
  return g_byte_array_free_to_bytes (wr.buf);
}

gboolean
ns_weights_write (GBytes *bytes, const char *path, GError **error)
{
  g_autofree gchar *display = g_filename_display_name (path);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GError *local = NULL;
  /* temporary file in the same folder, fsync, rename over path */
  if (!g_file_set_contents_full (path, (const gchar *) data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "%s: cannot write: %s",
                   display, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

/* ---- loader --------------------------------------------------------------
 * Every read past the fixed header goes through a Cursor, which refuses to
 * move past its end.  A cursor covers a region whose size the file declared
 * (the metadata before data_offset, one value), so running out of it is
 * NS_ERROR_FORMAT; a cut file was already caught by the header's file_size. */

typedef struct
{
  const guint8 *data;
  gsize         len, pos;
} Cursor;

static gboolean
cursor_need (Cursor *c, guint64 n, const char *what, GError **error)
{
  if (n <= c->len - c->pos)
    return TRUE;
  g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
               "%s needs %" G_GUINT64_FORMAT " bytes where only %" G_GSIZE_FORMAT
               " are left", what, n, c->len - c->pos);
  return FALSE;
}

static gboolean
cursor_span (Cursor *c, guint64 n, const guint8 **out, const char *what, GError **error)
{
  if (!cursor_need (c, n, what, error))
    return FALSE;
  *out = c->data + c->pos;
  c->pos += n;
  return TRUE;
}

static gboolean
cursor_u32 (Cursor *c, guint32 *out, const char *what, GError **error)
{
  const guint8 *p;
  if (!cursor_span (c, 4, &p, what, error))
    return FALSE;
  memcpy (out, p, 4);
  *out = GUINT32_FROM_LE (*out);
  return TRUE;
}

static gboolean
cursor_u64 (Cursor *c, guint64 *out, const char *what, GError **error)
{
  const guint8 *p;
  if (!cursor_span (c, 8, &p, what, error))
    return FALSE;
  memcpy (out, p, 8);
  *out = GUINT64_FROM_LE (*out);
  return TRUE;
}

/* u32 length + UTF-8 bytes; max_len 0 = no limit beyond the cursor's end */
static gboolean
cursor_string (Cursor *c, gsize max_len, gchar **out, const char *what, GError **error)
{
  guint32 len;
  const guint8 *p;
  if (!cursor_u32 (c, &len, what, error) || !cursor_span (c, len, &p, what, error))
    return FALSE;
  if ((max_len && (len < 1 || len > max_len))
      || !g_utf8_validate_len ((const char *) p, len, NULL))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "%s at offset %" G_GSIZE_FORMAT " is not %s UTF-8", what,
                   c->pos - len, max_len ? "1 to " G_STRINGIFY (NS_WEIGHTS_MAX_NAME) " bytes of" : "valid");
      return FALSE;
    }
  *out = g_strndup ((const char *) p, len);
  return TRUE;
}

static gboolean
parse_strv (const guint8 *p, gsize len, gchar ***out, const char *key, GError **error)
{
  Cursor c = { p, len, 0 };
  guint32 n;
  if (!cursor_u32 (&c, &n, "a string list", error))
    return FALSE;
  /* each element takes at least its 4-byte length: bounds n before allocating */
  if (n > (len - 4) / 4)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "string list %s declares %u elements in %" G_GSIZE_FORMAT
                   " bytes", key, n, len);
      return FALSE;
    }
  g_auto (GStrv) strv = g_new0 (gchar *, (gsize) n + 1);
  for (guint32 i = 0; i < n; i++)
    if (!cursor_string (&c, 0, &strv[i], "a list element", error))
      return FALSE;
  if (c.pos != len)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "string list %s has %" G_GSIZE_FORMAT " stray bytes",
                   key, len - c.pos);
      return FALSE;
    }
  *out = g_steal_pointer (&strv);
  return TRUE;
}

static gboolean
parse_kv (NsWeights *w, Cursor *c, int file_minor, GError **error)
{
  g_autofree gchar *key = NULL;
  guint32 type;
  guint64 size;
  const guint8 *p;

  if (!cursor_string (c, NS_WEIGHTS_MAX_NAME, &key, "a key", error)
      || !cursor_u32 (c, &type, "a value type", error)
      || !cursor_u64 (c, &size, "a value size", error)
      || !cursor_span (c, size, &p, "a value", error))
    return FALSE;
  if (g_hash_table_contains (w->kv_index, key))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "key %s appears twice", key);
      return FALSE;
    }
  if ((type == KV_INT || type == KV_DOUBLE) && size != 8)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "value of %s has %" G_GUINT64_FORMAT " bytes, not 8", key, size);
      return FALSE;
    }

  switch (type)
    {
    case KV_INT:
      {
        guint64 v;
        memcpy (&v, p, 8);
        kv_slot (w, key, KV_INT)->v.i = (gint64) GUINT64_FROM_LE (v);
        return TRUE;
      }
    case KV_DOUBLE:
      {
        guint64 v;
        double d;
        memcpy (&v, p, 8);
        v = GUINT64_FROM_LE (v);
        memcpy (&d, &v, 8);
        kv_slot (w, key, KV_DOUBLE)->v.d = d;
        return TRUE;
      }
    case KV_STRING:
      if (!g_utf8_validate_len ((const char *) p, size, NULL))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "value of %s is not valid UTF-8", key);
          return FALSE;
        }
      kv_slot (w, key, KV_STRING)->v.s = g_strndup ((const char *) p, size);
      return TRUE;
    case KV_STRV:
      {
        gchar **strv;
        if (!parse_strv (p, size, &strv, key, error))
          return FALSE;
        kv_slot (w, key, KV_STRV)->v.strv = strv;
        return TRUE;
      }
    case KV_BYTES:
      kv_slot (w, key, KV_BYTES)->v.bytes = g_bytes_new (p, size);
      return TRUE;
    default:
      /* a type from a later minor version: skipped, as its size is known */
      if (file_minor > NS_WEIGHTS_MINOR)
        return TRUE;
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "key %s has the unknown value type %u", key, type);
      return FALSE;
    }
}

/* One directory entry; the data is copied later, once every entry is known
 * to lie inside the data section. */
typedef struct
{
  Tensor  *t;
  guint64  offset, nbytes;
} Entry;

static gboolean
parse_entry (Cursor *c, Entry *e, GError **error)
{
  g_autofree gchar *name = NULL;
  guint32 dtype, ndim;
  guint64 count = 1;
  int dims[NS_WEIGHTS_MAX_DIMS] = { 0 };

  if (!cursor_string (c, NS_WEIGHTS_MAX_NAME, &name, "a tensor name", error)
      || !cursor_u32 (c, &dtype, "a tensor type", error)
      || !cursor_u32 (c, &ndim, "a tensor rank", error))
    return FALSE;
  if (dtype != DTYPE_F32)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "tensor %s has the unknown data type %u", name, dtype);
      return FALSE;
    }
  if (ndim < 1 || ndim > NS_WEIGHTS_MAX_DIMS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "tensor %s has %u dimensions (1 to %d allowed)",
                   name, ndim, NS_WEIGHTS_MAX_DIMS);
      return FALSE;
    }
  for (guint32 d = 0; d < ndim; d++)
    {
      guint32 dim;
      if (!cursor_u32 (c, &dim, "a tensor dimension", error))
        return FALSE;
      if (dim == 0)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "tensor %s has an empty dimension", name);
          return FALSE;
        }
      if (dim > G_MAXINT || !g_uint64_checked_mul (&count, count, dim)
          || count > NS_WEIGHTS_MAX_BYTES / sizeof (float))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                       "tensor %s is larger than %" G_GUINT64_FORMAT " bytes",
                       name, NS_WEIGHTS_MAX_BYTES);
          return FALSE;
        }
      dims[d] = (int) dim;
    }
  if (!cursor_u64 (c, &e->offset, "a tensor offset", error)
      || !cursor_u64 (c, &e->nbytes, "a tensor size", error))
    return FALSE;
  if (e->nbytes != count * sizeof (float))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "tensor %s declares %" G_GUINT64_FORMAT " bytes for %"
                   G_GUINT64_FORMAT " floats", name, e->nbytes, count);
      return FALSE;
    }
  if (e->offset % DATA_ALIGN != 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "tensor %s starts at offset %" G_GUINT64_FORMAT
                   ", not a multiple of %d", name, e->offset, DATA_ALIGN);
      return FALSE;
    }
  e->t = g_new0 (Tensor, 1);
  e->t->name = g_steal_pointer (&name);
  e->t->ndim = (int) ndim;
  memcpy (e->t->dims, dims, sizeof dims);
  e->t->n = count;
  return TRUE;
}

static int
compare_entry_offsets (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static gboolean
parse_tensors (NsWeights *w, Cursor *c, guint32 n, const guint8 *data,
               guint64 data_size, GError **error)
{
  /* an entry takes at least 33 bytes (one-byte name, rank 1): bounds n
   * before allocating */
  if (n > (c->len - c->pos) / 33)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "the directory declares %u tensors, more than its %"
                   G_GSIZE_FORMAT " bytes can hold", n, c->len - c->pos);
      return FALSE;
    }
  g_autofree Entry *entries = g_new0 (Entry, MAX (n, 1));
  for (guint32 i = 0; i < n; i++)
    {
      Entry *e = &entries[i];
      if (!parse_entry (c, e, error))
        return FALSE;
      if (g_hash_table_contains (w->tensor_index, e->t->name))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "tensor %s appears twice", e->t->name);
          tensor_free (e->t);
          return FALSE;
        }
      /* owned by w from here on, so any later failure frees it with w */
      g_ptr_array_add (w->tensors, e->t);
      g_hash_table_insert (w->tensor_index, e->t->name, e->t);
      if (e->offset > data_size || e->nbytes > data_size - e->offset)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "tensor %s (%" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT
                       ") lies outside the %" G_GUINT64_FORMAT "-byte data section",
                       e->t->name, e->nbytes, e->offset, data_size);
          return FALSE;
        }
    }

  /* no two tensors may share bytes */
  g_autofree Entry *sorted = g_memdup2 (entries, sizeof (Entry) * MAX (n, 1));
  qsort (sorted, n, sizeof (Entry), compare_entry_offsets);
  for (guint32 i = 1; i < n; i++)
    if (sorted[i - 1].offset + sorted[i - 1].nbytes > sorted[i].offset)
      {
        g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                     "tensors %s and %s overlap", sorted[i - 1].t->name,
                     sorted[i].t->name);
        return FALSE;
      }

  for (guint32 i = 0; i < n; i++)
    {
      Tensor *t = entries[i].t;
      t->data = g_try_malloc (MAX (entries[i].nbytes, 1));
      /* one NaN or infinity poisons every output pixel: refuse it */
      if (!t->data)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                       "out of memory for tensor %s", t->name);
          return FALSE;
        }
      memcpy (t->data, data + entries[i].offset, entries[i].nbytes);
#if G_BYTE_ORDER == G_BIG_ENDIAN
      guint32 *bits = (guint32 *) t->data;
      for (gsize k = 0; k < t->n; k++)
        bits[k] = GUINT32_FROM_LE (bits[k]);
#endif
      if (!tensor_is_finite (t, error))
        return FALSE;
    }
  return TRUE;
}

/* "style.<i>.<field>" with a canonical decimal i; FALSE for any other shape */
static gboolean
parse_style_key (const char *key, guint64 *index, const char **field)
{
  const char *digits = key + strlen ("style.");
  const char *dot = strchr (digits, '.');
  if (!dot || dot == digits || dot - digits > 4 || (digits[0] == '0' && dot - digits > 1))
    return FALSE;
  for (const char *d = digits; d < dot; d++)
    if (!g_ascii_isdigit (*d))
      return FALSE;
  *index = g_ascii_strtoull (digits, NULL, 10);
  *field = dot + 1;
  return TRUE;
}

/* The reserved keys must have their types; unknown style fields are kept,
 * as a later minor version may add some. */
static gboolean
check_reserved_keys (const NsWeights *w, GError **error)
{
  if (!kv_get (w, "arch", KV_STRING))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "no string key \"arch\"");
      return FALSE;
    }
  if (g_hash_table_contains (w->kv_index, "styles") && !kv_get (w, "styles", KV_STRV))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "key \"styles\" is not a string list");
      return FALSE;
    }
  int n_styles = ns_weights_n_styles (w);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < n_styles; i++)
    {
      const char *name = ns_weights_style_name (w, i);
      if (!valid_name (name, strlen (name)) || !g_hash_table_add (seen, (gpointer) name))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "style %d has an empty, overlong or repeated name", i);
          return FALSE;
        }
    }
  for (guint k = 0; k < w->kvs->len; k++)
    {
      const Kv *kv = w->kvs->pdata[k];
      guint64 index;
      const char *field;
      if (!g_str_has_prefix (kv->key, "style."))
        continue;
      if (!parse_style_key (kv->key, &index, &field) || index >= (guint64) n_styles)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "key %s names no style (there are %d)", kv->key, n_styles);
          return FALSE;
        }
      if ((strcmp (field, "source") == 0 && kv->type != KV_STRING)
          || (strcmp (field, "thumbnail") == 0
              && (kv->type != KV_BYTES
                  || !is_png (g_bytes_get_data (kv->v.bytes, NULL),
                              g_bytes_get_size (kv->v.bytes)))))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                       "key %s does not hold a %s", kv->key,
                       strcmp (field, "source") == 0 ? "string" : "PNG image");
          return FALSE;
        }
    }
  return TRUE;
}

static guint16
read_le16 (const guint8 *p)
{
  return (guint16) (p[0] | p[1] << 8);
}

static guint32
read_le32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint64
read_le64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

/* Checks in the order that gives the most useful message: what the file is,
 * its version, its size, its checksum, then its structure and shapes. */
static NsWeights *
parse_file (const guint8 *data, gsize len, GError **error)
{
  /* (len == 0 first: data may then be NULL, which memcmp may not get) */
  if (len == 0 || (len < sizeof NSW_MAGIC && memcmp (data, NSW_MAGIC, len) == 0))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TRUNCATED,
                   "file ends after %" G_GSIZE_FORMAT " bytes, inside the header", len);
      return NULL;
    }
  if (len < sizeof NSW_MAGIC || memcmp (data, NSW_MAGIC, sizeof NSW_MAGIC) != 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_BAD_MAGIC,
                   "not a Neural Style weight file (bad magic)");
      return NULL;
    }
  if (len < 12)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TRUNCATED,
                   "file ends after %" G_GSIZE_FORMAT " bytes, inside the header", len);
      return NULL;
    }
  int major = read_le16 (data + 8), minor = read_le16 (data + 10);
  if (major > NS_WEIGHTS_MAJOR)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_VERSION,
                   "format version %d.%d is newer than the %d.x this program reads",
                   major, minor, NS_WEIGHTS_MAJOR);
      return NULL;
    }
  if (major < 1)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT, "format version %d.%d does not exist",
                   major, minor);
      return NULL;
    }
  if (len < HEADER_SIZE)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TRUNCATED,
                   "file ends after %" G_GSIZE_FORMAT " bytes, inside the header", len);
      return NULL;
    }

  guint32 n_kv = read_le32 (data + 12), n_tensors = read_le32 (data + 16);
  guint64 data_offset = read_le64 (data + 24), file_size = read_le64 (data + 32);
  if (file_size > NS_WEIGHTS_MAX_BYTES || len > NS_WEIGHTS_MAX_BYTES)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                   "file of %" G_GUINT64_FORMAT " bytes is over the %" G_GUINT64_FORMAT
                   "-byte limit", MAX (file_size, (guint64) len), NS_WEIGHTS_MAX_BYTES);
      return NULL;
    }
  if (file_size > len)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TRUNCATED,
                   "file has %" G_GSIZE_FORMAT " of its %" G_GUINT64_FORMAT " bytes",
                   len, file_size);
      return NULL;
    }
  if (file_size < len)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "%" G_GUINT64_FORMAT " bytes follow the declared end of the file",
                   (guint64) len - file_size);
      return NULL;
    }
  if (data_offset < HEADER_SIZE || data_offset > file_size || data_offset % DATA_ALIGN)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "data section offset %" G_GUINT64_FORMAT " is invalid", data_offset);
      return NULL;
    }

  guint8 digest[DIGEST_SIZE];
  file_digest (data, len, digest);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  /* the fuzzer cannot forge digests; it skips this to reach the parser */
  if (memcmp (digest, data + DIGEST_OFFSET, DIGEST_SIZE) != 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_CHECKSUM,
                   "SHA-256 does not match: the file is damaged");
      return NULL;
    }
#endif

  g_autoptr (NsWeights) w = weights_new_empty ();
  w->major = major;
  w->minor = minor;
  w->sha256 = hex_digest (digest);

  Cursor meta = { data, data_offset, HEADER_SIZE };
  /* a key/value takes at least 17 bytes; the loop would stop anyway, but
   * this gives the clearer message */
  if (n_kv > (data_offset - HEADER_SIZE) / 17)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "header declares %u keys, more than the metadata can hold", n_kv);
      return NULL;
    }
  for (guint32 i = 0; i < n_kv; i++)
    if (!parse_kv (w, &meta, minor, error))
      return NULL;
  if (!parse_tensors (w, &meta, n_tensors, data + data_offset,
                      file_size - data_offset, error))
    return NULL;
  if (!check_reserved_keys (w, error))
    return NULL;
  return g_steal_pointer (&w);
}

NsWeights *
ns_weights_parse (const guint8 *data, gsize len, const char *name, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  NsWeights *w = parse_file (data, len, error);
  if (!w)
    g_prefix_error (error, "%s: ", name ? name : "(memory)");
  return w;
}

NsWeights *
ns_weights_read (const char *path, GError **error)
{
  g_autofree gchar *display = g_filename_display_name (path);
  GStatBuf st;
  /* refuse before reading a huge file, or a device that never ends, into
   * memory */
  gboolean have_stat = g_stat (path, &st) == 0;
  if (have_stat && !S_ISREG (st.st_mode))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "%s: not a regular file", display);
      return NULL;
    }
  if (have_stat && (guint64) st.st_size > NS_WEIGHTS_MAX_BYTES)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_TOO_LARGE,
                   "%s: file of %" G_GUINT64_FORMAT " bytes is over the %"
                   G_GUINT64_FORMAT "-byte limit", display,
                   (guint64) st.st_size, NS_WEIGHTS_MAX_BYTES);
      return NULL;
    }
  g_autofree gchar *contents = NULL;
  gsize len;
  GError *local = NULL;
  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "%s: cannot read: %s",
                   display, local->message);
      g_error_free (local);
      return NULL;
    }
  return ns_weights_parse ((const guint8 *) contents, len, display, error);
}

/* ---- describe ------------------------------------------------------------ */

static void
describe_value (GString *s, const Kv *kv)
{
  switch (kv->type)
    {
    case KV_INT:
      g_string_append_printf (s, "%" G_GINT64_FORMAT, kv->v.i);
      break;
    case KV_DOUBLE:
      {
        /* the shortest of %.15g / %.17g that reads back as the same double */
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd (buf, sizeof buf, "%.15g", kv->v.d);
        if (g_ascii_strtod (buf, NULL) != kv->v.d)
          g_ascii_formatd (buf, sizeof buf, "%.17g", kv->v.d);
        g_string_append (s, buf);
        break;
      }
    case KV_STRING:
      g_string_append_printf (s, "\"%s\"", kv->v.s);
      break;
    case KV_STRV:
      g_string_append_c (s, '[');
      for (int i = 0; kv->v.strv[i]; i++)
        g_string_append_printf (s, "%s\"%s\"", i ? ", " : "", kv->v.strv[i]);
      g_string_append_c (s, ']');
      break;
    case KV_BYTES:
      g_string_append_printf (s, "%" G_GSIZE_FORMAT " bytes",
                              g_bytes_get_size (kv->v.bytes));
      break;
    default:
      g_assert_not_reached ();
    }
}

gchar *
ns_weights_describe (const NsWeights *w)
{
  GString *s = g_string_new (NULL);
  const char *arch = ns_weights_arch (w);

  g_string_append_printf (s, "architecture: %s\n", arch ? arch : "(none)");
  if (w->major)
    g_string_append_printf (s, "format version: %d.%d\n", w->major, w->minor);
  g_string_append (s, "hyper-parameters:\n");
  for (guint i = 0; i < w->kvs->len; i++)
    {
      const Kv *kv = w->kvs->pdata[i];
      if (is_reserved_key (kv->key))
        continue;
      g_string_append_printf (s, "  %s = ", kv->key);
      describe_value (s, kv);
      g_string_append_c (s, '\n');
    }

  int n_styles = ns_weights_n_styles (w);
  g_string_append_printf (s, "styles: %d\n", n_styles);
  for (int i = 0; i < n_styles; i++)
    {
      const char *source = ns_weights_style_source (w, i);
      gsize png_len;
      const guint8 *png = ns_weights_style_thumbnail (w, i, &png_len);
      g_string_append_printf (s, "  %d %s  source: %s  thumbnail: ", i,
                              ns_weights_style_name (w, i), source ? source : "(unknown)");
      /* the IHDR chunk (width, height big-endian) always comes first */
      if (png && png_len >= 24 && memcmp (png + 12, "IHDR", 4) == 0)
        g_string_append_printf (s, "%ux%u PNG, %" G_GSIZE_FORMAT " bytes\n",
                                read_be32 (png + 16), read_be32 (png + 20), png_len);
      else if (png)
        g_string_append_printf (s, "PNG, %" G_GSIZE_FORMAT " bytes\n", png_len);
      else
        g_string_append (s, "none\n");
    }

  g_string_append_printf (s, "tensors: %u\n", w->tensors->len);
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const Tensor *t = w->tensors->pdata[i];
      g_string_append_printf (s, "  %s [", t->name);
      for (int d = 0; d < t->ndim; d++)
        g_string_append_printf (s, "%s%d", d ? ", " : "", t->dims[d]);
      g_string_append_printf (s, "] %" G_GSIZE_FORMAT " bytes\n", t->n * sizeof (float));
    }
  g_string_append_printf (s, "total parameters: %" G_GUINT64_FORMAT "\n",
                          ns_weights_n_params (w));
  if (w->sha256)
    g_string_append_printf (s, "checksum: ok (sha256 %s)\n", w->sha256);
  else
    g_string_append (s, "checksum: none (not loaded from a file)\n");
  return g_string_free (s, FALSE);
}

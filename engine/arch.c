#include "ns_arch.h"
#include "ns_error.h"
#include <string.h>

static void
free_arch_tensor (gpointer p)
{
  NsArchTensor *t = p;
  g_free (t->name);
  g_free (t);
}

static void
add_tensor (GPtrArray *list, int ndim, const int *dims, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static void
add_tensor (GPtrArray *list, int ndim, const int *dims, const char *fmt, ...)
{
  NsArchTensor *t = g_new0 (NsArchTensor, 1);
  va_list args;
  va_start (args, fmt);
  t->name = g_strdup_vprintf (fmt, args);
  va_end (args);
  t->ndim = ndim;
  memcpy (t->dims, dims, sizeof (int) * ndim);
  g_ptr_array_add (list, t);
}

/* NAME.weight [out][in][k][k], NAME.bias [out], and with n_styles > 0 the
 * conditional instance norm NAME.norm.gamma / NAME.norm.beta [n_styles][out]. */
static void
add_conv (GPtrArray *list, const char *name, int in, int out, int k, int n_styles)
{
  add_tensor (list, 4, (int[]) { out, in, k, k }, "%s.weight", name);
  add_tensor (list, 1, (int[]) { out }, "%s.bias", name);
  if (n_styles > 0)
    {
      add_tensor (list, 2, (int[]) { n_styles, out }, "%s.norm.gamma", name);
      add_tensor (list, 2, (int[]) { n_styles, out }, "%s.norm.beta", name);
    }
}

static gboolean
get_int_in_range (const NsWeights *w, const char *key, gint64 lo, gint64 hi,
                  int *out, GError **error)
{
  gint64 v;
  if (!ns_weights_get_int (w, key, &v))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "architecture %s needs the integer hyper-parameter %s",
                   ns_weights_arch (w), key);
      return FALSE;
    }
  if (v < lo || v > hi)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "hyper-parameter %s = %" G_GINT64_FORMAT " is outside %"
                   G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                   key, v, lo, hi);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

static gboolean
generator_tensors (const NsWeights *w, GPtrArray *list, GError **error)
{
  int c, r;
  gboolean bilinear;
  int s = ns_weights_n_styles (w);
  if (!get_int_in_range (w, "base_channels", 1, NS_ARCH_MAX_BASE_CHANNELS, &c, error)
      || !get_int_in_range (w, "res_blocks", 0, NS_ARCH_MAX_RES_BLOCKS, &r, error)
      || !ns_arch_generator_bilinear (w, &bilinear, error))
    return FALSE;
  if (s < 1 || s > NS_ARCH_MAX_STYLES)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "architecture %s needs 1..%d styles, not %d",
                   NS_ARCH_GENERATOR, NS_ARCH_MAX_STYLES, s);
      return FALSE;
    }
  add_conv (list, "enc1", 3, c, 9, s);
  add_conv (list, "enc2", c, 2 * c, 3, s);       /* stride 2 */
  add_conv (list, "enc3", 2 * c, 4 * c, 3, s);   /* stride 2 */
  for (int i = 0; i < r; i++)
    {
      char name[32];
      g_snprintf (name, sizeof name, "res%d.conv1", i);
      add_conv (list, name, 4 * c, 4 * c, 3, s);
      g_snprintf (name, sizeof name, "res%d.conv2", i);
      add_conv (list, name, 4 * c, 4 * c, 3, s);
    }
  add_conv (list, "dec1", 4 * c, 2 * c, 3, s);   /* after a x2 upsample */
  add_conv (list, "dec2", 2 * c, c, 3, s);       /* after a x2 upsample */
  /* optional "out_kernel" (odd, 1..9, default 9): a 3x3 'out' is several
   * times cheaper at full resolution, where a 3-row GEMM runs slowly */
  gint64 out_k = 9;
  if (ns_weights_get_int (w, "out_kernel", &out_k)
      && (out_k < 1 || out_k > 9 || out_k % 2 == 0))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "hyper-parameter out_kernel = %" G_GINT64_FORMAT
                   " is not an odd size in 1..9", out_k);
      return FALSE;
    }
  add_conv (list, "out", c, 3, (int) out_k, 0);  /* no norm: straight to RGB */
  return TRUE;
}

static gboolean
discriminator_tensors (const NsWeights *w, GPtrArray *list, GError **error)
{
  int c, layers;
  if (!get_int_in_range (w, "base_channels", 1, NS_ARCH_MAX_BASE_CHANNELS, &c, error)
      || !get_int_in_range (w, "layers", 1, NS_ARCH_MAX_DISC_LAYERS, &layers, error))
    return FALSE;
  int in = 3;
  for (int i = 0; i < layers; i++)
    {
      char name[16];
      int out = c << i;
      g_snprintf (name, sizeof name, "d%d", i);
      add_conv (list, name, in, out, 3, 0);      /* stride 2 */
      in = out;
    }
  add_conv (list, "out", in, 1, 3, 0);           /* one logit per patch */
  return TRUE;
}

GPtrArray *
ns_arch_tensors (const NsWeights *w, GError **error)
{
  const char *arch = ns_weights_arch (w);
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (free_arch_tensor);
  gboolean ok;

  if (g_strcmp0 (arch, NS_ARCH_GENERATOR) == 0)
    ok = generator_tensors (w, list, error);
  else if (g_strcmp0 (arch, NS_ARCH_DISCRIMINATOR) == 0)
    ok = discriminator_tensors (w, list, error);
  else
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "unknown architecture \"%s\"", arch ? arch : "(none)");
      ok = FALSE;
    }
  return ok ? g_steal_pointer (&list) : NULL;
}

static gchar *
shape_text (int ndim, const int *dims)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
ns_arch_check (const NsWeights *w, GError **error)
{
  g_autoptr (GPtrArray) expected = ns_arch_tensors (w, error);
  if (!expected)
    return FALSE;

  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < expected->len; i++)
    {
      const NsArchTensor *e = expected->pdata[i];
      int dims[NS_WEIGHTS_MAX_DIMS], ndim;
      g_hash_table_add (names, e->name);
      if (!ns_weights_tensor (w, e->name, dims, &ndim))
        {
          g_set_error (error, NS_ERROR, NS_ERROR_SHAPE,
                       "tensor %s is missing (architecture %s)",
                       e->name, ns_weights_arch (w));
          return FALSE;
        }
      if (ndim != e->ndim || memcmp (dims, e->dims, sizeof (int) * ndim) != 0)
        {
          g_autofree gchar *want = shape_text (e->ndim, e->dims);
          g_autofree gchar *got = shape_text (ndim, dims);
          g_set_error (error, NS_ERROR, NS_ERROR_SHAPE,
                       "tensor %s has shape %s where architecture %s needs %s",
                       e->name, got, ns_weights_arch (w), want);
          return FALSE;
        }
    }
  /* every expected tensor is present, so equal counts mean no extra ones */
  int n = ns_weights_n_tensors (w);
  if ((guint) n != expected->len)
    for (int i = 0; i < n; i++)
      {
        const char *name = ns_weights_tensor_name (w, i);
        if (!g_hash_table_contains (names, name))
          {
            g_set_error (error, NS_ERROR, NS_ERROR_SHAPE,
                         "tensor %s is not part of architecture %s",
                         name, ns_weights_arch (w));
            return FALSE;
          }
      }
  return TRUE;
}

gboolean
ns_arch_generator_bilinear (const NsWeights *w, gboolean *bilinear, GError **error)
{
  const char *mode = NS_ARCH_UPSAMPLE_NEAREST;
  ns_weights_get_string (w, "upsample", &mode);   /* optional */
  *bilinear = g_strcmp0 (mode, NS_ARCH_UPSAMPLE_BILINEAR) == 0;
  if (*bilinear || g_strcmp0 (mode, NS_ARCH_UPSAMPLE_NEAREST) == 0)
    return TRUE;
  g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
               "hyper-parameter upsample = \"%s\" is neither \"%s\" nor \"%s\"",
               mode, NS_ARCH_UPSAMPLE_NEAREST, NS_ARCH_UPSAMPLE_BILINEAR);
  return FALSE;
}

/* ---- network files ------------------------------------------------------- */

static NsWeights *
checked (NsWeights *w, const char *name, GError **error)
{
  if (w && !ns_arch_check (w, error))
    {
      g_prefix_error (error, "%s: ", name);
      g_clear_pointer (&w, ns_weights_free);
    }
  return w;
}

NsWeights *
ns_weights_load_from_data (const guint8 *data, gsize len, const char *name,
                           GError **error)
{
  if (!name)
    name = "(memory)";
  return checked (ns_weights_parse (data, len, name, error), name, error);
}

NsWeights *
ns_weights_load (const char *path, GError **error)
{
  g_autofree gchar *display = g_filename_display_name (path);
  return checked (ns_weights_read (path, error), display, error);
}

GBytes *
ns_weights_to_bytes (const NsWeights *w, GError **error)
{
  if (!ns_arch_check (w, error))
    return NULL;
  return ns_weights_serialise (w, error);
}

gboolean
ns_weights_save (const NsWeights *w, const char *path, GError **error)
{
  g_autoptr (GBytes) bytes = ns_weights_to_bytes (w, error);
  if (!bytes)
    {
      g_autofree gchar *display = g_filename_display_name (path);
      g_prefix_error (error, "%s: ", display);
      return FALSE;
    }
  return ns_weights_write (bytes, path, error);
}

/* The installed presets: a scan of the weights folder (see ns_presets.h). */
#include "ns_presets.h"
#include "ns_config.h"
#include "ns_arch.h"
#include "ns_error.h"
#include "ns_generator.h"
#include "ns_imgproc.h"
#include "ns_weights.h"
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

void
ns_preset_free (NsPreset *preset)
{
  if (!preset)
    return;
  g_free (preset->name);
  g_free (preset->file);
  g_free (preset->source);
  if (preset->thumbnail)
    g_bytes_unref (preset->thumbnail);
  g_free (preset);
}

const char *
ns_presets_dir (void)
{
  const char *dir = g_getenv ("NEURAL_STYLE_WEIGHTS_DIR");
  return dir && dir[0] ? dir : NS_WEIGHTS_DIR;
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  const NsPreset *pa = *(NsPreset *const *) a, *pb = *(NsPreset *const *) b;
  int c = g_utf8_collate (pa->name, pb->name);
  return c ? c : strcmp (pa->file, pb->file);
}

static NsPreset *
preset_copy (const NsPreset *p)
{
  NsPreset *c = g_new0 (NsPreset, 1);
  c->name = g_strdup (p->name);
  c->file = g_strdup (p->file);
  c->index = p->index;
  c->source = g_strdup (p->source);
  c->thumbnail = p->thumbnail ? g_bytes_ref (p->thumbnail) : NULL;
  return c;
}

/* Every weight file read so far, kept while unchanged on disk: listing
 * loads and hashes every file (~25 ms for a 5 MB one), the dialog's
 * preview looks a preset up and runs it on every change, and the run needs
 * the same file the lookup just read.  A load error is kept too, so a
 * broken file is not hashed again on every listing. */
struct _NsPresetModel
{
  gint       ref;
  NsWeights *w;
  char      *path;
  GMutex     lock;
  NsGenerator *idle;   /* under lock: a planned generator no run holds */
};

static NsPresetModel *
model_new (NsWeights *w, const char *path)
{
  NsPresetModel *m = g_new0 (NsPresetModel, 1);
  m->ref = 1;
  m->w = w;
  m->path = g_strdup (path);
  g_mutex_init (&m->lock);
  return m;
}

NsPresetModel *
ns_preset_model_ref (NsPresetModel *m)
{
  g_atomic_int_inc (&m->ref);
  return m;
}

void
ns_preset_model_unref (NsPresetModel *m)
{
  if (!m || !g_atomic_int_dec_and_test (&m->ref))
    return;
  ns_generator_free (m->idle);
  g_mutex_clear (&m->lock);
  ns_weights_free (m->w);
  g_free (m->path);
  g_free (m);
}

NsGenerator *
ns_preset_model_take_generator (NsPresetModel *m, GError **error)
{
  g_mutex_lock (&m->lock);
  NsGenerator *g = g_steal_pointer (&m->idle);
  g_mutex_unlock (&m->lock);
  return g ? g : ns_generator_new_from_weights (m->w, error);
}

void
ns_preset_model_give_back_generator (NsPresetModel *m, NsGenerator *g)
{
  if (!g)
    return;
  ns_generator_set_progress (g, NULL);
  if (ns_generator_plan_bytes (g) <= NS_PRESET_KEPT_PLAN_MAX_BYTES)
    {
      g_mutex_lock (&m->lock);
      if (!m->idle)
        m->idle = g_steal_pointer (&g);
      g_mutex_unlock (&m->lock);
    }
  ns_generator_free (g);
}

const NsWeights *
ns_preset_model_weights (const NsPresetModel *m)
{
  return m->w;
}

const char *
ns_preset_model_path (const NsPresetModel *m)
{
  return m->path;
}

typedef struct
{
  struct stat st;
  NsPresetModel *model;   /* NULL when it did not load */
  GError     *error;      /* why not */
  GPtrArray  *presets;    /* its presets (empty unless a generator) */
} FileEntry;

static GMutex      files_lock;
static GHashTable *files;    /* path -> FileEntry, under files_lock */

static void
file_entry_free (FileEntry *e)
{
  ns_preset_model_unref (e->model);
  g_clear_error (&e->error);
  g_ptr_array_unref (e->presets);
  g_free (e);
}

static gboolean
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static GPtrArray *
presets_of (const NsWeights *w, const char *file)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_preset_free);
  if (!w || g_strcmp0 (ns_weights_arch (w), NS_ARCH_GENERATOR) != 0)
    return out;
  for (int i = 0; i < ns_weights_n_styles (w); i++)
    {
      const char *name = ns_weights_style_name (w, i);
      if (strcmp (name, NS_IDENTITY_STYLE) == 0)
        continue;
      NsPreset *preset = g_new0 (NsPreset, 1);
      preset->name = g_strdup (name);
      preset->file = g_strdup (file);
      preset->index = i;
      preset->source = g_strdup (ns_weights_style_source (w, i));
      gsize len = 0;
      const guint8 *png = ns_weights_style_thumbnail (w, i, &len);
      if (png && len)
        preset->thumbnail = g_bytes_new (png, len);
      g_ptr_array_add (out, preset);
    }
  return out;
}

/* The entry of file, read again when it changed; call with files_lock
 * held.  NULL only when the file cannot be stat'ed. */
static FileEntry *
file_entry (const char *file, GError **error)
{
  struct stat st;
  if (stat (file, &st) != 0)
    {
      int e = errno;
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "cannot read %s: %s", file,
                   g_strerror (e));
      return NULL;
    }
  if (!files)
    files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) file_entry_free);
  FileEntry *e = g_hash_table_lookup (files, file);
  if (e && same_file (&e->st, &st))
    return e;
  e = g_new0 (FileEntry, 1);
  e->st = st;
  NsWeights *w = ns_weights_load (file, &e->error);
  e->model = w ? model_new (w, file) : NULL;
  e->presets = presets_of (w, file);
  /* a file replaced while it was read is read again next time */
  struct stat after;
  if (stat (file, &after) != 0 || !same_file (&st, &after))
    e->st.st_size = -1;
  g_hash_table_insert (files, g_strdup (file), e);
  return e;
}

NsPresetModel *
ns_preset_model_open (const char *path, GError **error)
{
  g_mutex_lock (&files_lock);
  FileEntry *e = file_entry (path, error);
  NsPresetModel *m = e && e->model ? ns_preset_model_ref (e->model) : NULL;
  if (e && !m)
    g_propagate_error (error, g_error_copy (e->error));
  g_mutex_unlock (&files_lock);
  if (m && g_strcmp0 (ns_weights_arch (m->w), NS_ARCH_GENERATOR) != 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "%s holds a %s, not a generator of presets", path, ns_weights_arch (m->w));
      g_clear_pointer (&m, ns_preset_model_unref);
    }
  return m;
}

static void
add_presets_of (GPtrArray *out, const char *file)
{
  g_mutex_lock (&files_lock);
  FileEntry *e = file_entry (file, NULL);
  for (guint i = 0; e && i < e->presets->len; i++)
    g_ptr_array_add (out, preset_copy (e->presets->pdata[i]));
  g_mutex_unlock (&files_lock);
}

GPtrArray *
ns_presets_list (const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_preset_free);
  if (!dir)
    dir = ns_presets_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  while (d && (entry = g_dir_read_name (d)))
    if (g_str_has_suffix (entry, ".nsw"))
      {
        g_autofree gchar *file = g_build_filename (dir, entry, NULL);
        add_presets_of (out, file);
      }
  g_ptr_array_sort (out, by_name);
  return out;
}

NsPreset *
ns_presets_find (const char *dir, const char *name, GError **error)
{
  if (!dir)
    dir = ns_presets_dir ();
  g_autoptr (GPtrArray) all = ns_presets_list (dir);
  for (guint i = 0; i < all->len; i++)
    {
      NsPreset *preset = all->pdata[i];
      if (strcmp (preset->name, name) == 0)
        return g_ptr_array_steal_index (all, i);
    }
  g_set_error (error, NS_ERROR, NS_ERROR_NOT_FOUND,
               "no preset called '%s' in %s", name, dir);
  return NULL;
}

/* ---- reference pictures ------------------------------------------------------ */

static gchar *
style_image_key (const char *name)
{
  return g_strconcat ("style_image.", name, NULL);
}

void
ns_weights_set_style_image (NsWeights *w, const char *name, const NsImage *img)
{
  g_autoptr (NsPlanes) rgb = ns_planes_from_image_rgb (img, NULL);
  if (!rgb)
    return;
  int h, wd;
  ns_fit_long_side (rgb->h, rgb->w, MIN (NS_STYLE_IMAGE_SIDE, MAX (rgb->w, rgb->h)), &h, &wd);
  g_autoptr (NsPlanes) small = ns_planes_new (3, h, wd, NULL);
  if (!small)
    return;
  ns_resize (rgb->data, 3, rgb->h, rgb->w, small->data, h, wd);
  size_t n = (size_t) h * wd;
  g_autofree guint8 *bytes = g_malloc (8 + 3 * n);
  guint32 dims[2] = { GUINT32_TO_LE ((guint32) wd), GUINT32_TO_LE ((guint32) h) };
  memcpy (bytes, dims, 8);
  for (size_t j = 0; j < n; j++)
    for (int c = 0; c < 3; c++)
      bytes[8 + 3 * j + c] = (guint8) lrintf (CLAMP (small->data[c * n + j], 0.0f, 1.0f) * 255.0f);
  g_autofree gchar *key = style_image_key (name);
  ns_weights_set_bytes (w, key, bytes, 8 + 3 * n);
}

NsImage *
ns_weights_get_style_image (const NsWeights *w, const char *name, GError **error)
{
  g_autofree gchar *key = style_image_key (name);
  const guint8 *bytes;
  gsize len;
  if (!ns_weights_get_bytes (w, key, &bytes, &len))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_NOT_FOUND,
                   "the weights hold no picture of style '%s' to refine towards", name);
      return NULL;
    }
  guint32 dims[2];
  if (len >= 8)
    memcpy (dims, bytes, 8);
  guint32 wd = len >= 8 ? GUINT32_FROM_LE (dims[0]) : 0, h = len >= 8 ? GUINT32_FROM_LE (dims[1]) : 0;
  if (wd < 1 || h < 1 || wd > 4096 || h > 4096 || len != 8 + 3 * (gsize) wd * h)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_FORMAT,
                   "the picture of style '%s' in the weights is malformed", name);
      return NULL;
    }
  NsImage *img = ns_image_new ((int) wd, (int) h, 3, error);
  if (!img)
    return NULL;
  for (size_t j = 0; j < 3 * (size_t) wd * h; j++)
    img->data[j] = bytes[8 + j] / 255.0f;
  return img;
}

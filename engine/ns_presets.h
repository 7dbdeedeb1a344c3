/* The installed preset styles: every style row of every .nsw generator file
 * in a weights folder.  One lookup for every front end (CLI, plug-in,
 * dialog), so a name means the same preset everywhere. */
#pragma once
#include <glib.h>
#include "ns_generator.h"
#include "ns_image.h"
#include "ns_params.h"
#include "ns_weights.h"

G_BEGIN_DECLS

typedef struct
{
  char   *name;        /* the style's name, e.g. "hokusai-great-wave" */
  char   *file;        /* the .nsw file that holds it */
  int     index;       /* its row in that file */
  char   *source;      /* where its image came from, or NULL */
  GBytes *thumbnail;   /* PNG bytes, or NULL */
} NsPreset;

void ns_preset_free (NsPreset *preset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsPreset, ns_preset_free)

/* The preset a first run starts from (dialog, run.sh's demo). */
#define NS_DEFAULT_PRESET "vangogh-harvest"

/* dir NULL = the installed folder (NS_WEIGHTS_DIR, or the folder named by
 * the environment variable NEURAL_STYLE_WEIGHTS_DIR when set, which tests
 * use to point at the build tree). */
const char *ns_presets_dir (void);

/* Every preset in dir, sorted by name, as NsPreset* (free with
 * g_ptr_array_unref).  Files that are not generators or fail to load are
 * skipped (ns_weights_load on them says why); internal rows (the identity
 * style used for strength) are not listed.  A missing folder gives an
 * empty array; never NULL. */
GPtrArray *ns_presets_list (const char *dir);

/* The preset called name in dir; NULL with NS_ERROR_NOT_FOUND (naming the
 * folder) when there is none. */
NsPreset *ns_presets_find (const char *dir, const char *name, GError **error);

/* The generator of presets in the .nsw file at path, loaded once and kept
 * while the file is unchanged on disk (the same cache the listing uses).
 * A front end opens it before a run (NsParams.model) and unrefs it when
 * done; a file replaced meanwhile leaves the open model as it was.  NULL
 * with the loader's error, or NS_ERROR_FORMAT when the file holds another
 * network. */
NsPresetModel   *ns_preset_model_open    (const char *path, GError **error);
NsPresetModel   *ns_preset_model_ref     (NsPresetModel *model);
void             ns_preset_model_unref   (NsPresetModel *model);
const NsWeights *ns_preset_model_weights (const NsPresetModel *model);
const char      *ns_preset_model_path    (const NsPresetModel *model);
/* The model's network for one run: the generator the last run gave back,
 * still planned (arena, workspace) for that run's size, or a new one.  A
 * caller takes it, runs it alone, and gives it back; two runs at once get
 * two generators.  Giving back keeps one generator whose plan holds at most
 * NS_PRESET_KEPT_PLAN_MAX_BYTES and frees the rest; the kept one's progress
 * pointer is cleared.  So the dialog's previews (a 256x256 one plans ~16
 * MiB) skip the arena's allocation and page faults, and a full-size run
 * (~240 bytes a pixel) frees its memory as before. */
#define NS_PRESET_KEPT_PLAN_MAX_BYTES ((size_t) 64 << 20)
NsGenerator     *ns_preset_model_take_generator      (NsPresetModel *model,
                                                      GError **error);
void             ns_preset_model_give_back_generator (NsPresetModel *model,
                                                      NsGenerator *generator);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsPresetModel, ns_preset_model_unref)

/* The picture a preset was trained on, kept small in its weight file (key
 * "style_image.NAME": little-endian u32 width and height, then RGB8), so
 * that refinement can optimise towards it with no image file around. */
#define NS_STYLE_IMAGE_SIDE 384
/* Stores img scaled to NS_STYLE_IMAGE_SIDE on its long side (never up). */
void     ns_weights_set_style_image (NsWeights *w, const char *name,
                                     const NsImage *img);
/* An RGB image; NULL with NS_ERROR_NOT_FOUND when the file has none for
 * name, NS_ERROR_FORMAT when the stored bytes are malformed. */
NsImage *ns_weights_get_style_image (const NsWeights *w, const char *name,
                                     GError **error);

G_END_DECLS

/* Weight files (.nsw): typed key/values, styles and float32 tensors.
 * The byte layout is specified in weights/FORMAT.md.  The loader trusts
 * nothing in a file: every length and offset is checked against the file
 * size before it is read, and every failure is a GError in the NS_ERROR
 * domain whose message names the file. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Version written by this code.  A reader accepts any file of the same major
 * version (a newer minor only adds keys and value types, which are skipped)
 * and refuses a newer major with NS_ERROR_VERSION. */
#define NS_WEIGHTS_MAJOR 1
#define NS_WEIGHTS_MINOR 0

/* No file, tensor or value may be larger than 2 GiB (NS_ERROR_TOO_LARGE). */
#define NS_WEIGHTS_MAX_BYTES ((guint64) 1 << 31)
/* Keys and tensor names: 1 to this many bytes of UTF-8. */
#define NS_WEIGHTS_MAX_NAME 255
#define NS_WEIGHTS_MAX_DIMS 4

typedef struct NsWeights NsWeights;

/* An empty set of weights for the architecture arch (e.g. "ns-generator-1"),
 * to be filled by a writer. */
NsWeights *ns_weights_new  (const char *arch);
void       ns_weights_free (NsWeights *w);

/* The container alone: what any .nsw file must be, whatever network it
 * holds.  Networks are read and written through ns_arch.h (ns_weights_load,
 * ns_weights_save), which adds the architecture's tensor shapes. */
/* Parses the bytes of a whole file; name (the file) prefixes any error. */
NsWeights *ns_weights_parse (const guint8 *data, gsize len, const char *name,
                             GError **error);
/* Reads and parses the file at path (refused above NS_WEIGHTS_MAX_BYTES). */
NsWeights *ns_weights_read  (const char *path, GError **error);
/* The bytes of a .nsw file for w (every tensor finite). */
GBytes    *ns_weights_serialise (const NsWeights *w, GError **error);
/* Atomic: writes bytes to a temporary file in path's folder, syncs it,
 * renames it over path. */
gboolean   ns_weights_write (GBytes *bytes, const char *path, GError **error);

/* Multi-line text for `neural-style info`: architecture, hyper-parameters,
 * styles, every tensor, total parameters and the checksum. */
gchar     *ns_weights_describe (const NsWeights *w);

const char *ns_weights_arch (const NsWeights *w);

/* ---- typed key/values (hyper-parameters, notes) -------------------------- *
 * Keys are 1..NS_WEIGHTS_MAX_NAME bytes of UTF-8; strings must be UTF-8.
 * "arch", "styles" and "style.*" are reserved (use the style functions).
 * Setting a key again replaces its value and type.  A getter returns FALSE
 * when the key is absent or holds another type; the pointers it gives stay
 * valid until w is changed or freed. */
void     ns_weights_set_int    (NsWeights *w, const char *key, gint64 value);
void     ns_weights_set_double (NsWeights *w, const char *key, double value);
void     ns_weights_set_string (NsWeights *w, const char *key, const char *value);
void     ns_weights_set_strv   (NsWeights *w, const char *key, const char *const *strv);
void     ns_weights_set_bytes  (NsWeights *w, const char *key,
                                const void *data, gsize len);
gboolean ns_weights_get_int    (const NsWeights *w, const char *key, gint64 *out);
gboolean ns_weights_get_double (const NsWeights *w, const char *key, double *out);
gboolean ns_weights_get_string (const NsWeights *w, const char *key, const char **out);
gboolean ns_weights_get_strv   (const NsWeights *w, const char *key,
                                const char *const **out);
gboolean ns_weights_get_bytes  (const NsWeights *w, const char *key,
                                const guint8 **data, gsize *len);

/* ---- styles ---------------------------------------------------------------
 * Style i owns row i of every conditional-norm gamma/beta tensor.  name is
 * non-empty UTF-8 and unique (else NS_ERROR_INVALID_ARGUMENT); source (where
 * the style image came from, UTF-8) and png (a PNG thumbnail) may be NULL. */
gboolean    ns_weights_add_style (NsWeights *w, const char *name, const char *source,
                                  const guint8 *png, gsize png_len, GError **error);
int         ns_weights_n_styles      (const NsWeights *w);
/* NULL when i is out of range (or the style has no source/thumbnail) */
const char *ns_weights_style_name    (const NsWeights *w, int i);
const char *ns_weights_style_source  (const NsWeights *w, int i);
const guint8 *ns_weights_style_thumbnail (const NsWeights *w, int i, gsize *len);
/* index of the style called name, or -1 */
int         ns_weights_style_index   (const NsWeights *w, const char *name);

/* ---- tensors (float32, row-major, 1..4 dimensions, each >= 1) ------------ */
/* Copies data (product of dims floats); replaces a tensor of the same name. */
void         ns_weights_add_tensor (NsWeights *w, const char *name, int ndim,
                                    const int *dims, const float *data);
/* NULL when absent; dims_out and ndim_out may be NULL. */
const float *ns_weights_tensor (const NsWeights *w, const char *name,
                                int dims_out[NS_WEIGHTS_MAX_DIMS], int *ndim_out);
int          ns_weights_n_tensors    (const NsWeights *w);
/* in file order; NULL when i is out of range */
const char  *ns_weights_tensor_name  (const NsWeights *w, int i);
/* total number of floats in all tensors */
guint64      ns_weights_n_params     (const NsWeights *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsWeights, ns_weights_free)

G_END_DECLS

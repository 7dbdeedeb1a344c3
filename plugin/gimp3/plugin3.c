/* GIMP 3 glue for Neural Style: a GimpPlugIn with the image procedure
 * plug-in-neural-style (the 2.10 procedure's parameters, by name, limits
 * and blurb: ns_config3.c) and plug-in-neural-style-check-file for the batch
 * script.  The painting is ns_stylize_bands () in the engine, which reads each
 * region and writes its result a band of rows at a time through GEGL
 * (ns_layer_bands.c, shared with 2.10's); the parameter model
 * and the style resolution are the 2.10 plug-in's (ui/).
 *
 * Several selected drawables are each stylized.  The engine runs on every
 * one before the first write to the image, so a cancel (GIMP closes the
 * plug-in) or an error leaves the image untouched, and all the writes are
 * one undo step. */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "ns_blas.h"
#include "ns_config3.h"
#include "ns_dialog3.h"
#include "ns_error.h"
#include "ns_image.h"
#include "ns_layer_bands.h"
#include "ns_settings.h"
#include "ns_style_source.h"
#include "ns_stylize.h"

#define CHECK_FILE_PROC "plug-in-neural-style-check-file"

#define NS_TYPE_PLUG_IN (ns_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (NsPlugIn, ns_plug_in, NS, PLUG_IN, GimpPlugIn)

struct _NsPlugIn
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (NsPlugIn, ns_plug_in, GIMP_TYPE_PLUG_IN)

/* ---- checks ------------------------------------------------------------- */

static gboolean
check_drawable (GimpImage *image, GimpDrawable *drawable,
                const NsPlugValues *v, GError **error)
{
  gint id = gimp_item_get_id (GIMP_ITEM (drawable));

  if (gimp_item_get_image (GIMP_ITEM (drawable)) != image)
    return ns_settings_fail (error, "drawables: %d does not belong to image %d",
                             id, gimp_image_get_id (image));
  /* a group's pixels are its children's */
  if (gimp_item_is_group (GIMP_ITEM (drawable)))
    return ns_settings_fail (error, "drawables: %d is a layer group; pick one "
                             "of its layers (or merge the group)", id);
  if (gimp_drawable_is_indexed (drawable))
    return ns_settings_fail (error, "drawables: indexed images are not "
                             "supported; convert to RGB or Grayscale first "
                             "(Image > Mode)");
  if (v->new_layer && !gimp_item_is_layer (GIMP_ITEM (drawable)))
    return ns_settings_fail (error, "new-layer: drawable %d is a channel or "
                             "mask, not a layer; use new-layer FALSE", id);
  return TRUE;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct
{
  double done;         /* drawables finished, as a fraction of the whole */
  double share;        /* one drawable's part of the whole */
  double last_sent;
  gchar *last_stage;
} Progress;

/* Every update is a round trip to GIMP: only visible changes are sent. */
static void
report_progress (double fraction, const char *stage, gpointer data)
{
  Progress *p = data;
  double    total = CLAMP (p->done + fraction * p->share, 0.0, 1.0);

  if (stage && g_strcmp0 (stage, p->last_stage) != 0)
    {
      g_free (p->last_stage);
      p->last_stage = g_strdup (stage);
      gimp_progress_set_text_printf ("Neural Style: %s", stage);
    }
  if (total - p->last_sent >= 0.01 || total >= 1.0)
    {
      p->last_sent = total;
      gimp_progress_update (total);
    }
}

/* ---- pixels -------------------------------------------------------------- */

/* One drawable's selected region, read and stylized, waiting to be written. */
typedef struct
{
  GimpDrawable *drawable;
  NsLayerBands  layer;             /* the selection plus its context margin */
  gboolean      done;              /* layer holds a result */
  gint          x, y, width, height;   /* the selection's box in the drawable */
} Result;

static void
result_clear (Result *r)
{
  ns_layer_bands_clear (&r->layer);
  r->done = FALSE;
}

/* Non-linear float in the drawable's own colour space, so every precision
 * converts exactly enough and the engine sees the values it expects. */
static const Babl *
float_format (GimpDrawable *drawable, int *channels)
{
  gboolean    alpha = gimp_drawable_has_alpha (drawable);
  const Babl *space = gimp_drawable_get_format (drawable);

  if (gimp_drawable_is_gray (drawable))
    {
      *channels = alpha ? 2 : 1;
      return babl_format_with_space (alpha ? "Y'A float" : "Y' float", space);
    }
  *channels = alpha ? 4 : 3;
  return babl_format_with_space (alpha ? "R'G'B'A float" : "R'G'B' float", space);
}

/* Reads and stylizes; FALSE (r empty) on error.  Nothing selected inside the
 * drawable leaves r->done FALSE and returns TRUE. */
static gboolean
stylize_one (GimpDrawable *drawable, const NsParams *params,
             Progress *progress, Result *r, GError **error)
{
  GeglBuffer   *buffer;
  NsImageBands  bands;
  const Babl   *format;
  int           channels;
  gint          cx, cy, cw, ch;

  memset (r, 0, sizeof *r);
  r->drawable = drawable;
  if (!gimp_drawable_mask_intersect (drawable, &r->x, &r->y, &r->width, &r->height))
    return TRUE;

  /* the engine also sees a margin around the selection, so strokes at
   * its edge have context; only the selection is written */
  cx = MAX (0, r->x - NS_CONTEXT_MARGIN);
  cy = MAX (0, r->y - NS_CONTEXT_MARGIN);
  cw = MIN (gimp_drawable_get_width (drawable), r->x + r->width + NS_CONTEXT_MARGIN) - cx;
  ch = MIN (gimp_drawable_get_height (drawable), r->y + r->height + NS_CONTEXT_MARGIN) - cy;

  format = float_format (drawable, &channels);
  buffer = gimp_drawable_get_buffer (drawable);
  ns_layer_bands_init (&r->layer, &bands, buffer, GEGL_RECTANGLE (cx, cy, cw, ch), format,
                       channels, gimp_drawable_get_format (drawable));
  g_object_unref (buffer);

  if (!ns_stylize_bands (params, &bands, report_progress, progress, NULL, error))
    {
      result_clear (r);
      return FALSE;
    }
  r->done = TRUE;
  return TRUE;
}

/* A copy of drawable as a new layer just above it, named after the style. */
static GimpDrawable *
add_result_layer (GimpImage *image, GimpDrawable *drawable, const gchar *name)
{
  GimpLayer *layer = gimp_layer_new_from_drawable (drawable, image);
  GimpItem  *parent = gimp_item_get_parent (GIMP_ITEM (drawable));
  gint       offset_x, offset_y;

  if (!layer)
    return NULL;
  gimp_item_set_name (GIMP_ITEM (layer), name);
  gimp_drawable_get_offsets (drawable, &offset_x, &offset_y);
  if (!gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                                gimp_image_get_item_position (image, GIMP_ITEM (drawable))))
    return NULL;
  gimp_layer_set_offsets (layer, offset_x, offset_y);
  return GIMP_DRAWABLE (layer);
}

/* The shadow buffer and merge_shadow blend through the selection mask,
 * feathering included, and leave pixels outside it as they were. */
static gboolean
write_result (GimpImage *image, const Result *r, gboolean new_layer,
              const gchar *name)
{
  GimpDrawable *target = r->drawable;
  GeglBuffer   *shadow;

  if (!r->done)
    return TRUE;
  if (new_layer && !(target = add_result_layer (image, r->drawable, name)))
    return FALSE;
  shadow = gimp_drawable_get_shadow_buffer (target);
  ns_layer_bands_copy (&r->layer, GEGL_RECTANGLE (r->x, r->y, r->width, r->height), shadow);
  g_object_unref (shadow);   /* flushes the tiles to GIMP */
  gimp_drawable_merge_shadow (target, TRUE);
  gimp_drawable_update (target, r->x, r->y, r->width, r->height);
  return TRUE;
}

static GimpPDBStatusType
stylize_drawables (GimpImage *image, GimpDrawable **drawables, guint n,
                   const NsPlugValues *v, GError **error)
{
  NsStyleSource     src;
  NsParams          params;
  Progress          progress = { 0.0, 1.0 / n, 0.0, NULL };
  Result           *results = g_new0 (Result, n);
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  gboolean          written = TRUE;

  if (!ns_style_source_load (&src, v->style, v->style2, error))
    {
      g_free (results);
      return GIMP_PDB_CALLING_ERROR;
    }
  ns_params_init (&params);
  ns_style_source_to_ns_params (&src, &params);
  ns_plug_values_to_ns_params (v, &params);

  gimp_progress_init ("Neural Style");
  for (guint i = 0; i < n && status == GIMP_PDB_SUCCESS; i++)
    {
      progress.done = (double) i / n;
      if (!stylize_one (drawables[i], &params, &progress, &results[i], error))
        status = g_error_matches (*error, NS_ERROR, NS_ERROR_CANCELLED)
                 ? GIMP_PDB_CANCEL : GIMP_PDB_EXECUTION_ERROR;
    }
  g_free (progress.last_stage);

  /* Only now does the image change, in one undo step. */
  if (status == GIMP_PDB_SUCCESS)
    {
      gimp_image_undo_group_start (image);
      for (guint i = 0; i < n; i++)
        written &= write_result (image, &results[i], v->new_layer, src.name);
      gimp_image_undo_group_end (image);
      gimp_progress_update (1.0);
      if (!written)
        {
          g_set_error (error, NS_ERROR, NS_ERROR_IO,
                       "could not add the result layer");
          status = GIMP_PDB_EXECUTION_ERROR;
        }
    }
  for (guint i = 0; i < n; i++)
    result_clear (&results[i]);
  g_free (results);
  ns_style_source_clear (&src);
  return status;
}

/* ---- procedures ------------------------------------------------------------ */

static GimpValueArray *
fail (GimpProcedure *procedure, GimpPDBStatusType status, GError *error)
{
  return gimp_procedure_new_return_values (procedure, status, error);
}

static GimpValueArray *
neural_style_run (GimpProcedure *procedure, GimpRunMode run_mode,
                  GimpImage *image, GimpDrawable **drawables,
                  GimpProcedureConfig *config, gpointer run_data)
{
  NsPlugValues      values;
  GError           *error = NULL;
  GimpPDBStatusType status;
  guint             n = drawables ? g_strv_length ((gchar **) drawables) : 0;

  gegl_init (NULL, NULL);
  if (!image || !gimp_image_is_valid (image))
    return fail (procedure, GIMP_PDB_CALLING_ERROR,
                 g_error_new_literal (NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                                      "image: not a valid image"));
  if (n == 0)
    return fail (procedure, GIMP_PDB_CALLING_ERROR,
                 g_error_new_literal (NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                                      "drawables: none selected; select a "
                                      "layer (or several) to stylize"));

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gimp_ui_init (NS_PLUG_IN_BINARY);
      if (!ns_dialog3_run (procedure, config, drawables[0]))
        return fail (procedure, GIMP_PDB_CANCEL, NULL);
    }

  /* GIMP has checked each argument's range; these are the rules across
   * arguments and the ones on strings, each naming its parameter. */
  ns_config3_get_values (config, &values);
  if (!ns_plug_values_check (&values, &error))
    return fail (procedure, GIMP_PDB_CALLING_ERROR, error);
  for (guint i = 0; i < n; i++)
    if (!check_drawable (image, drawables[i], &values, &error))
      return fail (procedure, GIMP_PDB_CALLING_ERROR, error);

  status = stylize_drawables (image, drawables, n, &values, &error);
  if (status != GIMP_PDB_SUCCESS)
    return fail (procedure, status, error);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

/* For the batch script: GIMP loads a truncated PNG or JPEG as a half image
 * with only a warning, which a script cannot see. */
static GimpValueArray *
check_file_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                gpointer run_data)
{
  GError      *error = NULL;
  gchar       *filename = NULL;
  GMappedFile *file;
  gboolean     ok;

  g_object_get (config, "filename", &filename, NULL);
  if (!filename || !*filename)
    {
      g_free (filename);
      return fail (procedure, GIMP_PDB_CALLING_ERROR,
                   g_error_new_literal (NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                                        "filename: empty"));
    }
  file = g_mapped_file_new (filename, FALSE, &error);
  ok = file && ns_image_data_check_complete ((const guint8 *) g_mapped_file_get_contents (file),
                                             g_mapped_file_get_length (file),
                                             filename, &error);
  if (file)
    g_mapped_file_unref (file);
  g_free (filename);
  if (!ok)
    return fail (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

/* no translations to look for */
static gboolean
ns_plug_in_set_i18n (GimpPlugIn *plug_in, const gchar *procedure_name,
                     gchar **gettext_domain, gchar **catalog_dir)
{
  return FALSE;
}

static GList *
ns_plug_in_query_procedures (GimpPlugIn *plug_in)
{
  return g_list_append (g_list_append (NULL, g_strdup (NS_PLUG_IN_PROC)),
                        g_strdup (CHECK_FILE_PROC));
}

static GimpProcedure *
ns_plug_in_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  GimpProcedure *procedure = NULL;

  if (strcmp (name, NS_PLUG_IN_PROC) == 0)
    {
      procedure = gimp_image_procedure_new (plug_in, name,
                                            GIMP_PDB_PROC_TYPE_PLUGIN,
                                            neural_style_run, NULL, NULL);
      gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
      gimp_procedure_set_sensitivity_mask (procedure,
                                           GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                                           | GIMP_PROCEDURE_SENSITIVE_DRAWABLES);
      gimp_procedure_set_menu_label (procedure, "_Neural Style...");
      gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Artistic");
      gimp_procedure_set_documentation (procedure,
        "Repaint the image in the style of an artwork",
        "Paints the selected part of each selected drawable in the style of "
        "a preset (or a blend of two), of any style image or of a layer, "
        "with a network and optimiser trained by this project (no "
        "pretrained model). Alpha is kept; grayscale stays grayscale; "
        "indexed images are refused.", name);
      gimp_procedure_set_attribution (procedure,
                                      "GIMP Neural Style contributors",
                                      "GIMP Neural Style contributors", "2026");
      ns_config3_add_arguments (procedure);
    }
  else if (strcmp (name, CHECK_FILE_PROC) == 0)
    {
      procedure = gimp_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                      check_file_run, NULL, NULL);
      gimp_procedure_set_documentation (procedure,
        "Fail when an image file is truncated",
        "Fails with a message naming the file when it is a PNG or JPEG that "
        "ends before its last chunk or marker (GIMP would load the part "
        "that is there); any other file passes.", name);
      gimp_procedure_set_attribution (procedure,
                                      "GIMP Neural Style contributors",
                                      "GIMP Neural Style contributors", "2026");
      /* run-mode first, as the 2.10 procedure, so one script calls both */
      gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode",
                                        "The run mode", GIMP_TYPE_RUN_MODE,
                                        GIMP_RUN_NONINTERACTIVE,
                                        G_PARAM_READWRITE);
      gimp_procedure_add_string_argument (procedure, "filename", "Filename",
                                          "The image file to check", NULL,
                                          G_PARAM_READWRITE);
    }
  return procedure;
}

static void
ns_plug_in_class_init (NsPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = ns_plug_in_query_procedures;
  plug_in_class->create_procedure = ns_plug_in_create_procedure;
  plug_in_class->set_i18n = ns_plug_in_set_i18n;
}

static void
ns_plug_in_init (NsPlugIn *plug_in)
{
}

/* libgimp's GIMP_MAIN () with the BLAS kernel corrected first: a re-exec
 * keeps the pipes GIMP talks through and the pid it watches. */
int
main (int argc, char *argv[])
{
  GError *error = NULL;

  if (!ns_blas_init (argv, &error))
    {
      g_printerr ("%s: %s\n", NS_PLUG_IN_BINARY, error->message);
      g_clear_error (&error);
    }
  return gimp_main (NS_TYPE_PLUG_IN, argc, argv);
}

/* GIMP 2.10 glue for Neural Style: the PDB procedure, its parameter checks,
 * the selected region read and written a band at a time through GEGL
 * (ns_layer_bands.c), one undo step, progress.
 * The painting itself is ns_stylize () in the engine.
 *
 * Cancelling: GIMP 2.10 answers a click on the progress bar's cancel button
 * by killing the plug-in process (app/plug-in/gimpplugin-progress.c,
 * gimp_plug_in_progress_cancel_callback -> gimp_plug_in_close (plug_in,
 * TRUE)) and cleans up open undo groups and shadow buffers itself.  So all
 * engine work happens before the first write to the image: a cancel at any
 * point before the final copy leaves the image untouched. */
#include <stdio.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "ns_blas.h"
#include "ns_config.h"
#include "ns_dialog.h"
#include "ns_error.h"
#include "ns_image.h"
#include "ns_stylize.h"
#include "ns_layer_bands.h"
#include "ns_settings.h"
#include "ns_style_source.h"

#define PLUG_IN_PROC    NS_PLUG_IN_PROC
#define PLUG_IN_BINARY  NS_PLUG_IN_BINARY
#define CHECK_FILE_PROC "plug-in-neural-style-check-file"

static void query (void);
static void run   (const gchar *name, gint nparams, const GimpParam *param,
                   gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

/* libgimp's MAIN () with the BLAS kernel corrected first: a re-exec keeps
 * the pipes GIMP talks through and the pid it watches. */
int
main (int argc, char *argv[])
{
  GError *error = NULL;
  if (!ns_blas_init (argv, &error))
    {
      g_printerr ("%s: %s\n", PLUG_IN_BINARY, error->message);
      g_clear_error (&error);
    }
  return gimp_main (&PLUG_IN_INFO, argc, argv);
}

static void
query (void)
{
  gimp_install_procedure (PLUG_IN_PROC,
                          "Repaint the image in the style of an artwork",
                          "Paints the selected part of the drawable in the "
                          "style of a preset (or a blend of two), of any "
                          "style image or of a layer, with a network and "
                          "optimiser trained by this project (no pretrained "
                          "model). Alpha is kept; grayscale stays grayscale; "
                          "indexed images are refused. Calls with the first "
                          "10 parameters only (no style2, mix) still work.",
                          "GIMP Neural Style contributors",
                          "GIMP Neural Style contributors",
                          "2026",
                          "_Neural Style...",
                          "RGB*, GRAY*",
                          GIMP_PLUGIN,
                          NS_N_PARAMS, 0,
                          ns_plug_param_defs (), NULL);
  gimp_plugin_menu_register (PLUG_IN_PROC, "<Image>/Filters/Artistic");

  /* for the batch script: GIMP loads a truncated PNG or JPEG as a half
   * image with only a warning, which a script cannot see */
  static const GimpParamDef check_args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_STRING, "filename", "The image file to check" },
  };
  gimp_install_procedure (CHECK_FILE_PROC,
                          "Fail when an image file is truncated",
                          "Fails with a message naming the file when it is a "
                          "PNG or JPEG that ends before its last chunk or "
                          "marker (GIMP would load the part that is there); "
                          "any other file passes.",
                          "GIMP Neural Style contributors",
                          "GIMP Neural Style contributors",
                          "2026", NULL, NULL, GIMP_PLUGIN,
                          G_N_ELEMENTS (check_args), 0, check_args, NULL);
}

static GimpPDBStatusType
check_file_run (gint nparams, const GimpParam *param, GError **error)
{
  GMappedFile *file;
  gboolean     ok;

  if (nparams != 2 || !param[1].data.d_string)
    {
      ns_settings_fail (error, "filename: expected a run mode and a file name");
      return GIMP_PDB_CALLING_ERROR;
    }
  file = g_mapped_file_new (param[1].data.d_string, FALSE, error);
  if (!file)
    return GIMP_PDB_EXECUTION_ERROR;
  ok = ns_image_data_check_complete ((const guint8 *) g_mapped_file_get_contents (file),
                                     g_mapped_file_get_length (file),
                                     param[1].data.d_string, error);
  g_mapped_file_unref (file);
  return ok ? GIMP_PDB_SUCCESS : GIMP_PDB_EXECUTION_ERROR;
}

/* ---- parameter checks ------------------------------------------------- */

static gboolean
check_target (gint32 image, gint32 drawable, GError **error)
{
  if (!gimp_image_is_valid (image))
    return ns_settings_fail (error, "image: %d is not a valid image", image);
  if (!gimp_item_is_valid (drawable) || !gimp_item_is_drawable (drawable))
    return ns_settings_fail (error, "drawable: %d is not a valid drawable", drawable);
  if (gimp_item_get_image (drawable) != image)
    return ns_settings_fail (error, "drawable: %d does not belong to image %d",
                 drawable, image);
  /* a group's pixels are its children's; GIMP refuses to write them, and
   * would otherwise leave an empty undo step or an unpainted copy */
  if (gimp_item_is_group (drawable))
    return ns_settings_fail (error, "drawable: %d is a layer group; pick one of "
                 "its layers (or merge the group)", drawable);
  if (gimp_drawable_is_indexed (drawable))
    return ns_settings_fail (error, "drawable: indexed images are not supported; "
                 "convert to RGB or Grayscale first (Image > Mode)");
  return TRUE;
}

/* The checks that need the drawable; the rest is ns_plug_values_check. */
static gboolean
check_values (const NsPlugValues *v, gint32 drawable, GError **error)
{
  if (!ns_plug_values_check (v, error))
    return FALSE;
  if (v->new_layer && !gimp_item_is_layer (drawable))
    return ns_settings_fail (error, "new-layer: the drawable is a channel or mask, "
                 "not a layer; use new-layer 0");
  return TRUE;
}

/* ---- progress ---------------------------------------------------------- */

typedef struct
{
  double last_fraction;
  gchar *last_stage;
} ProgressState;

/* Every update is a round trip to GIMP, so only visible changes are sent. */
static void
report_progress (double fraction, const char *stage, gpointer data)
{
  ProgressState *state = data;

  if (stage && g_strcmp0 (stage, state->last_stage) != 0)
    {
      g_free (state->last_stage);
      state->last_stage = g_strdup (stage);
      gimp_progress_set_text_printf ("Neural Style: %s", stage);
    }
  if (fraction - state->last_fraction >= 0.01 || fraction >= 1.0)
    {
      state->last_fraction = fraction;
      gimp_progress_update (CLAMP (fraction, 0.0, 1.0));
    }
}

/* ---- pixels ------------------------------------------------------------ */

/* Non-linear float, so 8-, 16- and 32-bit drawables all convert exactly
 * enough and the engine sees the values it expects (ns_image.h). */
static const Babl *
drawable_float_format (gint32 drawable, int *channels)
{
  gboolean alpha = gimp_drawable_has_alpha (drawable);

  if (gimp_drawable_is_gray (drawable))
    {
      *channels = alpha ? 2 : 1;
      return babl_format (alpha ? "Y'A float" : "Y' float");
    }
  *channels = alpha ? 4 : 3;
  return babl_format (alpha ? "R'G'B'A float" : "R'G'B' float");
}

/* A copy of drawable as a new layer just above it, named after the style. */
static gint32
add_result_layer (gint32 image, gint32 drawable, const gchar *name)
{
  gint32 layer = gimp_layer_new_from_drawable (drawable, image);
  gint   offset_x, offset_y;

  if (layer < 0)
    return -1;
  gimp_item_set_name (layer, name);
  gimp_drawable_offsets (drawable, &offset_x, &offset_y);
  if (!gimp_image_insert_layer (image, layer, gimp_item_get_parent (drawable),
                                gimp_image_get_item_position (image, drawable)))
    return -1;
  gimp_layer_set_offsets (layer, offset_x, offset_y);
  return layer;
}

static GimpPDBStatusType
stylize_drawable (gint32 image, gint32 drawable, const NsPlugValues *v,
                  GError **error)
{
  NsStyleSource src;
  NsParams      params;
  ProgressState progress = { 0.0, NULL };
  volatile gint cancel = 0;   /* GIMP 2.10 kills us instead; see the top */
  gint          x, y, width, height;
  int           channels;
  const Babl   *format;
  GeglBuffer   *buffer;
  NsLayerBands  layer;
  NsImageBands  bands;
  gint32        target = drawable;
  gboolean      ok;

  if (!ns_style_source_load (&src, v->style, v->style2, error))
    return GIMP_PDB_CALLING_ERROR;

  /* Nothing selected inside this drawable: nothing to do. */
  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &width, &height))
    {
      ns_style_source_clear (&src);
      return GIMP_PDB_SUCCESS;
    }

  /* The region the engine sees: the selection plus a margin of context. */
  gint cx = MAX (0, x - NS_CONTEXT_MARGIN);
  gint cy = MAX (0, y - NS_CONTEXT_MARGIN);
  gint cw = MIN (gimp_drawable_width (drawable), x + width + NS_CONTEXT_MARGIN) - cx;
  gint ch = MIN (gimp_drawable_height (drawable), y + height + NS_CONTEXT_MARGIN) - cy;

  /* the engine reads the layer and writes its result a band of rows at a
   * time, into a buffer of ours: the layer changes only below */
  gimp_progress_init ("Neural Style");
  format = drawable_float_format (drawable, &channels);
  buffer = gimp_drawable_get_buffer (drawable);
  ns_layer_bands_init (&layer, &bands, buffer, GEGL_RECTANGLE (cx, cy, cw, ch), format,
                       channels, gimp_drawable_get_format (drawable));
  g_object_unref (buffer);

  ns_params_init (&params);
  ns_style_source_to_ns_params (&src, &params);
  ns_plug_values_to_ns_params (v, &params);

  ok = ns_stylize_bands (&params, &bands, report_progress, &progress, &cancel, error);
  g_free (progress.last_stage);
  if (!ok)
    {
      ns_layer_bands_clear (&layer);
      ns_style_source_clear (&src);
      return g_error_matches (*error, NS_ERROR, NS_ERROR_CANCELLED)
             ? GIMP_PDB_CANCEL : GIMP_PDB_EXECUTION_ERROR;
    }

  /* Only now does the image change, in one undo step.  The shadow buffer
   * plus merge_shadow blends through the selection mask, feathering
   * included, and leaves pixels outside it as they were. */
  gimp_image_undo_group_start (image);
  if (v->new_layer)
    target = add_result_layer (image, drawable, src.name);
  if (target >= 0)
    {
      GeglBuffer *shadow = gimp_drawable_get_shadow_buffer (target);

      ns_layer_bands_copy (&layer, GEGL_RECTANGLE (x, y, width, height), shadow);
      g_object_unref (shadow);   /* flushes the tiles to GIMP */
      gimp_drawable_merge_shadow (target, TRUE);
      gimp_drawable_update (target, x, y, width, height);
    }
  gimp_image_undo_group_end (image);
  gimp_progress_update (1.0);

  ns_layer_bands_clear (&layer);
  ns_style_source_clear (&src);
  if (target < 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO,
                   "could not add the result layer");
      return GIMP_PDB_EXECUTION_ERROR;
    }
  return GIMP_PDB_SUCCESS;
}

/* ---- run --------------------------------------------------------------- */

/* Beside the dialog's preview lines in the debug log (ns_dialog.h), what
 * OK applies, so the two can be compared. */
static void
log_applied (const NsPlugValues *values)
{
  gchar *settings = ns_plug_values_describe (values);

  g_debug ("apply %s", settings);
  g_free (settings);
}

static GimpPDBStatusType
neural_style_run (gint nparams, const GimpParam *param, GError **error)
{
  NsPlugValues      values;
  GimpRunMode       run_mode;
  gint32            image, drawable;
  GimpPDBStatusType status;

  if (nparams < 3)
    {
      ns_settings_fail (error, "expected %d parameters, got %d", NS_N_PARAMS, nparams);
      return GIMP_PDB_CALLING_ERROR;
    }
  run_mode = param[0].data.d_int32;
  image = param[1].data.d_image;
  drawable = param[2].data.d_drawable;

  if (!check_target (image, drawable, error))
    return GIMP_PDB_CALLING_ERROR;

  ns_plug_values_init (&values);
  switch (run_mode)
    {
    case GIMP_RUN_INTERACTIVE:
      /* Settings stored by an older build with another layout are
       * ignored; values out of today's limits are brought into them. */
      if (gimp_get_data_size (PLUG_IN_PROC) == sizeof values)
        gimp_get_data (PLUG_IN_PROC, &values);
      ns_plug_values_clamp (&values);
      gimp_ui_init (PLUG_IN_BINARY, FALSE);
      if (!ns_dialog_run (&values, drawable))
        return GIMP_PDB_CANCEL;
      log_applied (&values);
      break;
    case GIMP_RUN_NONINTERACTIVE:
      if (!ns_plug_values_from_params (&values, nparams, param, error))
        return GIMP_PDB_CALLING_ERROR;
      break;
    case GIMP_RUN_WITH_LAST_VALS:
      if (gimp_get_data_size (PLUG_IN_PROC) != sizeof values)
        {
          ns_settings_fail (error, "run-mode: no previous settings to repeat; "
                "run Neural Style from its dialog first");
          return GIMP_PDB_CALLING_ERROR;
        }
      gimp_get_data (PLUG_IN_PROC, &values);
      ns_plug_values_clamp (&values);
      break;
    default:
      ns_settings_fail (error, "run-mode: %d is not 0, 1 or 2", run_mode);
      return GIMP_PDB_CALLING_ERROR;
    }

  if (!check_values (&values, drawable, error))
    return GIMP_PDB_CALLING_ERROR;

  status = stylize_drawable (image, drawable, &values, error);
  if (status != GIMP_PDB_SUCCESS)
    return status;

  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  if (run_mode == GIMP_RUN_INTERACTIVE)
    gimp_set_data (PLUG_IN_PROC, &values, sizeof values);
  return GIMP_PDB_SUCCESS;
}

static void
run (const gchar *name, gint nparams, const GimpParam *param,
     gint *nreturn_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar    *message;   /* must outlive run (): GIMP reads it after */
  GError          *error = NULL;
  GimpPDBStatusType status;

  if (strcmp (name, CHECK_FILE_PROC) == 0)
    status = check_file_run (nparams, param, &error);
  else
    {
      gegl_init (NULL, NULL);
      status = neural_style_run (nparams, param, &error);
    }

  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = status;
  if (status != GIMP_PDB_SUCCESS && error)
    {
      /* GIMP shows this string for a failed call (interactive or not). */
      g_free (message);
      message = g_strdup (error->message);
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
  g_clear_error (&error);
}

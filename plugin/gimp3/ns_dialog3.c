/* The Neural Style dialog for GIMP 3.
 *
 * Left: a zoom preview of the drawable with a progress bar under it.  Right:
 * the style (a preset with its thumbnail, an image file or a layer), a
 * second preset and the mix, then the procedure's own widgets for the
 * weights, refinement, seed (with New variation), preserve colours and new
 * layer.  The widgets write the procedure's config; every change of the
 * config asks the shared preview worker (ui/ns_preview.c) for a new preview,
 * which cancels the stale one, so the main loop never waits for the engine. */
#include <stdio.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "ns_config3.h"
#include "ns_dialog3.h"
#include "ns_error.h"
#include "ns_presets.h"
#include "ns_preview.h"
#include "ns_style_source.h"
#include "ns_zoom_source.h"

#define PREVIEW_SIZE   256   /* the preview area, in screen pixels */
#define THUMBNAIL_SIZE 40    /* style thumbnails in the pickers */

/* rows of the style pickers */
enum { KIND_PRESET, KIND_FILE, KIND_LAYER, KIND_NONE };
enum { COL_KIND, COL_PIXBUF, COL_LABEL, COL_NAME, N_COLS };

typedef struct
{
  GimpProcedureConfig *config;
  GimpDrawable        *drawable;
  gboolean             updating;      /* widgets being set from the config */

  GtkWidget           *preview;
  GtkWidget           *progress;
  GtkWidget           *style_combo, *style2_combo;
  GtkWidget           *mix;
  GtkWidget           *file_row, *file_chooser;    /* row: its label */
  GtkWidget           *layer_row, *layer_combo;

  GPtrArray           *presets;       /* NsPreset * */
  NsImage            **layer_style;   /* the style layer's pixels, shared with jobs */
  gint                 layer_style_id;

  NsPreviewWorker     *worker;
  NsImage             *source;        /* the preview's pixels at this zoom */
  guint                idle_id;       /* a preview request waiting */
} Dialog;

static void schedule_preview (Dialog *d);

/* ---- style pickers --------------------------------------------------------- */

static GtkWidget *
style_combo_new (Dialog *d, gboolean second)
{
  GtkListStore    *store = gtk_list_store_new (N_COLS, G_TYPE_INT, GDK_TYPE_PIXBUF,
                                               G_TYPE_STRING, G_TYPE_STRING);
  GtkWidget       *combo;
  GtkCellRenderer *cell;
  GtkTreeIter      iter;

  if (second)
    gtk_list_store_insert_with_values (store, &iter, -1, COL_KIND, KIND_NONE,
                                       COL_LABEL, "None", COL_NAME, "", -1);
  for (guint i = 0; i < d->presets->len; i++)
    {
      const NsPreset *preset = g_ptr_array_index (d->presets, i);
      GdkPixbuf      *pixbuf = ns_preview_thumbnail (preset->thumbnail, THUMBNAIL_SIZE);

      gtk_list_store_insert_with_values (store, &iter, -1, COL_KIND, KIND_PRESET,
                                         COL_PIXBUF, pixbuf, COL_LABEL, preset->name,
                                         COL_NAME, preset->name, -1);
      g_clear_object (&pixbuf);
    }
  if (!second)
    {
      gtk_list_store_insert_with_values (store, &iter, -1, COL_KIND, KIND_FILE,
                                         COL_LABEL, "Image file...", COL_NAME, "", -1);
      gtk_list_store_insert_with_values (store, &iter, -1, COL_KIND, KIND_LAYER,
                                         COL_LABEL, "Layer...", COL_NAME, "", -1);
    }

  combo = gtk_combo_box_new_with_model (GTK_TREE_MODEL (store));
  g_object_unref (store);
  cell = gtk_cell_renderer_pixbuf_new ();
  gtk_cell_renderer_set_fixed_size (cell, THUMBNAIL_SIZE, THUMBNAIL_SIZE);
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, FALSE);
  gtk_cell_layout_add_attribute (GTK_CELL_LAYOUT (combo), cell, "pixbuf", COL_PIXBUF);
  cell = gtk_cell_renderer_text_new ();
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, TRUE);
  gtk_cell_layout_add_attribute (GTK_CELL_LAYOUT (combo), cell, "text", COL_LABEL);
  return combo;
}

static gint
combo_active (GtkWidget *combo, gchar **name)
{
  GtkTreeIter iter;
  gint        kind = KIND_NONE;

  if (name)
    *name = NULL;
  if (gtk_combo_box_get_active_iter (GTK_COMBO_BOX (combo), &iter))
    gtk_tree_model_get (gtk_combo_box_get_model (GTK_COMBO_BOX (combo)), &iter,
                        COL_KIND, &kind, name ? COL_NAME : -1, name, -1);
  return kind;
}

/* Selects the row of kind (and, for a preset, name); FALSE when none. */
static gboolean
combo_select (GtkWidget *combo, gint kind, const gchar *name)
{
  GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (combo));
  GtkTreeIter   iter;
  gboolean      valid;

  for (valid = gtk_tree_model_get_iter_first (model, &iter); valid;
       valid = gtk_tree_model_iter_next (model, &iter))
    {
      gint   row_kind;
      gchar *row_name;
      gboolean match;

      gtk_tree_model_get (model, &iter, COL_KIND, &row_kind, COL_NAME, &row_name, -1);
      match = row_kind == kind && (kind != KIND_PRESET || g_strcmp0 (row_name, name) == 0);
      g_free (row_name);
      if (match)
        {
          gtk_combo_box_set_active_iter (GTK_COMBO_BOX (combo), &iter);
          return TRUE;
        }
    }
  return FALSE;
}

/* The style string the pickers name: a preset, the file, layer:ID, or ""
 * while a file or layer is still to be chosen. */
static gchar *
style_from_widgets (Dialog *d)
{
  gchar *name, *path;
  gint   id;

  switch (combo_active (d->style_combo, &name))
    {
    case KIND_PRESET:
      return name;
    case KIND_FILE:
      g_free (name);
      path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (d->file_chooser));
      return path ? path : g_strdup ("");
    case KIND_LAYER:
      g_free (name);
      return gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (d->layer_combo), &id)
             ? g_strdup_printf (NS_STYLE_LAYER_PREFIX "%d", id) : g_strdup ("");
    default:
      g_free (name);
      return g_strdup ("");
    }
}

static void
update_rows (Dialog *d)
{
  gint kind = combo_active (d->style_combo, NULL);

  gtk_widget_set_visible (d->file_row, kind == KIND_FILE);
  gtk_widget_set_visible (d->file_chooser, kind == KIND_FILE);
  gtk_widget_set_visible (d->layer_row, kind == KIND_LAYER);
  gtk_widget_set_visible (d->layer_combo, kind == KIND_LAYER);
  /* only presets blend */
  gtk_widget_set_sensitive (d->style2_combo, kind == KIND_PRESET);
  gtk_widget_set_sensitive (d->mix, kind == KIND_PRESET
                                    && combo_active (d->style2_combo, NULL) == KIND_PRESET);
}

static void
on_style_widgets_changed (GtkWidget *widget, Dialog *d)
{
  gchar *style, *style2 = NULL;

  if (d->updating)
    return;
  update_rows (d);
  style = style_from_widgets (d);
  if (combo_active (d->style_combo, NULL) != KIND_PRESET
      || combo_active (d->style2_combo, &style2) != KIND_PRESET)
    g_clear_pointer (&style2, g_free);
  g_object_set (d->config, "style", style, "style2", style2 ? style2 : "", NULL);
  g_free (style);
  g_free (style2);
}

/* The pickers showing the config's style and style2. */
static void
widgets_from_config (Dialog *d)
{
  gchar *style = NULL, *style2 = NULL;
  gint   layer_id;

  g_object_get (d->config, "style", &style, "style2", &style2, NULL);
  d->updating = TRUE;
  if (ns_style_parse_layer (style, &layer_id))
    {
      combo_select (d->style_combo, KIND_LAYER, NULL);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->layer_combo), layer_id);
    }
  else if (style && g_file_test (style, G_FILE_TEST_IS_REGULAR))
    {
      combo_select (d->style_combo, KIND_FILE, NULL);
      gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (d->file_chooser), style);
    }
  else if (!combo_select (d->style_combo, KIND_PRESET, style)
           && !combo_select (d->style_combo, KIND_PRESET, NS_DEFAULT_PRESET))
    gtk_combo_box_set_active (GTK_COMBO_BOX (d->style_combo), 0);
  if (!style2 || !combo_select (d->style2_combo, KIND_PRESET, style2))
    combo_select (d->style2_combo, KIND_NONE, NULL);
  d->updating = FALSE;
  g_free (style);
  g_free (style2);
  /* a first run, or a preset no longer installed: the config follows */
  on_style_widgets_changed (NULL, d);
}

static void
on_new_variation (GtkButton *button, Dialog *d)
{
  g_object_set (d->config, "seed", g_random_int_range (0, NS_SEED_MAX), NULL);
}

/* ---- preview ---------------------------------------------------------------- */

static void
set_status (Dialog *d, double fraction, const gchar *text)
{
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (d->progress), CLAMP (fraction, 0.0, 1.0));
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (d->progress), text);
}

/* The preview's pixels at the current zoom and position, as floats. */
static gboolean
fetch_source (Dialog *d)
{
  GError *error = NULL;

  g_clear_pointer (&d->source, ns_image_free);
  d->source = ns_zoom_preview_source (GIMP_ZOOM_PREVIEW (d->preview), &error);
  if (error)
    {
      set_status (d, 0.0, error->message);
      g_error_free (error);
    }
  return d->source != NULL;
}

/* A layer style's pixels, read here on the main thread (libgimp), kept
 * while the same layer stays picked. */
static gboolean
ensure_layer_style (Dialog *d, gint layer_id, GError **error)
{
  NsImage *img;

  if (d->layer_style && d->layer_style_id == layer_id)
    return TRUE;
  g_clear_pointer (&d->layer_style, ns_shared_image_unref);
  if (!(img = ns_style_source_read_layer (layer_id, error)))
    return FALSE;
  d->layer_style = ns_shared_image_new (img);
  d->layer_style_id = layer_id;
  return TRUE;
}

static gboolean
request_preview (gpointer data)
{
  Dialog       *d = data;
  NsPlugValues  values;
  NsPreviewJob *job;
  NsImage     **layer_style = NULL;
  GError       *error = NULL;
  gint          layer_id;

  d->idle_id = 0;
  if (!gimp_preview_get_update (GIMP_PREVIEW (d->preview)))
    {
      ns_preview_worker_cancel (d->worker);
      return G_SOURCE_REMOVE;
    }
  if (!d->source && !fetch_source (d))
    return G_SOURCE_REMOVE;
  ns_config3_get_values (d->config, &values);
  if (!values.style[0])
    {
      ns_preview_worker_cancel (d->worker);
      gimp_preview_draw (GIMP_PREVIEW (d->preview));   /* the original */
      set_status (d, 0.0, combo_active (d->style_combo, NULL) == KIND_LAYER
                          ? "Choose a layer" : "Choose a style image");
      return G_SOURCE_REMOVE;
    }
  if (ns_style_parse_layer (values.style, &layer_id))
    {
      if (!ensure_layer_style (d, layer_id, &error))
        goto failed;
      layer_style = d->layer_style;
    }
  if (!(job = ns_preview_job_new (&values, d->source, layer_style, &error)))
    goto failed;
  ns_preview_worker_submit (d->worker, job);
  set_status (d, 0.0, "Painting...");
  return G_SOURCE_REMOVE;

failed:
  ns_preview_worker_cancel (d->worker);
  set_status (d, 0.0, error->message);
  g_error_free (error);
  return G_SOURCE_REMOVE;
}

/* Several config properties change at once (a reset, New variation with
 * its spin button): one request for all of them. */
static void
schedule_preview (Dialog *d)
{
  if (!d->idle_id)
    d->idle_id = g_idle_add (request_preview, d);
}

static void
on_config_notify (GObject *config, GParamSpec *pspec, Dialog *d)
{
  schedule_preview (d);
}

static void
on_preview_invalidated (GimpPreview *preview, Dialog *d)
{
  g_clear_pointer (&d->source, ns_image_free);
  schedule_preview (d);
}

static void
on_preview_result (const NsPreviewJob *job, NsImage *result,
                   const GError *error, gpointer data)
{
  Dialog *d = data;
  guchar *pixels;
  gchar  *text;
  double  ms;

  if (!result)
    {
      if (!g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED))
        {
          gimp_preview_draw (GIMP_PREVIEW (d->preview));
          set_status (d, 0.0, error->message);
        }
      return;
    }
  pixels = ns_preview_image_to_bytes (result);
  gimp_preview_draw_buffer (GIMP_PREVIEW (d->preview), pixels,
                            result->width * result->channels);
  g_free (pixels);

  ms = (g_get_monotonic_time () - job->submitted_us) / 1000.0;
  text = g_strdup_printf ("Preview: %.0f ms", ms);
  set_status (d, 1.0, text);
  g_free (text);
  ns_preview_log_drawn (job, result, ms);
  ns_image_free (result);
}

static void
on_preview_progress (double fraction, const char *stage, gpointer data)
{
  Dialog *d = data;
  gchar  *text = g_strdup_printf ("Painting: %s", stage ? stage : "");

  set_status (d, fraction, text);
  g_free (text);
}

/* ---- building ---------------------------------------------------------------- */

static GtkWidget *
grid_row (GtkGrid *grid, gint row, const gchar *mnemonic, GtkWidget *widget,
          const gchar *tooltip)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), widget);
  gtk_widget_set_hexpand (widget, TRUE);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), widget, 1, row, 1, 1);
  gimp_help_set_help_data (widget, tooltip, NULL);
  return label;
}

static GtkWidget *
build_style_grid (Dialog *d)
{
  GtkWidget     *grid = gtk_grid_new ();
  GtkFileFilter *filter;

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);

  d->style_combo = style_combo_new (d, FALSE);
  grid_row (GTK_GRID (grid), 0, "_Style:", d->style_combo,
            "A preset painted by a trained network (fast), or any image "
            "file or layer as the style (slower: optimised for this image)");

  d->file_chooser = gtk_file_chooser_button_new ("Choose a Style Image",
                                                 GTK_FILE_CHOOSER_ACTION_OPEN);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Images");
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (d->file_chooser), filter);
  d->file_row = grid_row (GTK_GRID (grid), 1, "Image _file:", d->file_chooser,
            "Any picture whose colours and brush strokes should be painted "
            "into the image");

  d->layer_combo = gimp_layer_combo_box_new (NULL, NULL, NULL);
  d->layer_row = grid_row (GTK_GRID (grid), 2, "_Layer:", d->layer_combo,
            "A layer of any open image to use as the style");

  d->style2_combo = style_combo_new (d, TRUE);
  grid_row (GTK_GRID (grid), 3, "Blen_d with:", d->style2_combo,
            "A second preset to blend with the first (presets of the same "
            "weights file only)");
  return grid;
}

gboolean
ns_dialog3_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                GimpDrawable *drawable)
{
  Dialog     d = { 0 };
  GtkWidget *dialog, *hbox, *left, *right, *settings, *seed_box, *button;
  GtkWidget *widget;
  gboolean   ok;

  d.config = config;
  d.drawable = drawable;
  d.layer_style_id = -1;
  d.presets = ns_presets_list (NULL);

  dialog = gimp_procedure_dialog_new (procedure, config, "Neural Style");

  hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (hbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      hbox, TRUE, TRUE, 0);

  /* left: the preview and the progress under it */
  left = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_box_pack_start (GTK_BOX (hbox), left, TRUE, TRUE, 0);
  d.preview = gimp_zoom_preview_new_from_drawable (drawable);
  gtk_widget_set_size_request (d.preview, PREVIEW_SIZE, PREVIEW_SIZE);
  gtk_box_pack_start (GTK_BOX (left), d.preview, TRUE, TRUE, 0);
  d.progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (d.progress), TRUE);
  gtk_box_pack_start (GTK_BOX (left), d.progress, FALSE, FALSE, 0);

  /* right: the style pickers, then the procedure's own widgets */
  right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_box_pack_start (GTK_BOX (hbox), right, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (right), build_style_grid (&d), FALSE, FALSE, 0);

  /* the sliders cover the useful range; the entries take up to the limit */
  d.mix = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "mix", 1.0);
  widget = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "alpha", 1.0);
  gimp_scale_entry_set_bounds (GIMP_SCALE_ENTRY (widget), 0.0, 10.0, FALSE);
  widget = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "beta", 1.0);
  gimp_scale_entry_set_bounds (GIMP_SCALE_ENTRY (widget), 0.0, 10.0, FALSE);
  widget = gimp_procedure_dialog_get_scale_entry (GIMP_PROCEDURE_DIALOG (dialog), "refine-iterations", 1.0);
  gimp_scale_entry_set_bounds (GIMP_SCALE_ENTRY (widget), 0.0, 200.0, FALSE);

  seed_box = gimp_procedure_dialog_fill_box (GIMP_PROCEDURE_DIALOG (dialog),
                                             "ns-seed-box", "seed", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (seed_box), GTK_ORIENTATION_HORIZONTAL);
  button = gtk_button_new_with_mnemonic ("New _variation");
  gimp_help_set_help_data (button, "Pick a random seed", NULL);
  g_signal_connect (button, "clicked", G_CALLBACK (on_new_variation), &d);
  gtk_box_pack_start (GTK_BOX (seed_box), button, FALSE, FALSE, 0);
  gtk_widget_show (button);

  settings = gimp_procedure_dialog_fill_box (GIMP_PROCEDURE_DIALOG (dialog),
                                             "ns-settings-box",
                                             "mix", "alpha", "beta",
                                             "refine-iterations", "ns-seed-box",
                                             "preserve-colors", "new-layer",
                                             NULL);
  gtk_box_pack_start (GTK_BOX (right), settings, FALSE, FALSE, 0);
  /* a channel or mask cannot get a layer above it */
  gtk_widget_set_sensitive (gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (dialog),
                                                              "new-layer", G_TYPE_NONE),
                            gimp_item_is_layer (GIMP_ITEM (drawable)));

  widgets_from_config (&d);
  g_signal_connect (d.style_combo, "changed", G_CALLBACK (on_style_widgets_changed), &d);
  g_signal_connect (d.style2_combo, "changed", G_CALLBACK (on_style_widgets_changed), &d);
  g_signal_connect (d.file_chooser, "file-set", G_CALLBACK (on_style_widgets_changed), &d);
  g_signal_connect (d.layer_combo, "changed", G_CALLBACK (on_style_widgets_changed), &d);

  d.worker = ns_preview_worker_new (on_preview_result, on_preview_progress, &d);
  g_signal_connect (config, "notify", G_CALLBACK (on_config_notify), &d);
  g_signal_connect (d.preview, "invalidated", G_CALLBACK (on_preview_invalidated), &d);

  gtk_widget_show_all (hbox);
  update_rows (&d);
  schedule_preview (&d);

  ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));

  g_signal_handlers_disconnect_by_data (config, &d);
  ns_preview_worker_free (d.worker);
  if (d.idle_id)
    g_source_remove (d.idle_id);
  gtk_widget_destroy (dialog);
  g_clear_pointer (&d.source, ns_image_free);
  g_clear_pointer (&d.layer_style, ns_shared_image_unref);
  g_ptr_array_unref (d.presets);
  return ok;
}

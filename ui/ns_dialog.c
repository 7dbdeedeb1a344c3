/* The Neural Style dialog (GTK+ 2, libgimpui).
 *
 * Left: a zoom preview of the drawable with a progress bar under it.  Right:
 * the style (a preset from the weight files, an image file or a layer), a
 * second preset and the mix, the weights, the seed, preserve colours and
 * where the result goes.  Every change asks the preview worker (ns_preview.c)
 * for a new preview at once; the worker cancels the stale one.  The dialog
 * keeps one NsPlugValues, the widgets write into it, and OK returns it: the
 * very values the last preview was painted with. */
#include <stdio.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "ns_dialog.h"
#include "ns_error.h"
#include "ns_presets.h"
#include "ns_preview.h"
#include "ns_style_source.h"
#include "ns_zoom_source.h"

#define RESPONSE_RESET   1
#define PREVIEW_SIZE     256   /* the preview area, in screen pixels */
#define THUMBNAIL_SIZE   40    /* style thumbnails in the pickers */

/* rows of the style picker */
enum { KIND_PRESET, KIND_SEPARATOR, KIND_FILE, KIND_LAYER, KIND_NONE };
enum { COL_KIND, COL_PIXBUF, COL_LABEL, COL_NAME, N_COLS };

typedef struct
{
  NsPlugValues     values;       /* what the widgets show */
  gint32           drawable;
  gboolean         updating;     /* widgets being set from values */

  GtkWidget       *dialog;
  GtkWidget       *preview;
  GtkWidget       *progress;
  GtkWidget       *style_combo;
  GtkWidget       *file_label, *file_chooser;
  GtkWidget       *layer_label, *layer_combo;
  GtkWidget       *style2_combo;
  GtkObject       *mix_adj, *alpha_adj, *beta_adj, *iterations_adj;
  GtkWidget       *seed_spin;
  GtkWidget       *colors_check;
  GtkWidget       *new_layer_radio, *in_place_radio;

  GPtrArray       *presets;      /* NsPreset * */
  gchar           *file_path;    /* the image file picked, or NULL */
  gint32           layer_id;     /* the layer picked, or -1 */
  NsImage        **layer_style;  /* its pixels, shared with jobs */
  gint32           layer_style_id;

  NsPreviewWorker *worker;
  NsImage         *source;       /* the preview's pixels at this zoom */
} Dialog;

static void request_preview (Dialog *d);

/* ---- style picker ------------------------------------------------------ */

static gboolean
is_separator (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  gint kind;

  gtk_tree_model_get (model, iter, COL_KIND, &kind, -1);
  return kind == KIND_SEPARATOR;
}

static GtkWidget *
style_combo_new (GtkListStore *store)
{
  GtkWidget       *combo = gtk_combo_box_new_with_model (GTK_TREE_MODEL (store));
  GtkCellRenderer *cell;

  cell = gtk_cell_renderer_pixbuf_new ();
  gtk_cell_renderer_set_fixed_size (cell, THUMBNAIL_SIZE + 4, -1);
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, FALSE);
  gtk_cell_layout_set_attributes (GTK_CELL_LAYOUT (combo), cell,
                                  "pixbuf", COL_PIXBUF, NULL);
  cell = gtk_cell_renderer_text_new ();
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, TRUE);
  gtk_cell_layout_set_attributes (GTK_CELL_LAYOUT (combo), cell,
                                  "markup", COL_LABEL, NULL);
  gtk_combo_box_set_row_separator_func (GTK_COMBO_BOX (combo), is_separator,
                                        NULL, NULL);
  g_object_unref (store);
  return combo;
}

static void
add_row (GtkListStore *store, gint kind, GdkPixbuf *pixbuf,
         const gchar *label, const gchar *name)
{
  GtkTreeIter iter;

  gtk_list_store_append (store, &iter);
  gtk_list_store_set (store, &iter, COL_KIND, kind, COL_PIXBUF, pixbuf,
                      COL_LABEL, label, COL_NAME, name, -1);
}

/* Markup for a preset's row: the painting (its source up to the first
 * ';', e.g. "Vincent van Gogh, The Harvest (1888)") over the preset's name,
 * which is what scripts pass; just the name when there is no source. */
static gchar *
preset_label (const NsPreset *preset)
{
  const gchar *source = preset->source;
  gsize        len = source ? strcspn (source, ";") : 0;

  if (!source || len == 0 || strcmp (source, preset->name) == 0)
    return g_markup_escape_text (preset->name, -1);
  {
    gchar *title = g_markup_escape_text (source, len);
    gchar *name = g_markup_escape_text (preset->name, -1);
    gchar *label = g_strdup_printf ("%s\n<small>%s</small>", title, name);

    g_free (title);
    g_free (name);
    return label;
  }
}

/* Every preset, then "Image file..." and "Layer..." (first picker) or
 * "None" then every preset (second picker). */
static GtkListStore *
style_store_new (GPtrArray *presets, gboolean second)
{
  GtkListStore *store = gtk_list_store_new (N_COLS, G_TYPE_INT,
                                            GDK_TYPE_PIXBUF, G_TYPE_STRING,
                                            G_TYPE_STRING);

  if (second)
    add_row (store, KIND_NONE, NULL, "None", "");
  for (guint i = 0; i < presets->len; i++)
    {
      const NsPreset *preset = g_ptr_array_index (presets, i);
      GdkPixbuf      *pixbuf = ns_preview_thumbnail (preset->thumbnail, THUMBNAIL_SIZE);

      gchar *label = preset_label (preset);

      add_row (store, KIND_PRESET, pixbuf, label, preset->name);
      g_free (label);
      if (pixbuf)
        g_object_unref (pixbuf);
    }
  if (!second)
    {
      if (presets->len > 0)
        add_row (store, KIND_SEPARATOR, NULL, NULL, NULL);
      add_row (store, KIND_FILE, NULL, "Image file...", NULL);
      add_row (store, KIND_LAYER, NULL, "Layer...", NULL);
    }
  return store;
}

static gint
combo_active_kind (GtkWidget *combo, gchar **name)
{
  GtkTreeIter iter;
  gint        kind = KIND_NONE;

  if (name)
    *name = NULL;
  if (gtk_combo_box_get_active_iter (GTK_COMBO_BOX (combo), &iter))
    {
      GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (combo));

      gtk_tree_model_get (model, &iter, COL_KIND, &kind, -1);
      if (name)
        gtk_tree_model_get (model, &iter, COL_NAME, name, -1);
    }
  return kind;
}

/* Selects the first row of kind (and name, for presets); FALSE if none. */
static gboolean
combo_select (GtkWidget *combo, gint kind, const gchar *name)
{
  GtkTreeModel *model = gtk_combo_box_get_model (GTK_COMBO_BOX (combo));
  GtkTreeIter   iter;
  gboolean      more;

  for (more = gtk_tree_model_get_iter_first (model, &iter); more;
       more = gtk_tree_model_iter_next (model, &iter))
    {
      gint   row_kind;
      gchar *row_name;

      gtk_tree_model_get (model, &iter, COL_KIND, &row_kind,
                          COL_NAME, &row_name, -1);
      if (row_kind == kind && (!name || g_strcmp0 (name, row_name) == 0))
        {
          g_free (row_name);
          gtk_combo_box_set_active_iter (GTK_COMBO_BOX (combo), &iter);
          return TRUE;
        }
      g_free (row_name);
    }
  return FALSE;
}

/* ---- values <-> widgets ------------------------------------------------ */

/* The style string of what the pickers show; "" when incomplete (an image
 * file or layer not chosen yet). */
static void
style_from_widgets (Dialog *d)
{
  gchar *name = NULL;
  gint   kind = combo_active_kind (d->style_combo, &name);

  d->values.style[0] = '\0';
  switch (kind)
    {
    case KIND_PRESET:
      g_strlcpy (d->values.style, name, sizeof d->values.style);
      break;
    case KIND_FILE:
      if (d->file_path)
        g_strlcpy (d->values.style, d->file_path, sizeof d->values.style);
      break;
    case KIND_LAYER:
      if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (d->layer_combo),
                                         &d->layer_id) && d->layer_id > 0)
        g_snprintf (d->values.style, sizeof d->values.style,
                    NS_STYLE_LAYER_PREFIX "%d", d->layer_id);
      break;
    }
  g_free (name);

  name = NULL;
  d->values.style2[0] = '\0';
  if (kind == KIND_PRESET
      && combo_active_kind (d->style2_combo, &name) == KIND_PRESET)
    g_strlcpy (d->values.style2, name, sizeof d->values.style2);
  g_free (name);
}

/* Shows the row that goes with the style kind and greys out what does not
 * apply to it; OK needs a complete style. */
static void
update_sensitivity (Dialog *d)
{
  gint     kind = combo_active_kind (d->style_combo, NULL);
  gboolean preset = kind == KIND_PRESET;

  gtk_widget_set_visible (d->file_label, kind == KIND_FILE);
  gtk_widget_set_visible (d->file_chooser, kind == KIND_FILE);
  gtk_widget_set_visible (d->layer_label, kind == KIND_LAYER);
  gtk_widget_set_visible (d->layer_combo, kind == KIND_LAYER);
  gtk_widget_set_sensitive (d->style2_combo, preset);
  gimp_scale_entry_set_sensitive (d->mix_adj, preset && d->values.style2[0]);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK,
                                     d->values.style[0] != '\0');
}

static void
set_toggle (GtkWidget *toggle, gboolean active)
{
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (toggle), active);
}

/* Sets every widget from d->values (at start and on Reset). */
static void
widgets_from_values (Dialog *d)
{
  const NsPlugValues *v = &d->values;
  gint32 layer;

  d->updating = TRUE;
  if (ns_style_parse_layer (v->style, &layer) && gimp_item_is_valid (layer)
      && gimp_item_is_layer (layer))
    {
      d->layer_id = layer;
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->layer_combo), layer);
      combo_select (d->style_combo, KIND_LAYER, NULL);
    }
  else if (g_path_is_absolute (v->style)
           && g_file_test (v->style, G_FILE_TEST_IS_REGULAR))
    {
      g_free (d->file_path);
      d->file_path = g_strdup (v->style);
      gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (d->file_chooser),
                                     v->style);
      combo_select (d->style_combo, KIND_FILE, NULL);
    }
  else if (!combo_select (d->style_combo, KIND_PRESET, v->style)
           && !combo_select (d->style_combo, KIND_PRESET, NS_DEFAULT_PRESET)
           && !combo_select (d->style_combo, KIND_PRESET, NULL))
    combo_select (d->style_combo, KIND_FILE, NULL);   /* no presets at all */

  if (!v->style2[0] || !combo_select (d->style2_combo, KIND_PRESET, v->style2))
    combo_select (d->style2_combo, KIND_NONE, NULL);
  gtk_adjustment_set_value (GTK_ADJUSTMENT (d->mix_adj), v->mix);
  gtk_adjustment_set_value (GTK_ADJUSTMENT (d->alpha_adj), v->alpha);
  gtk_adjustment_set_value (GTK_ADJUSTMENT (d->beta_adj), v->beta);
  gtk_adjustment_set_value (GTK_ADJUSTMENT (d->iterations_adj),
                            v->refine_iterations);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (d->seed_spin), v->seed);
  set_toggle (d->colors_check, v->preserve_colors);
  set_toggle (v->new_layer ? d->new_layer_radio : d->in_place_radio, TRUE);
  d->updating = FALSE;

  /* what the widgets could not show (a missing preset) is dropped */
  style_from_widgets (d);
  update_sensitivity (d);
}

/* One handler for every numeric widget and toggle: read them all. */
static void
on_value_changed (GtkWidget *widget, Dialog *d)
{
  NsPlugValues *v = &d->values;

  if (d->updating)
    return;
  v->alpha = gtk_adjustment_get_value (GTK_ADJUSTMENT (d->alpha_adj));
  v->beta = gtk_adjustment_get_value (GTK_ADJUSTMENT (d->beta_adj));
  v->refine_iterations =
    (gint32) (gtk_adjustment_get_value (GTK_ADJUSTMENT (d->iterations_adj)) + 0.5);
  v->mix = gtk_adjustment_get_value (GTK_ADJUSTMENT (d->mix_adj));
  v->seed = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (d->seed_spin));
  v->preserve_colors =
    gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->colors_check));
  v->new_layer =
    gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->new_layer_radio));
  /* the output mode does not change the preview */
  if (widget != d->new_layer_radio && widget != d->in_place_radio)
    request_preview (d);
}

/* The layer's pixels are read here, on the main thread: libgimp talks to
 * GIMP over one pipe and is not thread-safe. */
static gboolean
ensure_layer_style (Dialog *d, GError **error)
{
  NsImage *img;

  if (d->layer_style && d->layer_style_id == d->layer_id)
    return TRUE;
  g_clear_pointer (&d->layer_style, ns_shared_image_unref);
  img = ns_style_source_read_layer (d->layer_id, error);
  if (!img)
    return FALSE;
  d->layer_style = ns_shared_image_new (img);
  d->layer_style_id = d->layer_id;
  return TRUE;
}

static void
on_style_changed (GtkWidget *widget, Dialog *d)
{
  if (d->updating)
    return;
  style_from_widgets (d);
  update_sensitivity (d);
  request_preview (d);
}

static void
on_file_set (GtkFileChooserButton *button, Dialog *d)
{
  g_free (d->file_path);
  d->file_path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (button));
  on_style_changed (GTK_WIDGET (button), d);
}

static void
on_new_variation (GtkButton *button, Dialog *d)
{
  /* any seed the spin accepts; the spin's handler asks for a preview */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (d->seed_spin),
                             g_random_int_range (0, NS_SEED_MAX));
}

/* ---- preview ----------------------------------------------------------- */

static void
set_status (Dialog *d, double fraction, const gchar *text)
{
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (d->progress),
                                 CLAMP (fraction, 0.0, 1.0));
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (d->progress), text);
  gimp_help_set_help_data (d->progress, text, NULL);
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

static void
request_preview (Dialog *d)
{
  NsPreviewJob *job;
  NsImage     **layer_style = NULL;
  GError       *error = NULL;

  if (d->updating || !d->worker)
    return;
  if (!gimp_preview_get_update (GIMP_PREVIEW (d->preview)))
    {
      ns_preview_worker_cancel (d->worker);
      return;
    }
  if (!d->source)
    {
      /* not fetched yet: the preview's "invalidated" comes back here */
      gimp_preview_invalidate (GIMP_PREVIEW (d->preview));
      return;
    }
  if (!d->values.style[0])
    {
      ns_preview_worker_cancel (d->worker);
      gimp_preview_draw (GIMP_PREVIEW (d->preview));   /* the original */
      set_status (d, 0.0, combo_active_kind (d->style_combo, NULL) == KIND_LAYER
                          ? "Choose a layer" : "Choose a style image");
      return;
    }
  if (ns_style_parse_layer (d->values.style, NULL))
    {
      if (!ensure_layer_style (d, &error))
        {
          ns_preview_worker_cancel (d->worker);
          set_status (d, 0.0, error->message);
          g_error_free (error);
          return;
        }
      layer_style = d->layer_style;
    }
  job = ns_preview_job_new (&d->values, d->source, layer_style, &error);
  if (!job)
    {
      set_status (d, 0.0, error->message);
      g_error_free (error);
      return;
    }
  ns_preview_worker_submit (d->worker, job);
  set_status (d, 0.0, "Painting...");
}

static void
on_preview_invalidated (GimpPreview *preview, Dialog *d)
{
  if (fetch_source (d))
    request_preview (d);
}

static void
on_preview_update_toggled (GObject *preview, GParamSpec *pspec, Dialog *d)
{
  if (!gimp_preview_get_update (GIMP_PREVIEW (preview)))
    {
      ns_preview_worker_cancel (d->worker);
      set_status (d, 0.0, "Preview off");
    }
}

static void
on_preview_result (const NsPreviewJob *job, NsImage *result,
                   const GError *error, gpointer data)
{
  Dialog *d = data;
  guchar *pixels;
  gchar  *text;

  if (!result)
    {
      if (!g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED))
        {
          /* no stale painting next to the message */
          gimp_preview_draw (GIMP_PREVIEW (d->preview));
          set_status (d, 0.0, error->message);
        }
      return;
    }
  pixels = ns_preview_image_to_bytes (result);
  gimp_preview_draw_buffer (GIMP_PREVIEW (d->preview), pixels,
                            result->width * result->channels);
  g_free (pixels);

  {
    double ms = (g_get_monotonic_time () - job->submitted_us) / 1000.0;

    text = g_strdup_printf ("Preview: %.0f ms", ms);
    set_status (d, 1.0, text);
    g_free (text);
    ns_preview_log_drawn (job, result, ms);
  }
  ns_image_free (result);
}

static void
on_preview_progress (double fraction, const char *stage, gpointer data)
{
  Dialog *d = data;
  gchar  *text = g_strdup_printf ("Painting: %s", stage ? stage : "");
  gchar   number[G_ASCII_DTOSTR_BUF_SIZE];

  set_status (d, fraction, text);
  g_free (text);
  g_debug ("progress %s %s",
           g_ascii_formatd (number, sizeof number, "%.3f", fraction),
           stage ? stage : "-");
}

/* ---- building the dialog ----------------------------------------------- */

static GtkWidget *
table_label (GtkTable *table, int row, const gchar *text, GtkWidget *target)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_misc_set_alignment (GTK_MISC (label), 0.0, 0.5);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), target);
  gtk_table_attach (table, label, 0, 1, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
  gtk_table_attach (table, target, 1, 3, row, row + 1,
                    GTK_EXPAND | GTK_FILL, GTK_FILL, 0, 0);
  return label;
}

static GtkWidget *
framed_table (GtkWidget *box, const gchar *title, int rows)
{
  GtkWidget *frame = gimp_frame_new (title);
  GtkWidget *table = gtk_table_new (rows, 3, FALSE);

  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_add (GTK_CONTAINER (frame), table);
  gtk_box_pack_start (GTK_BOX (box), frame, FALSE, FALSE, 0);
  return table;
}

/* Enter in a numeric entry presses OK, as in GIMP's own filters. */
static void
activates_default (GtkObject *scale_entry_adj)
{
  gtk_entry_set_activates_default
    (GTK_ENTRY (GIMP_SCALE_ENTRY_SPINBUTTON (scale_entry_adj)), TRUE);
}

static void
build_style_frame (Dialog *d, GtkWidget *box)
{
  GtkWidget     *table = framed_table (box, "Style", 5);
  GtkFileFilter *filter;

  d->style_combo = style_combo_new (style_store_new (d->presets, FALSE));
  table_label (GTK_TABLE (table), 0, "_Style:", d->style_combo);
  gimp_help_set_help_data (d->style_combo,
                           "A preset painted by a trained network (fast), or "
                           "any image file or layer as the style (slower: "
                           "optimised for this image)", NULL);

  d->file_chooser = gtk_file_chooser_button_new ("Choose a Style Image",
                                                 GTK_FILE_CHOOSER_ACTION_OPEN);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Images");
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (d->file_chooser), filter);
  d->file_label = table_label (GTK_TABLE (table), 1, "Image _file:",
                               d->file_chooser);
  gimp_help_set_help_data (d->file_chooser,
                           "Any picture whose colours and brush strokes "
                           "should be painted into the image", NULL);

  d->layer_combo = gimp_layer_combo_box_new (NULL, NULL);
  d->layer_label = table_label (GTK_TABLE (table), 2, "_Layer:",
                                d->layer_combo);
  gimp_help_set_help_data (d->layer_combo,
                           "A layer of any open image to use as the style",
                           NULL);

  d->style2_combo = style_combo_new (style_store_new (d->presets, TRUE));
  table_label (GTK_TABLE (table), 3, "Blen_d with:", d->style2_combo);
  gimp_help_set_help_data (d->style2_combo,
                           "A second preset to blend with the first "
                           "(presets of the same weights file only)", NULL);

  d->mix_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 4, "_Mix:",
                                     120, 6, 0.5, 0.0, 1.0, 0.01, 0.1, 2,
                                     TRUE, 0, 0,
                                     "0: the first style only; 1: the second "
                                     "style only", NULL);
  activates_default (d->mix_adj);
}

static void
build_weights_frame (Dialog *d, GtkWidget *box)
{
  GtkWidget *table = framed_table (box, "Painting", 6);
  GtkWidget *hbox, *button, *label;

  /* the sliders cover the useful range; the entries take up to the limit */
  d->alpha_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 0,
                                       "Co_ntent weight:", 120, 6,
                                       1.0, 0.0, 10.0, 0.1, 1.0, 2,
                                       FALSE, 0.0, NS_WEIGHT_MAX,
                                       "Alpha: how much of the photo's "
                                       "structure is kept", NULL);
  d->beta_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 1,
                                      "St_yle weight:", 120, 6,
                                      1.0, 0.0, 10.0, 0.1, 1.0, 2,
                                      FALSE, 0.0, NS_WEIGHT_MAX,
                                      "Beta: how strongly the style is "
                                      "painted", NULL);
  d->iterations_adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 2,
                                            "Refinemen_t:", 120, 6,
                                            0, 0, 200, 1, 10, 0,
                                            FALSE, 0, NS_ITERATIONS_MAX,
                                            "With a preset: optimiser steps "
                                            "after the network (0 = none). "
                                            "With an image file or layer: "
                                            "optimiser steps (0 = default). "
                                            "More is slower.", NULL);
  activates_default (d->alpha_adj);
  activates_default (d->beta_adj);
  activates_default (d->iterations_adj);

  hbox = gtk_hbox_new (FALSE, 6);
  d->seed_spin = gtk_spin_button_new_with_range (0, NS_SEED_MAX, 1);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (d->seed_spin), 0);
  gtk_entry_set_activates_default (GTK_ENTRY (d->seed_spin), TRUE);
  gtk_box_pack_start (GTK_BOX (hbox), d->seed_spin, TRUE, TRUE, 0);
  gimp_help_set_help_data (d->seed_spin,
                           "The same seed paints the same result; another "
                           "seed paints a variation (a preset's network "
                           "sees the photo mirrored and moved, with other "
                           "noise, so its strokes fall otherwise)", NULL);
  button = gtk_button_new_with_mnemonic ("New _variation");
  gimp_help_set_help_data (button, "Pick a random seed", NULL);
  g_signal_connect (button, "clicked", G_CALLBACK (on_new_variation), d);
  gtk_box_pack_start (GTK_BOX (hbox), button, FALSE, FALSE, 0);
  label = table_label (GTK_TABLE (table), 3, "S_eed:", hbox);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->seed_spin);

  d->colors_check = gtk_check_button_new_with_mnemonic ("Preserve colo_urs");
  gimp_help_set_help_data (d->colors_check,
                           "Paint the style's strokes but keep the photo's "
                           "colours", NULL);
  gtk_table_attach (GTK_TABLE (table), d->colors_check, 0, 3, 4, 5,
                    GTK_FILL, GTK_FILL, 0, 0);
}

static void
build_output_frame (Dialog *d, GtkWidget *box)
{
  GtkWidget *frame = gimp_frame_new ("Result");
  GtkWidget *vbox = gtk_vbox_new (FALSE, 2);

  d->in_place_radio = gtk_radio_button_new_with_mnemonic (NULL,
                                                          "Replace the layer's "
                                                          "p_ixels");
  d->new_layer_radio = gtk_radio_button_new_with_mnemonic_from_widget
    (GTK_RADIO_BUTTON (d->in_place_radio), "As a ne_w layer above it");
  gimp_help_set_help_data (d->in_place_radio,
                           "Paint over the drawable (one undo step)", NULL);
  gimp_help_set_help_data (d->new_layer_radio,
                           "Keep the drawable and add the result as a layer "
                           "named after the style", NULL);
  gtk_box_pack_start (GTK_BOX (vbox), d->in_place_radio, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), d->new_layer_radio, FALSE, FALSE, 0);
  gtk_container_add (GTK_CONTAINER (frame), vbox);
  gtk_box_pack_start (GTK_BOX (box), frame, FALSE, FALSE, 0);
  /* a channel or mask cannot get a layer above it */
  gtk_widget_set_sensitive (d->new_layer_radio, gimp_item_is_layer (d->drawable));
}

static void
connect_changes (Dialog *d)
{
  GtkObject *adjs[] = { d->alpha_adj, d->beta_adj, d->iterations_adj,
                        d->mix_adj };

  for (guint i = 0; i < G_N_ELEMENTS (adjs); i++)
    g_signal_connect_swapped (adjs[i], "value-changed",
                              G_CALLBACK (on_value_changed), d);
  g_signal_connect (d->seed_spin, "value-changed",
                    G_CALLBACK (on_value_changed), d);
  g_signal_connect (d->colors_check, "toggled",
                    G_CALLBACK (on_value_changed), d);
  g_signal_connect (d->new_layer_radio, "toggled",
                    G_CALLBACK (on_value_changed), d);
  g_signal_connect (d->style_combo, "changed",
                    G_CALLBACK (on_style_changed), d);
  g_signal_connect (d->style2_combo, "changed",
                    G_CALLBACK (on_style_changed), d);
  g_signal_connect (d->file_chooser, "file-set", G_CALLBACK (on_file_set), d);
  g_signal_connect (d->layer_combo, "changed",
                    G_CALLBACK (on_style_changed), d);
  g_signal_connect (d->preview, "invalidated",
                    G_CALLBACK (on_preview_invalidated), d);
  g_signal_connect (d->preview, "notify::update",
                    G_CALLBACK (on_preview_update_toggled), d);
}

static void
build_dialog (Dialog *d)
{
  GtkWidget *main_hbox, *left, *right;

  d->dialog = gimp_dialog_new ("Neural Style", NS_PLUG_IN_BINARY,
                               NULL, 0, gimp_standard_help_func, NS_PLUG_IN_PROC,
                               "_Reset", RESPONSE_RESET,
                               "_Cancel", GTK_RESPONSE_CANCEL,
                               "_OK", GTK_RESPONSE_OK,
                               NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (d->dialog),
                                            RESPONSE_RESET, GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
  gtk_dialog_set_default_response (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK);
  gimp_window_set_transient (GTK_WINDOW (d->dialog));

  main_hbox = gtk_hbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (main_hbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (d->dialog))),
                      main_hbox, TRUE, TRUE, 0);

  left = gtk_vbox_new (FALSE, 6);
  gtk_box_pack_start (GTK_BOX (main_hbox), left, FALSE, FALSE, 0);
  /* GimpPreview takes its size from a style property (200 by default),
   * read when the widget gets its style */
  gtk_rc_parse_string ("style \"ns-preview-style\" { GimpPreview::size = "
                       G_STRINGIFY (PREVIEW_SIZE) " }\n"
                       "widget \"*.ns-preview\" style \"ns-preview-style\"\n");
  d->preview = gimp_zoom_preview_new_from_drawable_id (d->drawable);
  gtk_widget_set_name (d->preview, "ns-preview");
  gtk_box_pack_start (GTK_BOX (left), d->preview, FALSE, FALSE, 0);
  d->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_ellipsize (GTK_PROGRESS_BAR (d->progress),
                                  PANGO_ELLIPSIZE_END);
  gtk_box_pack_start (GTK_BOX (left), d->progress, FALSE, FALSE, 0);

  right = gtk_vbox_new (FALSE, 12);
  gtk_box_pack_start (GTK_BOX (main_hbox), right, FALSE, FALSE, 0);
  build_style_frame (d, right);
  build_weights_frame (d, right);
  build_output_frame (d, right);
}

gboolean
ns_dialog_run (NsPlugValues *values, gint32 drawable)
{
  Dialog   d = { 0 };
  gint     response;

  d.values = *values;
  d.drawable = drawable;
  d.layer_id = -1;
  d.presets = ns_presets_list (NULL);

  build_dialog (&d);
  widgets_from_values (&d);
  connect_changes (&d);
  d.worker = ns_preview_worker_new (on_preview_result, on_preview_progress, &d);
  set_status (&d, 0.0, "");
  gtk_widget_show_all (d.dialog);
  update_sensitivity (&d);   /* show_all showed the hidden rows */

  while ((response = gimp_dialog_run (GIMP_DIALOG (d.dialog))) == RESPONSE_RESET)
    {
      ns_plug_values_init (&d.values);
      widgets_from_values (&d);
      request_preview (&d);
    }

  /* no callback may touch the widgets once they are gone */
  ns_preview_worker_free (d.worker);
  d.worker = NULL;
  if (response == GTK_RESPONSE_OK)
    *values = d.values;
  gtk_widget_destroy (d.dialog);

  g_clear_pointer (&d.layer_style, ns_shared_image_unref);
  g_clear_pointer (&d.source, ns_image_free);
  g_ptr_array_unref (d.presets);
  g_free (d.file_path);
  return response == GTK_RESPONSE_OK;
}

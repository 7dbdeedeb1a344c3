/* A plain GTK+ 2 dialog for the plug-in: one row per PDB parameter. */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "ns_config.h"
#include "ns_dialog.h"

#define NS_PLUG_IN_PROC   "plug-in-neural-style"
#define NS_PLUG_IN_BINARY "gimp-neural-style"

void
ns_plug_values_init (NsPlugValues *values)
{
  memset (values, 0, sizeof *values);
  values->alpha = 1.0;
  values->beta = 1.0;
  values->refine_iterations = 0;
  values->preserve_colors = FALSE;
  values->seed = 0;
  values->new_layer = FALSE;
}

/* Picking a file replaces whatever preset name or path the entry held. */
static void
on_style_file_set (GtkFileChooserButton *button, GtkEntry *entry)
{
  gchar *filename = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (button));

  if (filename)
    gtk_entry_set_text (entry, filename);
  g_free (filename);
}

/* Lists the preset names found in NS_WEIGHTS_DIR, for the entry's tooltip. */
static gchar *
describe_presets (void)
{
  GDir    *dir = g_dir_open (NS_WEIGHTS_DIR, 0, NULL);
  GString *text = g_string_new ("A preset name or the path of any image "
                                "to use as the style.");
  const gchar *name;
  gboolean     first = TRUE;

  if (!dir)
    return g_string_free (text, FALSE);
  while ((name = g_dir_read_name (dir)))
    {
      if (!g_str_has_suffix (name, ".nsw"))
        continue;
      g_string_append (text, first ? "\nPresets: " : ", ");
      g_string_append_len (text, name, strlen (name) - strlen (".nsw"));
      first = FALSE;
    }
  g_dir_close (dir);
  return g_string_free (text, FALSE);
}

static GtkWidget *
attach_label (GtkTable *table, int row, const gchar *text)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_misc_set_alignment (GTK_MISC (label), 0.0, 0.5);
  gtk_table_attach (table, label, 0, 1, row, row + 1,
                    GTK_FILL, GTK_FILL, 0, 0);
  return label;
}

static GtkWidget *
attach_spin (GtkTable *table, int row, const gchar *text, gdouble value,
             gdouble lower, gdouble upper, gdouble step, guint digits)
{
  GtkWidget *label = attach_label (table, row, text);
  GtkWidget *spin = gtk_spin_button_new_with_range (lower, upper, step);

  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), spin);
  gtk_table_attach (table, spin, 1, 3, row, row + 1,
                    GTK_EXPAND | GTK_FILL, GTK_FILL, 0, 0);
  return spin;
}

gboolean
ns_dialog_run (NsPlugValues *values)
{
  GtkWidget *dialog, *table, *label, *style_entry, *chooser;
  GtkWidget *alpha_spin, *beta_spin, *iter_spin, *seed_spin;
  GtkWidget *colors_check, *layer_check;
  GtkFileFilter *filter;
  gchar     *tooltip;
  gboolean   ok;

  dialog = gimp_dialog_new ("Neural Style", NS_PLUG_IN_BINARY,
                            NULL, 0, gimp_standard_help_func, NS_PLUG_IN_PROC,
                            "_Cancel", GTK_RESPONSE_CANCEL,
                            "_OK", GTK_RESPONSE_OK,
                            NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog),
                                            GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  table = gtk_table_new (7, 3, FALSE);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_set_border_width (GTK_CONTAINER (table), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))),
                      table, TRUE, TRUE, 0);

  label = attach_label (GTK_TABLE (table), 0, "_Style:");
  style_entry = gtk_entry_new ();
  gtk_entry_set_max_length (GTK_ENTRY (style_entry), NS_STYLE_MAX - 1);
  gtk_entry_set_text (GTK_ENTRY (style_entry), values->style);
  gtk_entry_set_width_chars (GTK_ENTRY (style_entry), 32);
  tooltip = describe_presets ();
  gtk_widget_set_tooltip_text (style_entry, tooltip);
  g_free (tooltip);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), style_entry);
  gtk_table_attach (GTK_TABLE (table), style_entry, 1, 2, 0, 1,
                    GTK_EXPAND | GTK_FILL, GTK_FILL, 0, 0);

  chooser = gtk_file_chooser_button_new ("Choose a Style Image",
                                         GTK_FILE_CHOOSER_ACTION_OPEN);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Images");
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  if (g_path_is_absolute (values->style))
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (chooser), values->style);
  g_signal_connect (chooser, "file-set",
                    G_CALLBACK (on_style_file_set), style_entry);
  gtk_table_attach (GTK_TABLE (table), chooser, 2, 3, 0, 1,
                    GTK_FILL, GTK_FILL, 0, 0);

  alpha_spin = attach_spin (GTK_TABLE (table), 1, "Content weight (_alpha):",
                            values->alpha, 0.0, 1e6, 0.1, 3);
  beta_spin = attach_spin (GTK_TABLE (table), 2, "Style weight (_beta):",
                           values->beta, 0.0, 1e6, 0.1, 3);
  iter_spin = attach_spin (GTK_TABLE (table), 3, "_Refine iterations:",
                           values->refine_iterations, 0, 100000, 10, 0);
  gimp_help_set_help_data (iter_spin,
                           "With a style image: optimiser steps "
                           "(0 = default). With a preset: refinement steps "
                           "after the generator (0 = none).", NULL);
  seed_spin = attach_spin (GTK_TABLE (table), 4, "S_eed:",
                           values->seed, G_MININT32, G_MAXINT32, 1, 0);

  colors_check = gtk_check_button_new_with_mnemonic ("_Preserve colours");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (colors_check),
                                values->preserve_colors);
  gtk_table_attach (GTK_TABLE (table), colors_check, 0, 3, 5, 6,
                    GTK_FILL, GTK_FILL, 0, 0);

  layer_check = gtk_check_button_new_with_mnemonic ("Result as a _new layer");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (layer_check),
                                values->new_layer);
  gtk_table_attach (GTK_TABLE (table), layer_check, 0, 3, 6, 7,
                    GTK_FILL, GTK_FILL, 0, 0);

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;

  if (ok)
    {
      g_strlcpy (values->style, gtk_entry_get_text (GTK_ENTRY (style_entry)),
                 sizeof values->style);
      g_strstrip (values->style);
      values->alpha = gtk_spin_button_get_value (GTK_SPIN_BUTTON (alpha_spin));
      values->beta = gtk_spin_button_get_value (GTK_SPIN_BUTTON (beta_spin));
      values->refine_iterations =
        gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (iter_spin));
      values->seed = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (seed_spin));
      values->preserve_colors =
        gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (colors_check));
      values->new_layer =
        gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (layer_check));
    }
  gtk_widget_destroy (dialog);
  return ok;
}

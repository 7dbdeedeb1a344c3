/* neural-style train: reads a folder of photos and the style images, fills
 * NsTrainParams from the options and runs ns_train, printing a line of
 * losses every few steps.  Ctrl-C stops after the current step, writing a
 * checkpoint when one was asked for (--resume continues from it). */
#include "cli.h"
#include "ns_image_file.h"
#include "ns_error.h"
#include "ns_trainer.h"
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The options that NsTrainParams cannot hold as GOption writes them: the
 * strings it owns, and its float and unsigned fields.  Every other option
 * writes straight into NsTrainParams. */
typedef struct
{
  char   *photos_dir;
  char  **style_files;
  char  **style_names;
  char   *output;
  char   *add_style;
  char   *checkpoint;
  char   *gan;
  char   *sample, *sample_out;
  char  **style_sources;
  gint    log_every;
  gint64  seed;
  double  lr, lr_disc, noise;
} TrainArgs;

static void
train_args_clear (TrainArgs *a)
{
  g_free (a->photos_dir);
  g_strfreev (a->style_files);
  g_strfreev (a->style_names);
  g_strfreev (a->style_sources);
  g_free (a->output);
  g_free (a->add_style);
  g_free (a->checkpoint);
  g_free (a->gan);
  g_free (a->sample);
  g_free (a->sample_out);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrainArgs, train_args_clear)

static volatile gint cancel_requested;

static void
on_sigint (int signum)
{
  cancel_requested = 1;
}

static gboolean
has_image_extension (const char *name)
{
  static const char *const ext[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff",
                                     ".webp", ".bmp" };
  g_autofree gchar *lower = g_ascii_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (ext); i++)
    if (g_str_has_suffix (lower, ext[i]))
      return TRUE;
  return FALSE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A photo decoded straight at its working size (short side short_side, or
 * as it is when smaller), so a large folder does not sit in memory at full
 * resolution; EXIF orientation applied, alpha dropped. */
static NsImage *
load_photo_scaled (const char *path, int short_side, GError **error)
{
  int w, h;
  if (!gdk_pixbuf_get_file_info (path, &w, &h) || w < 1 || h < 1
      || (guint64) w * h > NS_IMAGE_MAX_PIXELS)
    return ns_image_file_load (path, FALSE, error);   /* its error message */
  /* the scaled decode below does not notice a truncated file */
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, error);
  if (!file || !ns_image_data_check_complete ((const guint8 *) g_mapped_file_get_contents (file),
                                              g_mapped_file_get_length (file), path, error))
    return NULL;
  double scale = MIN (1.0, (double) short_side / MIN (w, h));
  g_autoptr (GdkPixbuf) raw = gdk_pixbuf_new_from_file_at_scale (
    path, MAX (1, (int) lround (w * scale)), MAX (1, (int) lround (h * scale)),
    FALSE, error);
  if (!raw)
    return NULL;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_apply_embedded_orientation (raw);
  int pw = gdk_pixbuf_get_width (pixbuf), ph = gdk_pixbuf_get_height (pixbuf);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  if (gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || channels < 3)
    return ns_image_file_load (path, FALSE, error);
  NsImage *img = ns_image_new (pw, ph, 3, error);
  if (!img)
    return NULL;
  const guchar *pixels = gdk_pixbuf_read_pixels (pixbuf);
  for (int y = 0; y < ph; y++)
    for (int x = 0; x < pw; x++)
      for (int c = 0; c < 3; c++)
        img->data[((size_t) y * pw + x) * 3 + c] =
          pixels[(size_t) y * stride + (size_t) x * channels + c] / 255.0f;
  return img;
}

/* Every image of dir, in name order (so a seed means the same run). */
static GPtrArray *
load_photos (const char *dir_path, int short_side, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, error);
  if (!dir)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    if (has_image_extension (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  if (names->len == 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "no images in %s", dir_path);
      return NULL;
    }
  g_autoptr (GPtrArray) photos = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_image_free);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree gchar *path = g_build_filename (dir_path, names->pdata[i], NULL);
      g_autoptr (GError) local = NULL;
      NsImage *img = load_photo_scaled (path, short_side, &local);
      /* one bad file in a folder of thousands should not end the run */
      if (!img)
        fprintf (stderr, "neural-style: warning: skipping photo: %s\n", local->message);
      else
        g_ptr_array_add (photos, img);
    }
  if (photos->len == 0)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_IO, "no readable images in %s", dir_path);
      return NULL;
    }
  return g_steal_pointer (&photos);
}

/* A PNG thumbnail of at most 128 px for the weight file (the plug-in's
 * preset list shows it); NULL when the file cannot be scaled. */
static GBytes *
thumbnail_png (const char *path)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file_at_scale (path, 128, 128,
                                                                   TRUE, NULL);
  gchar *buffer = NULL;
  gsize len = 0;
  if (!pixbuf || !gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", NULL, NULL))
    return NULL;
  return g_bytes_new_take (buffer, len);
}

typedef struct
{
  int log_every;
} Log;

/* --sample: the photo stylized by the network in training, rewritten at
 * every checkpoint interval and at the end, to watch a run. */
typedef struct
{
  const char    *path;
  NsImageFileFormat    format;
} Sample;

static void
write_sample (const NsImage *img, int step, gpointer data)
{
  const Sample *s = data;
  g_autoptr (GError) error = NULL;
  if (!ns_image_file_save (img, s->path, s->format, NULL, &error))
    fprintf (stderr, "neural-style: no sample at step %d: %s\n", step, error->message);
}

static void
print_step (const NsTrainStep *info, gpointer data)
{
  const Log *log = data;
  if (info->step % log->log_every != 0 && info->step != info->steps)
    return;
  GString *line = g_string_new (NULL);
  g_string_append_printf (line, "step %d/%d  loss %.4f  content %.4f  style %.4f  stroke %.5f  tv %.4f",
                          info->step, info->steps, info->loss, info->content,
                          info->style, info->stroke, info->tv);
  if (info->chroma > 0)
    g_string_append_printf (line, "  chroma %.5f", info->chroma);
  if (info->variation > 0)
    g_string_append_printf (line, "  variation %.6f", info->variation);
  if (!isnan (info->adv))
    g_string_append_printf (line, "  adv %.3f", info->adv);
  if (!isnan (info->disc))
    g_string_append_printf (line, "  D %.3f", info->disc);
  if (!isnan (info->validation))
    g_string_append_printf (line, "  val %.4f", info->validation);
  int eta = (int) lround (info->eta_s);
  g_string_append_printf (line, "  eta %d:%02d:%02d\n", eta / 3600, eta / 60 % 60, eta % 60);
  fputs (line->str, stderr);
  g_string_free (line, TRUE);
}

NsCliExit
ns_cli_train (int argc, char **argv)
{
  NsTrainParams p;
  ns_train_params_init (&p);
  g_auto (TrainArgs) a = {
    .log_every = 10, .seed = (gint64) p.seed, .lr = p.lr, .lr_disc = p.lr_disc,
    .noise = p.noise,
  };
  const GOptionEntry entries[] = {
    { "photos", 0, 0, G_OPTION_ARG_FILENAME, &a.photos_dir, "Folder of training photos", "DIR" },
    { "style", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &a.style_files, "Style image (repeat for several)", "FILE" },
    { "name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.style_names, "Style name, in --style order (default: file name)", "NAME" },
    { "source", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.style_sources, "Where the style image came from, in --style order (default: file name)", "TEXT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &a.output, "Weights file to write", "OUT.nsw" },
    { "add-style", 0, 0, G_OPTION_ARG_FILENAME, &a.add_style, "Append the styles to this generator, training only their norms", "BASE.nsw" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &p.steps, "Total training steps", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &p.batch, "Crops per step", "N" },
    { "crop", 0, 0, G_OPTION_ARG_INT, &p.crop, "Crop side in pixels", "PX" },
    { "photo-size", 0, 0, G_OPTION_ARG_INT, &p.photo_size, "Photos are scaled to this short side", "PX" },
    { "style-size", 0, 0, G_OPTION_ARG_INT, &p.style_size, "Style images are scaled to this long side", "PX" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &p.base_channels, "Generator base channels", "C" },
    { "res-blocks", 0, 0, G_OPTION_ARG_INT, &p.res_blocks, "Generator residual blocks", "R" },
    { "out-kernel", 0, 0, G_OPTION_ARG_INT, &p.out_kernel, "Kernel of the output conv (odd)", "K" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr, "Generator learning rate", "LR" },
    { "lr-disc", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr_disc, "Discriminator learning rate", "LR" },
    { "lambda-adv", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_adv, "Adversarial weight (0: no discriminator)", "W" },
    { "lambda-content", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_content, "Content weight", "W" },
    { "lambda-style", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_style, "Style weight", "W" },
    { "lambda-stroke", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_stroke, "Brush-stroke weight (patches of high-passed luminance)", "W" },
    { "lambda-chroma", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_chroma, "Colour-layout weight (blurred chroma of the photo: no colour blotches)", "W" },
    { "lambda-variation", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_variation, "Variation weight (two noise draws of one crop alike above stroke size: no clusters of marks); needs an even batch", "W" },
    { "lambda-tv", 0, 0, G_OPTION_ARG_DOUBLE, &p.lambda_tv, "Total-variation weight", "W" },
    { "noise", 0, 0, G_OPTION_ARG_DOUBLE, &a.noise, "Variation noise amplitude (0: none)", "A" },
    { "gan", 0, 0, G_OPTION_ARG_STRING, &a.gan, "Adversarial loss: lsgan (default) or bce", "KIND" },
    { "validation", 0, 0, G_OPTION_ARG_DOUBLE, &p.validation_fraction, "Fraction of photos held out", "F" },
    { "validate-every", 0, 0, G_OPTION_ARG_INT, &p.validate_every, "Score the held-out photos every N steps", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed", "N" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &a.checkpoint, "Checkpoint file", "FILE" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &p.checkpoint_every, "Write the checkpoint every N steps", "N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &p.resume, "Continue from the checkpoint when it exists", NULL },
    { "log-every", 0, 0, G_OPTION_ARG_INT, &a.log_every, "Print the losses every N steps", "N" },
    { "sample", 0, 0, G_OPTION_ARG_FILENAME, &a.sample, "Stylize this photo at every checkpoint interval ...", "PHOTO" },
    { "sample-out", 0, 0, G_OPTION_ARG_FILENAME, &a.sample_out, "... into this PNG or JPEG", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- train a generator of preset styles");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autofree gchar *description = g_strdup_printf (
    "Defaults: --steps %d --batch %d --crop %d --photo-size %d --style-size %d\n"
    "  --channels %d --res-blocks %d --out-kernel %d --lr %g --lr-disc %g\n"
    "  --lambda-adv %g --lambda-content %g --lambda-style %g --lambda-stroke %g\n"
    "  --lambda-chroma %g --lambda-variation %g --lambda-tv %g --validation %g --validate-every %d --checkpoint-every %d --seed %" G_GUINT64_FORMAT "\n\n"
    "Example: neural-style train --photos photos/ --style monet.jpg --name monet -o monet.nsw\n"
    "Ctrl-C stops after the current step (and writes --checkpoint).\n"
    "Exit status: 0 success, 1 runtime error or cancelled, 2 usage error.",
    p.steps, p.batch, p.crop, p.photo_size, p.style_size, p.base_channels,
    p.res_blocks, p.out_kernel, p.lr, p.lr_disc, p.lambda_adv, p.lambda_content,
    p.lambda_style, p.lambda_stroke, p.lambda_chroma, p.lambda_variation, p.lambda_tv, p.validation_fraction, p.validate_every,
    p.checkpoint_every, p.seed);
  g_option_context_set_description (context, description);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
  if (argc > 1)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "unexpected argument '%s'", argv[1]);
  if (!a.photos_dir || !a.style_files || !a.output)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "train needs --photos, --style and --output");
  int n_styles = (int) g_strv_length (a.style_files);
  if (a.style_names && (int) g_strv_length (a.style_names) != n_styles)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "give one --name per --style or none");
  if (a.log_every < 1)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--log-every must be >= 1");
  if (a.gan && strcmp (a.gan, "lsgan") != 0 && strcmp (a.gan, "bce") != 0)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--gan must be lsgan or bce");
  if (a.seed < 0)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--seed must be >= 0");
  if (!a.sample != !a.sample_out)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--sample and --sample-out go together");
  if (a.style_sources && (int) g_strv_length (a.style_sources) > n_styles)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "give at most one --source per --style");
  /* every file the run writes, before its first step */
  const char *const written[] = { a.output, a.checkpoint, a.sample_out };
  for (gsize i = 0; i < G_N_ELEMENTS (written); i++)
    if (written[i] && !ns_check_output_dir (written[i], &error))
      return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
  Sample sample = { .path = a.sample_out };
  g_autoptr (NsImage) sample_photo = NULL;
  if (a.sample)
    {
      if (!ns_image_file_format (a.sample_out, &sample.format, &error))
        return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
      sample_photo = ns_image_file_load (a.sample, TRUE, &error);
      if (!sample_photo)
        return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
    }

  g_autoptr (GPtrArray) styles = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_image_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) thumbnails = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree const guint8 **thumbnail_data = g_new0 (const guint8 *, n_styles);
  g_autofree gsize *thumbnail_lens = g_new0 (gsize, n_styles);
  for (int i = 0; i < n_styles; i++)
    {
      NsImage *img = ns_image_file_load (a.style_files[i], FALSE, &error);
      if (!img)
        return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
      g_ptr_array_add (styles, img);
      g_ptr_array_add (sources, a.style_sources && i < (int) g_strv_length (a.style_sources)
                                ? g_strdup (a.style_sources[i])
                                : g_path_get_basename (a.style_files[i]));
      GBytes *png = thumbnail_png (a.style_files[i]);
      if (png)
        {
          thumbnail_data[i] = g_bytes_get_data (png, &thumbnail_lens[i]);
          g_ptr_array_add (thumbnails, png);
        }
      if (a.style_names)
        g_ptr_array_add (names, g_strdup (a.style_names[i]));
      else
        {
          g_autofree gchar *base = g_path_get_basename (a.style_files[i]);
          char *dot = strrchr (base, '.');
          if (dot && dot != base)
            *dot = '\0';
          g_ptr_array_add (names, g_steal_pointer (&base));
        }
    }
  g_autoptr (GPtrArray) photos = load_photos (a.photos_dir, MAX (p.photo_size, 16), &error);
  if (!photos)
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);

  p.photos = (const NsImage *const *) photos->pdata;
  p.n_photos = (int) photos->len;
  p.styles = (const NsImage *const *) styles->pdata;
  p.style_names = (const char *const *) names->pdata;
  p.n_styles = n_styles;
  p.style_sources = (const char *const *) sources->pdata;
  p.style_thumbnails = thumbnail_data;
  p.style_thumbnail_lens = thumbnail_lens;
  p.add_to = a.add_style;
  p.lr = (float) a.lr;
  p.lr_disc = (float) a.lr_disc;
  p.noise = (float) a.noise;
  p.gan_loss = a.gan && strcmp (a.gan, "bce") == 0 ? NS_GAN_BCE : NS_GAN_LSGAN;
  p.seed = (guint64) a.seed;
  p.output = a.output;
  p.checkpoint = a.checkpoint;
  if (a.sample)
    {
      p.snapshot = write_sample;
      p.snapshot_photo = sample_photo;
      p.snapshot_data = &sample;
      p.snapshot_every = p.checkpoint_every;
    }
  if (!ns_train_params_validate (&p, &error))
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);

  fprintf (stderr, "training on %d photos, %d style%s, %d steps\n", p.n_photos,
           n_styles, n_styles == 1 ? "" : "s", p.steps);
  struct sigaction action = { .sa_handler = on_sigint, .sa_flags = SA_RESETHAND };
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  Log log = { a.log_every };
  NsProgress progress = ns_progress_whole (NULL, NULL, &cancel_requested);
  gboolean ok = ns_train (&p, &progress, print_step, &log, &error);
  signal (SIGINT, SIG_DFL);
  if (!ok)
    {
      if (g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED))
        return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "cancelled%s",
                            p.checkpoint ? " (checkpoint written; --resume continues)" : "");
      if (g_error_matches (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT))
        return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
      return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
    }
  fprintf (stderr, "wrote %s\n", p.output);
  return NS_CLI_OK;
}

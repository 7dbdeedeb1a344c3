/* neural-style stylize IN OUT ...: fills NsParams from the options, reads
 * the images, calls ns_stylize and writes the result. */
#include "cli.h"
#include "ns_image_file.h"
#include "ns_config.h"
#include "ns_error.h"
#include "ns_stylize.h"
#include "ns_presets.h"
#include "ns_weights.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  char    *style_name;
  char    *style2_name;
  char    *style_image;
  char    *weights;
  char    *style_loss;
  char    *optimizer;
  gboolean preserve_colors;
  /* numeric options, with whether each was given at all */
  double   alpha, beta, mix;
  gint64   iterations, refine, size, seed;
  gboolean has_alpha, has_beta, has_mix, has_iterations, has_refine, has_size;
} StylizeArgs;

static void
stylize_args_clear (StylizeArgs *args)
{
  g_free (args->style_name);
  g_free (args->style2_name);
  g_free (args->style_image);
  g_free (args->weights);
  g_free (args->style_loss);
  g_free (args->optimizer);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StylizeArgs, stylize_args_clear)

/* ---- numeric options: parsed and range-checked while GOption parses ----- */

typedef struct
{
  const char *name;        /* as GOption passes it, with the dashes */
  gboolean    integer;
  double      min, max;    /* the engine's ranges (ns_stylize.h) */
  const char *unit;        /* after the range in an error message */
  gsize       value_offset, given_offset;
} NumberOption;

#define NUMBER_OPTION(opt, field, is_int, lo, hi, unit) \
  { "--" opt, is_int, lo, hi, unit, G_STRUCT_OFFSET (StylizeArgs, field), \
    G_STRUCT_OFFSET (StylizeArgs, has_##field) }

static const NumberOption number_options[] = {
  NUMBER_OPTION ("alpha", alpha, FALSE, 0, NS_WEIGHT_MAX, ""),
  NUMBER_OPTION ("beta", beta, FALSE, 0, NS_WEIGHT_MAX, ""),
  NUMBER_OPTION ("mix", mix, FALSE, 0, 1, ""),
  NUMBER_OPTION ("iterations", iterations, TRUE, 0, NS_ITERATIONS_MAX, ""),
  NUMBER_OPTION ("refine", refine, TRUE, 0, NS_ITERATIONS_MAX, ""),
  NUMBER_OPTION ("size", size, TRUE, NS_SIZE_MIN, NS_SIZE_MAX, " pixels"),
};

static gboolean
parse_number_option (const char *option_name, const char *value,
                     gpointer data, GError **error)
{
  StylizeArgs *args = data;
  for (gsize i = 0; i < G_N_ELEMENTS (number_options); i++)
    {
      const NumberOption *opt = &number_options[i];
      if (strcmp (opt->name, option_name) != 0)
        continue;

      char *end = NULL;
      errno = 0;
      double v = g_ascii_strtod (value, &end);
      /* ERANGE also flags an underflow to a tiny (denormal) number, which
       * is still a number; an overflow gives +-HUGE_VAL, out of range */
      if (end == value || *end != '\0' || isnan (v) ||
          (opt->integer && isfinite (v) && v != floor (v)))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s needs %s, not '%s'", option_name,
                       opt->integer ? "a whole number" : "a number", value);
          return FALSE;
        }
      if (v < opt->min || v > opt->max)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s must be between %g and %g%s (got %s)", option_name,
                       opt->min, opt->max, opt->unit, value);
          return FALSE;
        }
      if (opt->integer)
        G_STRUCT_MEMBER (gint64, args, opt->value_offset) = (gint64) v;
      else
        G_STRUCT_MEMBER (double, args, opt->value_offset) = v;
      G_STRUCT_MEMBER (gboolean, args, opt->given_offset) = TRUE;
      return TRUE;
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
               "internal: no range for %s", option_name);
  return FALSE;
}

static gboolean
parse_seed_option (const char *option_name, const char *value,
                   gpointer data, GError **error)
{
  StylizeArgs *args = data;
  guint64 seed;
  g_autoptr (GError) local = NULL;
  if (!g_ascii_string_to_unsigned (value, 10, 0, NS_SEED_MAX, &seed, &local))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--seed must be a whole number between 0 and %d (got %s)",
                   NS_SEED_MAX, value);
      return FALSE;
    }
  args->seed = (gint64) seed;
  return TRUE;
}

static GOptionGroup *
stylize_option_group (StylizeArgs *args)
{
  const GOptionEntry entries[] = {
    { "style", 0, 0, G_OPTION_ARG_STRING, &args->style_name,
      "Preset style (fast path)", "NAME" },
    { "style2", 0, 0, G_OPTION_ARG_STRING, &args->style2_name,
      "Second preset to mix with --style", "NAME" },
    { "mix", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Mix of the two presets: 0 = --style only, 1 = --style2 only (default 0.5)", "M" },
    { "style-image", 0, 0, G_OPTION_ARG_FILENAME, &args->style_image,
      "Any picture as the style (optimisation path, slower)", "FILE" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &args->weights,
      "Weights file with the presets (default: in " NS_WEIGHTS_DIR ")", "FILE.nsw" },
    { "alpha", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Content weight, 0.." G_STRINGIFY (NS_WEIGHT_MAX), "A" },
    { "beta", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Style weight, 0.." G_STRINGIFY (NS_WEIGHT_MAX) " (alpha and beta not both 0)", "B" },
    { "iterations", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Optimisation steps with --style-image, 0.." G_STRINGIFY (NS_ITERATIONS_MAX) " (0 = default)", "N" },
    { "refine", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Refinement steps after a preset, 0.." G_STRINGIFY (NS_ITERATIONS_MAX) " (default 0)", "N" },
    { "size", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_number_option,
      "Working size of the long side, " G_STRINGIFY (NS_SIZE_MIN) ".." G_STRINGIFY (NS_SIZE_MAX) " px (default: the engine's)", "PX" },
    { "preserve-colors", 0, 0, G_OPTION_ARG_NONE, &args->preserve_colors,
      "Keep the photo's colours, take only the style's texture", NULL },
    { "seed", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_seed_option,
      "Random seed, 0..2147483647 (the plug-in's range; default 0)", "S" },
    { "style-loss", 0, 0, G_OPTION_ARG_STRING, &args->style_loss,
      "Style loss: swd (default) or gram", "swd|gram" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &args->optimizer,
      "Optimiser: adam (default) or lbfgs", "adam|lbfgs" },
    { NULL }
  };
  /* Callbacks get args as their data; the group copies the entries. */
  GOptionGroup *group = g_option_group_new ("stylize", "Stylize options",
                                            "Show stylize options", args, NULL);
  g_option_group_add_entries (group, entries);
  return group;
}

/* ---- the preset's weights, on a thread of their own ------------------------ */

typedef struct
{
  const char    *style_name, *weights;   /* --style, --weights (or NULL) */
  gboolean       found;                  /* the style's file is known */
  NsPresetModel *model;
  GError        *error;
} ModelLoad;

static gpointer
load_model (gpointer data)
{
  ModelLoad *m = data;
  /* found in the command rather than in the engine, so a typo fails
   * before the run */
  g_autoptr (NsPreset) preset = m->weights ? NULL
                                : ns_presets_find (NULL, m->style_name, &m->error);
  m->found = m->weights || preset;
  if (m->found)
    m->model = ns_preset_model_open (m->weights ? m->weights : preset->file, &m->error);
  return NULL;
}

/* ---- progress and cancel ------------------------------------------------ */

static volatile gint cancel_requested;

static void
on_sigint (int signum)
{
  cancel_requested = 1;
}

typedef struct
{
  int  last_percent;
  char last_stage[64];
  gboolean drawn;
} ProgressBar;

static void
draw_progress (double fraction, const char *stage, gpointer data)
{
  ProgressBar *bar = data;
  enum { WIDTH = 30 };
  int percent = (int) CLAMP (fraction * 100.0 + 0.5, 0, 100);
  stage = stage ? stage : "";
  /* Redraw only on change: the engine may call this very often. */
  if (bar->drawn && percent == bar->last_percent &&
      strncmp (stage, bar->last_stage, sizeof bar->last_stage - 1) == 0)
    return;
  bar->last_percent = percent;
  g_strlcpy (bar->last_stage, stage, sizeof bar->last_stage);
  bar->drawn = TRUE;

  char cells[WIDTH + 1];
  int filled = percent * WIDTH / 100;
  memset (cells, '#', filled);
  memset (cells + filled, '-', WIDTH - filled);
  cells[WIDTH] = '\0';
  /* \033[K clears what a longer previous stage text left behind. */
  fprintf (stderr, "\r[%s] %3d%% %.40s\033[K", cells, percent, stage);
  fflush (stderr);
}

/* ---- the subcommand ----------------------------------------------------- */

static gboolean
parse_style_loss (const char *name, NsStyleLoss *loss)
{
  if (!name || strcmp (name, "swd") == 0)
    *loss = NS_STYLE_LOSS_SWD;
  else if (strcmp (name, "gram") == 0)
    *loss = NS_STYLE_LOSS_GRAM;
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_optimizer (const char *name, NsOptimizer *optimizer)
{
  if (!name || strcmp (name, "adam") == 0)
    *optimizer = NS_OPTIMIZER_ADAM;
  else if (strcmp (name, "lbfgs") == 0)
    *optimizer = NS_OPTIMIZER_LBFGS;
  else
    return FALSE;
  return TRUE;
}

/* Checks everything that needs no file access; returns the exit code to
 * stop with, or NS_CLI_OK. */
static NsCliExit
check_combinations (const StylizeArgs *args)
{
  if (!args->style_name && !args->style_image)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "stylize needs --style NAME or --style-image FILE");
  if (args->style_name && args->style_image)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "give either --style or --style-image, not both");
  if (args->style2_name && !args->style_name)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--style2 needs --style");
  if (args->has_mix && !args->style2_name)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--mix needs --style2");
  if (args->style_image && args->weights)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "--weights is for presets (--style), not --style-image");
  if (args->style_image && args->has_refine)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "--refine is for presets; with --style-image use --iterations");
  if (args->style_name && args->has_iterations)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "--iterations is for --style-image; with a preset use --refine");
  if (args->alpha == 0 && args->beta == 0)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "--alpha and --beta cannot both be 0");
  NsStyleLoss loss;
  if (!parse_style_loss (args->style_loss, &loss))
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "unknown --style-loss '%s' (use swd or gram)", args->style_loss);
  NsOptimizer optimizer;
  if (!parse_optimizer (args->optimizer, &optimizer))
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "unknown --optimizer '%s' (use adam or lbfgs)", args->optimizer);
  return NS_CLI_OK;
}

NsCliExit
ns_cli_stylize (int argc, char **argv)
{
  NsParams p;
  ns_params_init (&p);
  g_auto (StylizeArgs) args = {
    .alpha = p.alpha, .beta = p.beta, .mix = 0.5, .seed = p.seed,
  };
  g_set_prgname ("neural-style stylize");

  g_autoptr (GOptionContext) context = g_option_context_new ("IN OUT - stylize an image");
  g_option_context_set_main_group (context, stylize_option_group (&args));
  g_option_context_set_description (context,
    "IN is any image gdk-pixbuf reads; OUT is written as PNG or JPEG by its\n"
    "extension (JPEG drops alpha).  Use --style NAME for a preset (fast) or\n"
    "--style-image FILE for any picture (slower).  Ctrl-C cancels.\n"
    "Exit status: 0 success, 1 runtime error or cancelled, 2 usage error.");

  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
  if (argc < 3)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "stylize needs IN and OUT (see neural-style stylize --help)");
  if (argc > 3)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "stylize takes only IN and OUT, got extra '%s'", argv[3]);
  const char *in_path = argv[1], *out_path = argv[2];

  NsCliExit status = check_combinations (&args);
  if (status != NS_CLI_OK)
    return status;
  NsImageFileFormat out_format;
  if (!ns_image_file_format (out_path, &out_format, &error))
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);

  p.alpha = args.alpha;
  p.beta = args.beta;
  p.iterations = (int) (args.style_name ? args.refine : args.iterations);
  p.size = args.has_size ? (int) args.size : p.size;
  p.preserve_colors = args.preserve_colors;
  p.seed = (guint32) args.seed;
  parse_style_loss (args.style_loss, &p.style_loss);
  parse_optimizer (args.optimizer, &p.optimizer);
  if (args.style2_name)
    {
      p.preset2 = args.style2_name;
      p.mix = args.mix;
    }
  /* From here on, problems are with files or the run, not the command line. */
  if (!g_file_test (in_path, G_FILE_TEST_EXISTS))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "input image '%s' does not exist", in_path);
  if (args.style_image && !g_file_test (args.style_image, G_FILE_TEST_EXISTS))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "style image '%s' does not exist",
                        args.style_image);
  if (args.weights && !g_file_test (args.weights, G_FILE_TEST_EXISTS))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "weights file '%s' does not exist",
                        args.weights);
  if (!ns_check_output_dir (out_path, &error))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);

  g_autoptr (NsImage) style = NULL;
  ModelLoad load = { .style_name = args.style_name, .weights = args.weights };
  g_autoptr (GThread) loader = NULL;
  if (args.style_name)
    {
      /* the weights load (read, checksum: ~40 ms) while the photo decodes */
      loader = g_thread_new ("ns-load", load_model, &load);
      p.preset = args.style_name;
    }
  else
    {
      style = ns_image_file_load (args.style_image, FALSE, &error);
      if (!style)
        return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "cannot read style image: %s",
                            error->message);
      p.style_image = style;
    }
  /* The engine's own checks catch anything this command does not know of. */
  gboolean valid = ns_params_validate (&p, &error);
  /* decoded to 8 bits once: the engine reads it and writes the result
   * into it a band at a time, and it is saved from there */
  g_autoptr (GdkPixbuf) img = valid ? ns_image_file_decode (in_path, &error) : NULL;
  NsImageBands bands;
  gboolean readable = img && ns_image_file_bands (img, in_path, &bands, &error);
  g_autoptr (NsPresetModel) model = NULL;
  if (loader)
    {
      g_thread_join (g_steal_pointer (&loader));
      model = load.model;
    }
  g_autoptr (GError) load_error = g_steal_pointer (&load.error);
  /* the style's error first, as when it was looked up before the photo */
  if (load_error && !load.found)
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s (neural-style info FILE.nsw "
                        "lists a file's styles; or give --weights FILE.nsw)",
                        load_error->message);
  if (!valid)
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
  if (!readable)
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "cannot read input image: %s",
                        error->message);

  /* Ctrl-C or SIGTERM raises the flag the engine and the save poll, until
   * the file is in place; a second signal kills as usual. */
  struct sigaction action = { .sa_handler = on_sigint,
                              .sa_flags = SA_RESETHAND | SA_RESTART };
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);

  if (p.preset && !(p.model = model))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", load_error->message);

  ProgressBar bar = { .last_percent = -1 };
  gboolean show_progress = isatty (STDERR_FILENO);
  gboolean ok = ns_stylize_bands (&p, &bands, show_progress ? draw_progress : NULL, &bar,
                                  &cancel_requested, &error);
  if (bar.drawn)
    fputc ('\n', stderr);
  if (!ok)
    {
      if (g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED))
        return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "cancelled");
      return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
    }

  ok = ns_image_file_save_pixbuf (img, out_path, out_format, &cancel_requested, &error);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  if (!ok && g_error_matches (error, NS_ERROR, NS_ERROR_CANCELLED))
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "cancelled; '%s' was not changed",
                        out_path);
  if (!ok)
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s; '%s' was not changed",
                        error->message, out_path);
  return NS_CLI_OK;
}

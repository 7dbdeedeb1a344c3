/* neural-style: the command line front end of GIMP Neural Style.
 * Dispatches to one subcommand; each parses its own options. */
#include "cli.h"
#include "ns_blas.h"
#include "ns_config.h"
#include <locale.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
  "Usage:\n"
  "  neural-style stylize IN OUT (--style NAME | --style-image FILE) [OPTIONS]\n"
  "  neural-style info FILE.nsw\n"
  "  neural-style train --photos DIR --style FILE -o OUT.nsw [OPTIONS]\n"
  "  neural-style --help | --version\n"
  "\n"
  "Repaints a photo in the style of an artwork, without any pretrained network.\n"
  "\n"
  "Commands:\n"
  "  stylize   stylize IN into OUT (PNG or JPEG, chosen by OUT's extension)\n"
  "  info      describe a weights file: its presets, architecture and training\n"
  "  train     train a generator of preset styles (or --add-style to one)\n"
  "\n"
  "Run 'neural-style COMMAND --help' for a command's options.\n"
  "Exit status: 0 success, 1 runtime error or cancelled, 2 usage error.\n";

NsCliExit
ns_cli_fail (NsCliExit code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  /* One line whatever the message holds, so scripts can rely on it. */
  g_strdelimit (message, "\n\r", ' ');
  fprintf (stderr, "neural-style: %s\n", message);
  return code;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) blas_error = NULL;
  if (!ns_blas_init (argv, &blas_error))
    fprintf (stderr, "neural-style: warning: %s\n", blas_error->message);
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      fputs (usage_text, stderr);
      return NS_CLI_USAGE_ERROR;
    }
  const char *command = argv[1];
  if (strcmp (command, "--help") == 0 || strcmp (command, "-h") == 0 ||
      strcmp (command, "help") == 0)
    {
      fputs (usage_text, stdout);
      return NS_CLI_OK;
    }
  if (strcmp (command, "--version") == 0)
    {
      g_autofree gchar *choice = ns_blas_describe_choice ();
      printf ("neural-style %s\nBLAS: %s\nBLAS kernel: %s (%s)\n", NS_VERSION,
              ns_blas_config (), ns_blas_kernel (), choice);
      return NS_CLI_OK;
    }
  if (strcmp (command, "stylize") == 0)
    return ns_cli_stylize (argc - 1, argv + 1);
  if (strcmp (command, "info") == 0)
    return ns_cli_info (argc - 1, argv + 1);
  if (strcmp (command, "train") == 0)
    return ns_cli_train (argc - 1, argv + 1);

  if (command[0] == '-')
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "unknown option %s (see neural-style --help)", command);
  return ns_cli_fail (NS_CLI_USAGE_ERROR,
                      "unknown command '%s' (see neural-style --help)", command);
}

/* neural-style info FILE.nsw: what a weights file holds. */
#include "cli.h"
#include "ns_arch.h"
#include <stdio.h>

NsCliExit
ns_cli_info (int argc, char **argv)
{
  g_set_prgname ("neural-style info");
  g_autoptr (GOptionContext) context = g_option_context_new ("FILE.nsw - describe a weights file");
  g_option_context_set_description (context,
    "Prints the architecture, hyper-parameters, styles, tensors, parameter\n"
    "count and checksum of a .nsw file after checking all of it.");

  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ns_cli_fail (NS_CLI_USAGE_ERROR, "%s", error->message);
  if (argc != 2)
    return ns_cli_fail (NS_CLI_USAGE_ERROR,
                        "info takes exactly one FILE.nsw (see neural-style info --help)");

  g_autoptr (NsWeights) weights = ns_weights_load (argv[1], &error);
  if (!weights)
    return ns_cli_fail (NS_CLI_RUNTIME_ERROR, "%s", error->message);
  g_autofree char *text = ns_weights_describe (weights);
  fputs (text, stdout);
  if (*text && !g_str_has_suffix (text, "\n"))
    fputc ('\n', stdout);
  return NS_CLI_OK;
}

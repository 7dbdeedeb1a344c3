/* Shared pieces of the neural-style command's subcommands. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Exit codes: usage errors (bad options, values out of range) are 2,
 * failures while running (missing or unreadable files, cancel) are 1. */
typedef enum
{
  NS_CLI_OK = 0,
  NS_CLI_RUNTIME_ERROR = 1,
  NS_CLI_USAGE_ERROR = 2
} NsCliExit;

/* Prints "neural-style: MESSAGE" as one line on stderr and returns code,
 * so a subcommand can end with `return ns_cli_fail (...)`. */
NsCliExit ns_cli_fail (NsCliExit code, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Each subcommand takes its own argv, argv[0] being the subcommand name. */
NsCliExit ns_cli_stylize (int argc, char **argv);
NsCliExit ns_cli_info (int argc, char **argv);
NsCliExit ns_cli_train (int argc, char **argv);   /* cmd-train.c */

G_END_DECLS

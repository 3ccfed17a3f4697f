/* The `tenebra` command line: git-style subcommands dispatched from one table (cli.c). */
#ifndef TN_CLI_CLI_H
#define TN_CLI_CLI_H

/* Runs the subcommand named by argv[1]; returns the process exit status (0 on success, non-zero
 * with a one-line reason on stderr on any failure). */
int cli_main(int argc, char **argv);

#endif

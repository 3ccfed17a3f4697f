/* The `tenebra` command line: git-style subcommands dispatched from one table (cli.c). */
#ifndef TN_CLI_CLI_H
#define TN_CLI_CLI_H

#include <stddef.h>

struct contract_code;
/* Runs the subcommand named by argv[1]; returns the process exit status (0 on success, non-zero
 * with a one-line reason on stderr on any failure). Workers (`worker`, `dev`) run the contract
 * codes codes[0..n) (borrowed for the process's life): tenebra passes the built-in contracts
 * (contracts/builtin.h), the test binary tenebra-test (tests/, not shipped) adds the test
 * contracts. */
int cli_main_codes(int argc, char **argv, const struct contract_code *const *codes, size_t n);

#endif

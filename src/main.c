#include <sodium.h>
#include <stdio.h>

#include "cli/cli.h"
#include "contracts/builtin.h"

int main(int argc, char **argv)
{
	/* Selects libsodium's implementations and seeds its RNG; nothing may use it before. */
	if (sodium_init() < 0) {
		fputs("tenebra: cannot initialise libsodium\n", stderr);
		return 1;
	}
	return cli_main_codes(argc, argv, contracts_builtin, CONTRACTS_BUILTIN_N);
}

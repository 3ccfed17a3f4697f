/* tenebra-test: the tenebra binary with the test contracts (tests/contracts) compiled in besides
 * the built-in ones, for the integration tests (tests/integration/test_worker.py). Built, never
 * installed or shipped: its workers run code that exists only to be tested. */
#include <sodium.h>
#include <stdio.h>

#include "cli/cli.h"
#include "contracts/assets/assets.h"
#include "contracts/balances/balances.h"
#include "counter.h"

static const struct contract_code *const test_codes[] = {&counter_code, &balances_code,
                                                         &assets_code};

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fputs("tenebra-test: cannot initialise libsodium\n", stderr);
		return 1;
	}
	return cli_main_codes(argc, argv, test_codes, sizeof(test_codes) / sizeof(test_codes[0]));
}

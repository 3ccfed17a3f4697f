/*
 * ss58_decode on arbitrary strings: never crashes, and whatever it accepts re-encodes to the very
 * same string (one spelling per address). Inputs of 34+ bytes also drive ss58_encode with the
 * first two bytes as a network id and the next 32 as a key, and the result must decode back.
 */
#include "base/ss58.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decode(const uint8_t *data, size_t size)
{
	char s[128];
	uint8_t pk[SS58_PK_LEN];
	uint16_t prefix;
	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ss58_decode(pk, &prefix, s) != SS58_OK)
		return;
	char again[SS58_ADDR_MAX];
	ss58_encode(again, sizeof(again), prefix, pk);
	if (strcmp(again, s) != 0)
		abort();
}

static void check_encode(const uint8_t *data, size_t size)
{
	if (size < 2 + SS58_PK_LEN)
		return;
	uint16_t prefix = (uint16_t)((data[0] | data[1] << 8) & 0x3fff), back;
	if (!ss58_prefix_valid(prefix))
		return;
	char addr[SS58_ADDR_MAX];
	uint8_t pk[SS58_PK_LEN];
	ss58_encode(addr, sizeof(addr), prefix, data + 2);
	if (ss58_decode(pk, &back, addr) != SS58_OK || back != prefix ||
	    memcmp(pk, data + 2, SS58_PK_LEN) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}

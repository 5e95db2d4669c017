// SPDX-License-Identifier: GPL-2.0
/* cli_iface.c - the arguments of `sluice decap|tc attach|detach IFACE`. */
#include <net/if.h>
#include <string.h>

#include "cli.h"

int cli_attach_detach(const struct cli *c, const char *cmd, bool *detach)
{
	int ifindex;

	if (c->argc != 2 || (strcmp(c->argv[0], "attach") && strcmp(c->argv[0], "detach"))) {
		cli_err("%s: usage: sluice %s attach|detach IFACE", cmd, cmd);
		return 0;
	}
	ifindex = (int)if_nametoindex(c->argv[1]);
	if (!ifindex)
		cli_err("%s: no interface named %s in this network namespace", cmd, c->argv[1]);
	*detach = !strcmp(c->argv[0], "detach");
	return ifindex;
}

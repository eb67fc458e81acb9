/* SPDX-License-Identifier: MIT */
/* The table of built-in port providers, looked up by type name. */
#include <string.h>

#include <vsw/port.h>

#include "vsw_compiler.h"

static const struct vsw_port_ops *const port_registry[] = {
	&vsw_port_dummy_ops,
	&vsw_port_tap_ops,
	&vsw_port_internal_ops,
	&vsw_port_afpacket_ops,
	&vsw_port_afxdp_ops,
	&vsw_port_vhostuser_ops,
	&vsw_port_vhostuserclient_ops,
	&vsw_port_vxlan_ops,
	&vsw_port_geneve_ops,
};

const struct vsw_port_ops *vsw_port_ops_find(const char *type)
{
	unsigned i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < VSW_ARRAY_SIZE(port_registry); i++)
		if (strcmp(port_registry[i]->type, type) == 0)
			return port_registry[i];
	return NULL;
}

const struct vsw_port_ops *vsw_port_ops_at(unsigned i)
{
	return i < VSW_ARRAY_SIZE(port_registry) ? port_registry[i] : NULL;
}

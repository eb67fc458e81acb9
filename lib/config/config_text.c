/* SPDX-License-Identifier: MIT */
/*
 * The store's value rules, without the store: valid names, option keys
 * and values, VLAN sets and their text form, a port's option by key. The
 * control methods check requests with them before anything is written,
 * and config.c checks every value it reads back with them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsw_config.h"

bool vsw_cfg_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > VSW_CFG_NAME_MAX || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	/* "." and ".." cannot be interface names. */
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

bool vsw_cfg_key_valid(const char *key)
{
	size_t i, n = strlen(key);

	if (n == 0 || n > VSW_CFG_KEY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool vsw_cfg_value_valid(const char *value)
{
	size_t i, n = strlen(value);

	if (n > VSW_CFG_VALUE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool vsw_cfg_vlan_test(const struct vsw_cfg_vlans *v, unsigned int id)
{
	if (id > VSW_CFG_VLAN_MAX)
		return false;
	return (v->bits[id / 64] >> (id % 64)) & 1;
}

void vsw_cfg_vlan_set(struct vsw_cfg_vlans *v, unsigned int id)
{
	if (id <= VSW_CFG_VLAN_MAX)
		v->bits[id / 64] |= 1ULL << (id % 64);
}

unsigned int vsw_cfg_vlans_count(const struct vsw_cfg_vlans *v)
{
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(v->bits) / sizeof(v->bits[0]); i++)
		n += (unsigned int)__builtin_popcountll(v->bits[i]);
	return n;
}

/* A VLAN id at *@s: decimal digits only, 0..4095. */
static int cfg_vlan_id(const char **s, unsigned int *id)
{
	const char *p = *s;
	unsigned int v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned int)(*p - '0');
		if (v > VSW_CFG_VLAN_MAX)
			return -ERANGE;
		p++;
	}
	*s = p;
	*id = v;
	return 0;
}

int vsw_cfg_vlans_parse(const char *s, struct vsw_cfg_vlans *v, char *err,
			size_t errlen)
{
	const char *p = s;

	memset(v, 0, sizeof(*v));
	if (*p == '\0')
		return 0;
	for (;;) {
		const char *start = p;
		unsigned int lo, hi, i;
		int rc;

		rc = cfg_vlan_id(&p, &lo);
		hi = lo;
		if (rc == 0 && *p == '-') {
			p++;
			rc = cfg_vlan_id(&p, &hi);
			if (rc == 0 && hi < lo)
				rc = -EINVAL;
		}
		if (rc < 0 || (*p != ',' && *p != '\0')) {
			snprintf(err, errlen,
				 "bad VLAN list '%s' at '%s': expected VLAN "
				 "ids 0..4095 or ranges LO-HI, separated by "
				 "commas",
				 s, start);
			return -EINVAL;
		}
		for (i = lo; i <= hi; i++)
			vsw_cfg_vlan_set(v, i);
		if (*p == '\0')
			return 0;
		p++;
	}
}

int vsw_cfg_vlans_format(const struct vsw_cfg_vlans *v, char *buf,
			 size_t len)
{
	size_t off = 0;
	unsigned int id = 0;

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	while (id <= VSW_CFG_VLAN_MAX) {
		unsigned int end;
		int n;

		if (!vsw_cfg_vlan_test(v, id)) {
			id++;
			continue;
		}
		end = id;
		while (end < VSW_CFG_VLAN_MAX && vsw_cfg_vlan_test(v, end + 1))
			end++;
		if (end == id)
			n = snprintf(buf + off, len - off, "%s%u",
				     off ? "," : "", id);
		else
			n = snprintf(buf + off, len - off, "%s%u-%u",
				     off ? "," : "", id, end);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
		id = end + 1;
	}
	return 0;
}

const char *vsw_cfg_port_opt(const struct vsw_cfg_port *p, const char *key)
{
	unsigned int i;

	for (i = 0; i < p->n_opts; i++)
		if (strcmp(p->opts[i].key, key) == 0)
			return p->opts[i].value;
	return NULL;
}

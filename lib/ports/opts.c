/* SPDX-License-Identifier: MIT */
/*
 * Option parsing, error messages and interface lookups shared by the port
 * providers (vsw_port_opt_*, vsw_port_errf, vsw_port_ifhwaddr):
 * independent of the switch, so provider tests can link them without it.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vsw/port.h>

const char *vsw_port_opt_get(const struct vsw_port_opt *opts, unsigned n_opts,
			     const char *key)
{
	const char *v = NULL;
	unsigned i;

	for (i = 0; i < n_opts; i++)
		if (opts[i].key != NULL && strcmp(opts[i].key, key) == 0)
			v = opts[i].value;
	return v;
}

int vsw_port_opts_check(const struct vsw_port *port,
			const struct vsw_port_opt *opts, unsigned n_opts,
			const char *const *known, char *err, size_t err_len)
{
	unsigned i, k;

	for (i = 0; i < n_opts; i++) {
		bool found = false;

		for (k = 0; known != NULL && known[k] != NULL; k++)
			if (opts[i].key != NULL &&
			    strcmp(opts[i].key, known[k]) == 0)
				found = true;
		if (!found || opts[i].value == NULL) {
			vsw_port_errf(err, err_len,
				      "%s option '%s' for type %s",
				      found ? "no value for" : "unknown",
				      opts[i].key ? opts[i].key : "(null)",
				      vsw_port_type(port));
			return -EINVAL;
		}
	}
	return 0;
}

void vsw_port_errf(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int vsw_port_ifhwaddr(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int s, ret = 0;

	memset(mac, 0, 6);
	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return ret;
}

int vsw_port_opt_uint(const struct vsw_port_opt *opts, unsigned n_opts,
		      const char *key, unsigned def, unsigned min, unsigned max,
		      unsigned *out, char *err, size_t err_len)
{
	const char *v = vsw_port_opt_get(opts, n_opts, key);
	unsigned long x;
	char *end;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	x = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x < min ||
	    x > max) {
		vsw_port_errf(err, err_len,
			      "option %s=%s: expected an integer in %u..%u",
			      key, v, min, max);
		return -EINVAL;
	}
	*out = (unsigned)x;
	return 0;
}

bool vsw_port_opt_changed(const struct vsw_port_opt *old, unsigned n_old,
			  const struct vsw_port_opt *opts, unsigned n_opts,
			  const char *key)
{
	const char *a = vsw_port_opt_get(old, n_old, key);
	const char *b = vsw_port_opt_get(opts, n_opts, key);

	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

int vsw_port_opts_fixed(const struct vsw_port *port,
			const struct vsw_port_opt *old, unsigned n_old,
			const struct vsw_port_opt *opts, unsigned n_opts,
			const char *const *fixed, const char *why, char *err,
			size_t err_len)
{
	unsigned k;

	for (k = 0; fixed[k] != NULL; k++) {
		if (!vsw_port_opt_changed(old, n_old, opts, n_opts, fixed[k]))
			continue;
		vsw_port_errf(err, err_len,
			      "option %s of type %s cannot change on a running "
			      "port%s%s%s: del-port and add-port it",
			      fixed[k], vsw_port_type(port), why ? " (" : "",
			      why ? why : "", why ? ")" : "");
		return -EOPNOTSUPP;
	}
	return 0;
}

int vsw_port_opts_all_fixed(const struct vsw_port *port,
			    const struct vsw_port_opt *old, unsigned n_old,
			    const struct vsw_port_opt *opts, unsigned n_opts,
			    const char *const *known, const char *why,
			    char *err, size_t err_len)
{
	int ret;

	ret = vsw_port_opts_check(port, opts, n_opts, known, err, err_len);
	if (ret < 0)
		return ret;
	return vsw_port_opts_fixed(port, old, n_old, opts, n_opts, known, why,
				   err, err_len);
}

/* SPDX-License-Identifier: MIT */
/*
 * gone: what the providers on a host interface (tap, internal, afpacket,
 * afxdp) share for a device that goes away under the port and may come
 * back (`ip link del`, its veth peer's namespace deleted, moved to another
 * namespace).
 *
 * A device moved into another namespace is out of sight too (RTM_DELLINK
 * here); a provider that still holds it then (a TAP: its fd keeps working,
 * ops->held) keeps it, and it is found gone from the data path only.
 *
 * Noticing. Two ways, neither a system call per packet:
 *  - rtnetlink: a NETLINK_ROUTE socket in RTNLGRP_LINK, watched by the
 *    control thread, reports RTM_DELLINK of the interface at once, and
 *    RTM_NEWLINK of an interface of that name while the device is gone
 *    (the next re-attach is moved forward, by at most one every
 *    GONE_MIN_RETRY_MS); an overrun socket (ENOBUFS) is answered by one
 *    if_nametoindex() look-up. Without the socket (refused by a sandbox)
 *    the control thread does that look-up every GONE_RETRY_MS.
 *  - the data path: a send or receive that fails because the device is
 *    gone (EBADFD on a tap fd, ENXIO / ENODEV on a socket) calls
 *    vsw_gone_set() once; the first caller takes the link down and kicks
 *    an eventfd the control thread watches.
 *
 * The link also follows the interface's administrative state (IFF_UP, read
 * with SIOCGIFFLAGS when the device is attached and on every RTM_NEWLINK
 * about it): a port whose interface is down drops its
 * frames as tx_down without a send, instead of a send failing with
 * ENETDOWN burst after burst.
 *
 * Then the control thread: logs it once, takes the port's queues away
 * with vsw_port_changed() (on return no data thread polls, sleeps on,
 * receives from or sends to the dead device: a data thread with nothing
 * left to poll sleeps), lets the provider release the device (detach) and
 * every GONE_RETRY_MS asks it to get it back (attach: the same set-up as
 * open). When that works the port gets its queue back and the link goes
 * up; a failure is logged once per new reason, not once per try.
 *
 * Threads: gone is written by data threads (one CAS) and the control
 * thread; everything else is the control thread's.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "tap_priv.h"
#include "vsw_atomic.h"
#include "vsw_compiler.h"
#include "vsw_time.h"

/* A NETLINK_ROUTE socket subscribed to link events, or -errno. */
static int gone_nl_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_LINK};
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Whether ifname is administratively up (SIOCGIFFLAGS, through any socket:
 * the ioctl falls through to the device layer): 1 or 0; -1 if there is no
 * such interface here (being deleted or moved away: RTM_DELLINK follows);
 * 1 when it cannot be told.
 */
static int gone_if_up(const char *ifname)
{
	struct ifreq ifr;
	int s, up = 1;

	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
		up = (ifr.ifr_flags & IFF_UP) != 0;
	else if (errno == ENODEV)
		up = -1;
	close(s);
	return up;
}

int vsw_gone_init(struct vsw_gone *g, struct vsw_port *port, const char *what,
		  const char *ifname, int ifindex,
		  const struct vsw_gone_ops *ops, char *err, size_t err_len)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ret;

	memset(g, 0, sizeof(*g));
	g->port = port;
	g->ops = ops;
	g->what = what;
	g->ifindex = ifindex;
	g->ev = g->nl = -1;
	snprintf(g->ifname, sizeof(g->ifname), "%s", ifname);
	g->has_mac = vsw_port_ifhwaddr(g->ifname, g->mac) == 0;
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g->epfd < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "%s: epoll: %s", what,
			      strerror(-ret));
		return ret;
	}
	g->ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->ev < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "%s: eventfd: %s", what,
			      strerror(-ret));
		goto err_epoll;
	}
	ev.data.fd = g->ev;
	if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->ev, &ev) < 0) {
		ret = -errno;
		vsw_port_errf(err, err_len, "%s: epoll_ctl: %s", what,
			      strerror(-ret));
		goto err_ev;
	}
	ret = gone_nl_open();
	if (ret >= 0) {
		g->nl = ret;
		ev.data.fd = g->nl;
		if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->nl, &ev) < 0) {
			close(g->nl);
			g->nl = -1;
		}
	}
	if (g->nl < 0) {
		/* not fatal: the control thread looks every GONE_RETRY_MS */
		g->check_ms = vsw_now_ms() + VSW_GONE_RETRY_MS;
		vsw_port_log(port, VSW_LOG_WARN,
			     "no rtnetlink link events (%s): checking %s "
			     "every %d ms instead",
			     strerror(ret < 0 ? -ret : EINVAL), g->ifname,
			     VSW_GONE_RETRY_MS);
	}
	g->admin_up = gone_if_up(g->ifname) > 0;
	vsw_port_set_link(port, g->admin_up);
	if (!g->admin_up)
		vsw_port_log(port, VSW_LOG_INFO,
			     "%s %s is down (administratively); link down",
			     what, g->ifname);
	return 0;

err_ev:
	close(g->ev);
err_epoll:
	close(g->epfd);
	return ret;
}

void vsw_gone_fini(struct vsw_gone *g)
{
	if (g->nl >= 0)
		close(g->nl);
	if (g->ev >= 0)
		close(g->ev);
	if (g->epfd >= 0)
		close(g->epfd);
	g->nl = g->ev = g->epfd = -1;
}

VSW_COLD void vsw_gone_set(struct vsw_gone *g, int err)
{
	const uint64_t one = 1;
	int expected = 0;

	/*
	 * Relaxed: the errno is the only thing handed over; the control
	 * thread releases the device only after the grace period of
	 * vsw_port_changed(), which orders every data op before it.
	 */
	if (!__atomic_compare_exchange_n(&g->gone, &expected,
					 err != 0 ? err : ENODEV, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	vsw_port_set_link(g->port, false);
	/* one system call, once: an eventfd write cannot block or fail */
	if (write(g->ev, &one, sizeof(one)) < 0)
		vsw_port_log_rl(g->port, VSW_LOG_ERR, "eventfd write: %s",
				strerror(errno));
}

int vsw_gone_hwaddr(struct vsw_port *port, uint8_t mac[6])
{
	struct vsw_gone *g = vsw_port_priv(port);
	uint8_t now[6];

	if (g->detached || g->ifindex == 0)
		return -ENODEV;
	if (!g->away && (int)if_nametoindex(g->ifname) == g->ifindex &&
	    vsw_port_ifhwaddr(g->ifname, now) == 0) {
		memcpy(g->mac, now, 6);
		g->has_mac = true;
	}
	if (!g->has_mac)
		return -ENODEV;
	memcpy(mac, g->mac, 6);
	return 0;
}

int vsw_gone_ctl_fd(struct vsw_port *port)
{
	const struct vsw_gone *g = vsw_port_priv(port);

	return g->epfd;
}

int vsw_gone_ctl_timeout_ms(struct vsw_port *port)
{
	const struct vsw_gone *g = vsw_port_priv(port);
	uint64_t now, due;

	/* Relaxed: see vsw_gone_set(). */
	if (vsw_load_relaxed(&g->gone) != 0)
		due = g->retry_ms; /* 0 until the first step after it died */
	else if (g->nl < 0)
		due = g->check_ms;
	else
		return -1; /* healthy: netlink or the data path tell us */
	now = vsw_now_ms();
	if (due <= now)
		return 0;
	return due - now > VSW_GONE_RETRY_MS ? VSW_GONE_RETRY_MS
					     : (int)(due - now);
}

/*
 * The device is out of this namespace's sight: gone, unless the port still
 * holds it (a TAP moved into another namespace).
 */
static void gone_lost(struct vsw_gone *g)
{
	if (g->ops->held != NULL && g->ops->held(g->port)) {
		/* its state there is not ours to see: a write it refuses
		 * while down there counts tx_down */
		g->away = true;
		g->admin_up = true;
		vsw_port_set_link(g->port, true);
		vsw_port_log(g->port, VSW_LOG_INFO,
			     "%s %s left this network namespace; still "
			     "attached, watched from the data path only",
			     g->what, g->ifname);
		return;
	}
	vsw_gone_set(g, ENODEV);
}

/* Bring the next re-attach forward (rate-limited). */
static void gone_retry_soon(struct vsw_gone *g)
{
	uint64_t soon = g->tried_ms + VSW_GONE_MIN_RETRY_MS;

	if (g->detached && soon < g->retry_ms)
		g->retry_ms = soon;
}

/*
 * A link message about the attached device: it may have gone up or down.
 * The state is read now rather than taken from the message, which may be
 * an old one (those of the device's own creation arrive after attach).
 */
static void gone_link_msg(struct vsw_gone *g)
{
	int up;

	if (g->ops->event != NULL)
		g->ops->event(g->port);
	up = gone_if_up(g->ifname);
	if (up < 0 || vsw_gone_is(g))
		return; /* not here (RTM_DELLINK follows), or down for good */
	vsw_port_set_link(g->port, up);
	if (up == g->admin_up)
		return;
	g->admin_up = up != 0;
	vsw_port_log(g->port, VSW_LOG_INFO, "%s %s is %s; link %s", g->what,
		     g->ifname, up ? "up" : "down (administratively)",
		     up ? "up" : "down");
}

/* One link message: is it about our device, or a new one of its name? */
static void gone_nl_msg(struct vsw_gone *g, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	if (nh->nlmsg_type == RTM_DELLINK) {
		if (!g->detached && !g->away && ifi->ifi_index == g->ifindex)
			gone_lost(g);
		return;
	}
	if (nh->nlmsg_type != RTM_NEWLINK)
		return;
	if (!g->detached) {
		if (!g->away && ifi->ifi_index == g->ifindex)
			gone_link_msg(g);
		return;
	}
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type != IFLA_IFNAME)
			continue;
		if (strncmp(RTA_DATA(rta), g->ifname, RTA_PAYLOAD(rta)) == 0)
			gone_retry_soon(g);
		return;
	}
}

/*
 * Without events to go by: is the device still the one attached, and is
 * it up?
 */
static void gone_check(struct vsw_gone *g)
{
	if (g->detached)
		gone_retry_soon(g);
	else if (g->away)
		return;
	else if ((int)if_nametoindex(g->ifname) != g->ifindex)
		gone_lost(g);
	else
		gone_link_msg(g);
}

/* Read every queued link message. */
static void gone_nl_drain(struct vsw_gone *g)
{
	/* NLMSG_GOODSIZE-like; aligned for struct nlmsghdr */
	uint64_t buf[8192 / sizeof(uint64_t)];
	const struct nlmsghdr *nh;
	ssize_t r;
	unsigned n;

	for (n = 0; n < 64; n++) {
		r = recv(g->nl, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == ENOBUFS) {
				/* events were lost: look for ourselves */
				gone_check(g);
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				vsw_port_log_rl(g->port, VSW_LOG_WARN,
						"rtnetlink recv: %s",
						strerror(errno));
			return;
		}
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, r);
		     nh = NLMSG_NEXT(nh, r))
			gone_nl_msg(g, nh);
	}
}

/* The device is gone: no queues, release it, retry later. */
static void gone_detach(struct vsw_gone *g, int why)
{
	g->queues_off = true;
	/*
	 * On return no data thread polls, sleeps on or sends to this port
	 * any more (zero queues); recv / send return 0 until then (gone).
	 */
	if (vsw_port_changed(g->port) < 0) {
		/* a data thread may still own the rxq: keep the device */
		g->retry_ms = vsw_now_ms() + VSW_GONE_RETRY_MS;
		vsw_port_log(g->port, VSW_LOG_ERR,
			     "%s %s is gone but its queue could not be "
			     "removed; retrying",
			     g->what, g->ifname);
		return;
	}
	g->ops->detach(g->port);
	g->detached = true;
	g->ifindex = 0;
	g->retry_err = 0;
	g->why[0] = '\0';
	g->tried_ms = vsw_now_ms();
	g->retry_ms = g->tried_ms + VSW_GONE_RETRY_MS;
	vsw_port_log(g->port, VSW_LOG_WARN,
		     "%s %s is gone (%s); link down, not polled, trying to "
		     "get it back every %d ms",
		     g->what, g->ifname, strerror(why), VSW_GONE_RETRY_MS);
}

/* Try to get the device back; its queue and the link if that worked. */
static void gone_attach(struct vsw_gone *g)
{
	char why[sizeof(g->why)];
	int ret;

	g->tried_ms = vsw_now_ms();
	g->retry_ms = g->tried_ms + VSW_GONE_RETRY_MS;
	why[0] = '\0';
	ret = g->ops->attach(g->port, why, sizeof(why));
	if (ret < 0) {
		/* one line per new reason, not one every try */
		if (-ret != g->retry_err || strcmp(why, g->why) != 0)
			vsw_port_log(g->port, VSW_LOG_INFO,
				     "cannot get %s %s back yet: %s", g->what,
				     g->ifname, why);
		g->retry_err = -ret;
		snprintf(g->why, sizeof(g->why), "%s", why);
		return;
	}
	g->ifindex = ret;
	g->has_mac = vsw_port_ifhwaddr(g->ifname, g->mac) == 0;
	g->detached = false;
	g->away = false;
	g->queues_off = false;
	g->retry_err = 0;
	g->why[0] = '\0';
	g->retry_ms = 0; /* the next death is handled at once */
	/*
	 * Relaxed: no data op of this port runs now (zero queues); the
	 * grace period of vsw_port_changed() orders this, and the device
	 * the provider set up, before the first recv / send on the queue
	 * it gives back.
	 */
	vsw_store_relaxed(&g->gone, 0);
	g->admin_up = gone_if_up(g->ifname) > 0;
	vsw_port_set_link(g->port, g->admin_up);
	if (vsw_port_changed(g->port) < 0)
		/* n_rxq is re-read by the next remapping of any port */
		vsw_port_log(g->port, VSW_LOG_WARN,
			     "%s %s is back, its queue not yet mapped", g->what,
			     g->ifname);
	else
		vsw_port_log(g->port, VSW_LOG_INFO, "%s %s is back, link %s",
			     g->what, g->ifname,
			     g->admin_up ? "up" : "down (administratively)");
}

void vsw_gone_ctl_handle(struct vsw_port *port)
{
	struct vsw_gone *g = vsw_port_priv(port);
	uint64_t v, now;
	int why;

	if (read(g->ev, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vsw_port_log(g->port, VSW_LOG_ERR, "eventfd read: %s",
			     strerror(errno));
	if (g->nl >= 0) {
		gone_nl_drain(g);
	} else if (vsw_now_ms() >= g->check_ms) {
		g->check_ms = vsw_now_ms() + VSW_GONE_RETRY_MS;
		gone_check(g);
	}
	/* Relaxed: see vsw_gone_set(). */
	why = vsw_load_relaxed(&g->gone);
	now = vsw_now_ms();
	if (why == 0 || now < g->retry_ms)
		return; /* nothing due */
	if (!g->detached)
		gone_detach(g, why);
	else
		gone_attach(g);
}

bool vsw_gone_status(const struct vsw_gone *g, char *buf, size_t len)
{
	if (!g->detached)
		return false;
	if (g->retry_err == 0)
		snprintf(buf, len, "interface gone, retrying every %d ms",
			 VSW_GONE_RETRY_MS);
	else
		snprintf(buf, len, "interface gone, retrying every %d ms: %s",
			 VSW_GONE_RETRY_MS, g->why);
	return true;
}

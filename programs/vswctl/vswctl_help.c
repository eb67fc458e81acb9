/* SPDX-License-Identifier: MIT */
/*
 * What `vswctl help VERB` and `vswctl VERB --help` say of each verb (the
 * usage line comes from the command table in vswctl.c). Keep in step with
 * docs/man/vswctl.8.scd; tests/func/test_capture.py checks that every
 * verb `vswctl help` lists has a text here.
 */
#include <stddef.h>
#include <string.h>

#include "vswctl.h"

static const struct {
	const char *verb;
	const char *text;
} ctl_help_texts[] = {
	{"add-br", "Add a bridge (its flow table: priority=0,actions=normal)."},
	{"del-br", "Delete a bridge and all its ports."},
	{"add-port",
	 "Add a port; the KEY=VALUE options go to the port type (see\n"
	 "vswctl --help for the types). A port that cannot be opened is not\n"
	 "added."},
	{"del-port", "Delete a port (it must be on BRIDGE)."},
	{"set-port",
	 "Change a port, live and stored, all or nothing. VLANs: tag=N an\n"
	 "access port of VLAN N (1..4094); trunks=LIST a trunk of the VLANs in\n"
	 "LIST (10,20,30-40); both: a trunk with native VLAN N, which must be\n"
	 "in LIST; tag= and trunks= clear them. Options of the port's type\n"
	 "(mtu= of tap and internal; rxq=, txq=, link= of dummy); an option\n"
	 "that cannot change on a running port is refused, naming it.\n"
	 "Rate limits, any type: ingress_policing_rate=KBPS (kbit/s, 1000\n"
	 "bits; 0 off) and ingress_policing_burst=KB (kbit; 0: 8000) drop\n"
	 "what the port receives over the rate; max-rate=BPS (bits/s; 0 off)\n"
	 "and max-burst=BITS drop what it would send over it. KEY= removes\n"
	 "an option."},
	{"show", "Bridges, ports, options, VLANs and link state."},
	{"list-br", "The bridges' names, one a line."},
	{"list-ports", "The ports' names (of BRIDGE, or of all), one a line."},
	{"dump-ports", "Per-port rx / tx packets, bytes and drops by reason, "
		       "and a port type's own counters (vhostuser: IOTLB)."},
	{"fdb-show", "The MAC learning table."},
	{"fdb-flush", "Forget every MAC entry of the bridge."},
	{"set-option",
	 "Stored options: threads=N data threads (1..64); ageing=SEC MAC\n"
	 "ageing (1..1000000); poll=on|off data threads never sleep (on) or\n"
	 "sleep when idle (off); spin=US the longest adaptive spin of an idle\n"
	 "data thread before it sleeps (0..1000000)."},
	{"get-option", "The current options."},
	{"add-flow",
	 "Add a rule to the bridge's flow table (ovs-ofctl syntax, e.g.\n"
	 "priority=10,in_port=1,actions=output:2); a rule with the same match\n"
	 "and priority is replaced. table=N (0..254, default 0) picks the\n"
	 "table; goto_table:N (last, N above the rule's table) continues the\n"
	 "packet there; a table with no matching rule drops it."},
	{"add-flows",
	 "Add the rules of FILE (-: standard input), one a line, # comments\n"
	 "and blank lines skipped; a line that does not parse changes nothing."},
	{"del-flows",
	 "Delete the rules at least as specific as MATCH (all without one);\n"
	 "--strict: the rule with exactly this match and priority. Every\n"
	 "table unless MATCH has table=N."},
	{"mod-flows",
	 "Replace the actions of the rules del-flows would select (counters\n"
	 "kept); none selected: add FLOW."},
	{"dump-flows",
	 "The rules (matching MATCH), by table, highest priority first, in\n"
	 "ovs-ofctl dump-flows format."},
	{"dpif-stats",
	 "Per bridge: rules, classifier subtables, exact-match cache use and\n"
	 "hit rate, whether the fast path is on."},
	{"pmd-stats",
	 "Per data thread: packets, batches, fast-path packets, cache hits\n"
	 "and misses, idle and busy cycles, sleeps, cycles per packet, the\n"
	 "spin window."},
	{"pmd-stats-clear", "Restart the pmd-stats counters from zero."},
	{"version", "vswd's version."},
	{"capture",
	 "Capture the frames PORT receives (in), is sent (out) or both, as\n"
	 "pcapng (-w FILE, -w - for standard output; read by tshark, tcpdump)\n"
	 "or one line a frame, until N frames passed FILTER (a pcap-filter(7)\n"
	 "expression, e.g. 'tcp port 80'), the port is deleted or Ctrl-C.\n"
	 "--snaplen keeps that many bytes of each frame. Frames the capture\n"
	 "ring could not hold are counted (never taken from the traffic)."},
	{"set-log-level",
	 "Set vswd's log level at run time (not stored): LEVEL is error,\n"
	 "warning, info or debug; MODULE is vswd (the daemon), switch (the\n"
	 "data path and the ports), control (the control socket's\n"
	 "connections) or all (the default). Prints every module's level."},
	{"metrics",
	 "Per-port, per-queue and per-thread counters and the control\n"
	 "socket's, in the Prometheus text exposition format (version 0.0.4)."},
	{"set-controller",
	 "The bridge's OpenFlow 1.3 controllers (replacing any before):\n"
	 "ptcp:PORT[:IP] listens (loopback unless IP is given; PORT 0: a free\n"
	 "one, see get-controller), punix:PATH listens on a Unix socket in the\n"
	 "folders vhost-user sockets may use, tcp:IP:PORT and unix:PATH\n"
	 "connect, retrying with backoff. Stored; rules a controller adds are\n"
	 "the bridge's flow table, as add-flow's."},
	{"del-controller", "Remove every OpenFlow controller of the bridge."},
	{"get-controller",
	 "The bridge's OpenFlow targets, the address a listener is bound to,\n"
	 "and how many controllers are connected."},
	{"add-mirror",
	 "Add a port mirror to BRIDGE, as Open vSwitch's Mirror table: it\n"
	 "selects the frames received on the select-src-port ports, those\n"
	 "the bridge sends to the select-dst-port ports, or every frame\n"
	 "(select-all=true); select-vlan keeps those in the listed VLANs\n"
	 "(10,20,30-40). output-port=PORT gets a copy of each (tagged with its\n"
	 "VLAN unless PORT is an access port) and no other traffic: what it\n"
	 "receives is dropped. output-vlan=VLAN floods the copies to the ports\n"
	 "carrying that VLAN, tagged with it (RSPAN). Stored; a mirror whose\n"
	 "output port is deleted is kept, inactive."},
	{"del-mirror", "Delete the bridge's mirror NAME."},
	{"list-mirrors",
	 "The mirrors (of BRIDGE, or of all): what they select, their output,\n"
	 "whether active, and the frames and bytes mirrored and dropped."},
	{"set-fail-mode",
	 "What the bridge does without a connected OpenFlow controller.\n"
	 "standalone (the default): after 15 s without one it forwards as a\n"
	 "learning switch, until a controller connects again. secure: only by\n"
	 "the flow table, whose rules stay when the controller goes. Stored.\n"
	 "Changing it removes (secure) or restores (standalone, no\n"
	 "controllers, empty table) the default priority=0,actions=NORMAL."},
	{"get-fail-mode",
	 "The bridge's fail mode, or nothing when none was set (standalone)."},
	{"del-fail-mode", "Back to the default fail mode, standalone."},
	{"help", "The commands, or what one command does."},
};

const char *ctl_help_text(const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_help_texts) / sizeof(ctl_help_texts[0]); i++)
		if (strcmp(ctl_help_texts[i].verb, verb) == 0)
			return ctl_help_texts[i].text;
	return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * vsw_cfg: the durable configuration of vswd in one SQLite file.
 *
 * What is stored: bridges, ports (bridge, name, type, OpenFlow port
 * number, key=value options, VLAN tag and trunks), the bridges' flow rules
 * and global options. The schema version is PRAGMA user_version
 * (VSW_CFG_SCHEMA_VERSION) and the file is marked as vswd's by PRAGMA
 * application_id (VSW_CFG_APP_ID); see docs/control.md for the tables.
 *
 * Opening never discards what it finds: a file that is not SQLite, is
 * damaged, belongs to another application or has another schema version is
 * refused with a message that says so. Only a file that does not exist
 * yet, or an empty SQLite database (zero bytes, no tables), is given the
 * schema; a checked version 1 store is upgraded to version 2 in one
 * transaction (ports numbered 1, 2... per bridge in creation order, each
 * bridge with the default flow table), keeping its bridges and ports.
 *
 * The file is opened in WAL mode with synchronous=FULL, so that a commit is
 * durable when vsw_cfg_commit() returns and a process killed at any point
 * leaves either the old or the new state. It is locked exclusively for the
 * lifetime of the handle (a second vswd on the same file is refused).
 *
 * Every change goes through vsw_cfg_begin() ... vsw_cfg_commit() (or
 * vsw_cfg_rollback()); the change functions return -EINVAL when no
 * transaction is open. Functions return 0 or a negative errno; after an
 * error vsw_cfg_why() says what went wrong in words.
 *
 * One thread at a time per handle (vswd's control thread).
 */
#ifndef VSW_CONFIG_H
#define VSW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSW_CFG_SCHEMA_VERSION 2
#define VSW_CFG_APP_ID 0x76737764 /* "vswd" */

#define VSW_CFG_NAME_MAX 15   /* bridge and port names (IFNAMSIZ - 1) */
#define VSW_CFG_TYPE_MAX 31   /* port type */
#define VSW_CFG_KEY_MAX 31    /* option key */
#define VSW_CFG_VALUE_MAX 255 /* option value */
#define VSW_CFG_MAX_OPTS 16   /* options per port */
#define VSW_CFG_VLAN_MAX 4095 /* VLAN ids are 0..4095 */
#define VSW_CFG_OFPORT_MAX 65279 /* OpenFlow port numbers are 1..65279 */
/* The flow table of a new bridge, as stored. */
#define VSW_CFG_FLOW_DEFAULT "priority=0 actions=NORMAL"

struct vsw_cfg;

struct vsw_cfg_opt {
	char key[VSW_CFG_KEY_MAX + 1];
	char value[VSW_CFG_VALUE_MAX + 1];
};

/* A set of VLAN ids, one bit each. */
struct vsw_cfg_vlans {
	uint64_t bits[(VSW_CFG_VLAN_MAX + 1) / 64];
};

struct vsw_cfg_port {
	char name[VSW_CFG_NAME_MAX + 1];
	char bridge[VSW_CFG_NAME_MAX + 1];
	char type[VSW_CFG_TYPE_MAX + 1];
	unsigned int ofport; /* 1..VSW_CFG_OFPORT_MAX; 0 at add: assign */
	int tag;	  /* access VLAN 0..4095, or -1: not an access port */
	bool has_trunks;  /* false: every VLAN (when tag == -1) */
	struct vsw_cfg_vlans trunks;
	unsigned int n_opts;
	struct vsw_cfg_opt opts[VSW_CFG_MAX_OPTS];
};

/* vsw_cfg_open() flags */
enum {
	/* an existing zero-length file is a new store, not damage */
	VSW_CFG_OPEN_EMPTY_OK = 1u << 0,
};

/*
 * Open (or create) the store at @path. On success *@out is the handle and
 * *@created (if not NULL) tells whether the schema was created now. A file
 * that does not exist is created; one that exists and is empty (zero
 * length: truncated, or made by hand) is refused unless @flags has
 * VSW_CFG_OPEN_EMPTY_OK. On error @err holds a sentence naming the file and
 * the problem:
 *   -ENOENT    the folder of @path does not exist
 *   -EBUSY     another process holds the file (another vswd)
 *   -EILSEQ    not an SQLite database, or damaged (failed integrity check),
 *              or zero-length
 *   -EPROTO    an SQLite database, but not vswd's, or another schema version
 *   -EIO, ...  any other failure of SQLite or the file system
 */
int vsw_cfg_open(const char *path, unsigned flags, struct vsw_cfg **out,
		 bool *created, char *err, size_t errlen);

/* Close; rolls back an open transaction. Accepts NULL. */
void vsw_cfg_close(struct vsw_cfg *cfg);

/* The sentence describing the last error on @cfg ("" if none). */
const char *vsw_cfg_why(const struct vsw_cfg *cfg);

int vsw_cfg_begin(struct vsw_cfg *cfg);
/* Make the transaction durable. On error it is rolled back. */
int vsw_cfg_commit(struct vsw_cfg *cfg);
/* Abandon the transaction (no-op without one). */
void vsw_cfg_rollback(struct vsw_cfg *cfg);

/* "initialized" marks a store that vswd has given its defaults. */
int vsw_cfg_is_initialized(struct vsw_cfg *cfg, bool *initialized);
int vsw_cfg_set_initialized(struct vsw_cfg *cfg);

/* -EEXIST if it exists, -EINVAL for a bad name. */
int vsw_cfg_bridge_add(struct vsw_cfg *cfg, const char *name);
/* Deletes the bridge and its ports. -ENOENT if it does not exist. */
int vsw_cfg_bridge_del(struct vsw_cfg *cfg, const char *name);
/* 1 if the bridge exists, 0 if not, negative errno on error. */
int vsw_cfg_bridge_exists(struct vsw_cfg *cfg, const char *name);
/* Calls @fn for every bridge, in creation order; a non-zero return stops. */
int vsw_cfg_bridge_foreach(struct vsw_cfg *cfg,
			   int (*fn)(void *opaque, const char *name),
			   void *opaque);

/*
 * Add @p (names, type, options, VLANs checked). Port names are unique across
 * bridges: -EEXIST if @p->name exists (or @p->ofport in the bridge),
 * -ENOENT if the bridge does not. @p->ofport 0: the lowest number free in
 * the bridge is given and written back into @p.
 */
int vsw_cfg_port_add(struct vsw_cfg *cfg, struct vsw_cfg_port *p);
/* -ENOENT if the port does not exist. */
int vsw_cfg_port_del(struct vsw_cfg *cfg, const char *name);
/* Read one port into *@p; -ENOENT if it does not exist. */
int vsw_cfg_port_get(struct vsw_cfg *cfg, const char *name,
		     struct vsw_cfg_port *p);
/* Replace the VLAN settings (tag, has_trunks, trunks) of port @p->name. */
int vsw_cfg_port_set_vlan(struct vsw_cfg *cfg, const struct vsw_cfg_port *p);
/*
 * Replace every option of port @p->name by @p->opts (keys and values
 * checked as at add). -ENOENT if the port does not exist.
 */
int vsw_cfg_port_set_opts(struct vsw_cfg *cfg, const struct vsw_cfg_port *p);
/* Ports of @bridge (all ports if NULL), in creation order. */
int vsw_cfg_port_foreach(struct vsw_cfg *cfg, const char *bridge,
			 int (*fn)(void *opaque, const struct vsw_cfg_port *p),
			 void *opaque);

/*
 * Flow rules of a bridge, each an add-flow string with numeric ports
 * ("cookie=0x0, idle_timeout=5, priority=10,in_port=1 actions=output:2"),
 * in dump order (priority descending, then age).
 */
struct vsw_cfg_flow {
	unsigned int priority;
	const char *flow;
};

/* Replace every rule of @bridge by @flows[0..@n). -ENOENT (no bridge). */
int vsw_cfg_flows_set(struct vsw_cfg *cfg, const char *bridge,
		      const struct vsw_cfg_flow *flows, unsigned int n);
/* Calls @fn for each rule of @bridge in order; non-zero stops. */
int vsw_cfg_flow_foreach(struct vsw_cfg *cfg, const char *bridge,
			 int (*fn)(void *opaque, const struct vsw_cfg_flow *f),
			 void *opaque);

/*
 * OpenFlow controller targets of @bridge, space-separated (at most
 * VSW_CFG_CONTROLLERS_MAX bytes); "" or NULL removes them. In a
 * transaction. -ENOENT (no bridge), -E2BIG, -EINVAL (an empty target or
 * a character that is not printable ASCII).
 */
#define VSW_CFG_CONTROLLERS_MAX 1023
int vsw_cfg_controllers_set(struct vsw_cfg *cfg, const char *bridge,
			    const char *targets);
/*
 * The stored targets ("" when none); -EILSEQ when the stored row is not
 * one vsw_cfg_controllers_set writes (so with the fail mode and mirrors).
 */
int vsw_cfg_controllers_get(struct vsw_cfg *cfg, const char *bridge,
			    char *buf, size_t len);
/*
 * Port mirrors of @bridge: @name (a port-like name) with @spec, its
 * settings as vswctl add-mirror takes them ("select-src-port=a,b
 * output-port=m"), at most VSW_CFG_MIRROR_MAX bytes; the caller checks the
 * spec. Replaces a mirror of that name. In a transaction. -ENOENT (no
 * bridge), -EINVAL (bad name, empty @spec), -E2BIG. Deleted with the
 * bridge.
 */
#define VSW_CFG_MIRROR_MAX 2047
int vsw_cfg_mirror_set(struct vsw_cfg *cfg, const char *bridge,
		       const char *name, const char *spec);
/* The stored settings of mirror @name ("" when none). */
int vsw_cfg_mirror_get(struct vsw_cfg *cfg, const char *bridge,
		       const char *name, char *buf, size_t len);
/* In a transaction; -ENOENT if the bridge has no such mirror. */
int vsw_cfg_mirror_del(struct vsw_cfg *cfg, const char *bridge,
		       const char *name);
/* @fn for each mirror of @bridge (NULL: every bridge), in creation order. */
int vsw_cfg_mirror_foreach(struct vsw_cfg *cfg, const char *bridge,
			   int (*fn)(void *opaque, const char *bridge,
				     const char *name, const char *spec),
			   void *opaque);
/*
 * OpenFlow fail mode of @bridge: "secure" or "standalone"; "" or NULL
 * removes it (standalone). In a transaction. -ENOENT, -EINVAL.
 */
int vsw_cfg_fail_mode_set(struct vsw_cfg *cfg, const char *bridge,
			  const char *mode);
/* The stored fail mode ("" when none). */
int vsw_cfg_fail_mode_get(struct vsw_cfg *cfg, const char *bridge,
			  char *buf, size_t len);
/* Global options (key and value as text). */
int vsw_cfg_option_set(struct vsw_cfg *cfg, const char *key,
		       const char *value);
/* -ENOENT if the key is not set. */
int vsw_cfg_option_get(struct vsw_cfg *cfg, const char *key, char *value,
		       size_t len);
int vsw_cfg_option_del(struct vsw_cfg *cfg, const char *key);
int vsw_cfg_option_foreach(struct vsw_cfg *cfg,
			   int (*fn)(void *opaque, const char *key,
				     const char *value),
			   void *opaque);

/* Helpers shared with vswd and vswctl. */

/* A bridge or port name: 1..15 of [A-Za-z0-9_.-], not starting with '-'. */
bool vsw_cfg_name_valid(const char *name);
/* An option key: 1..31 of [a-z0-9_-]; a value: 0..255 printable chars. */
bool vsw_cfg_key_valid(const char *key);
bool vsw_cfg_value_valid(const char *value);

/*
 * Parse "10,20,30-40" into @v (cleared first). Every id 0..4095, ranges
 * ascending; an empty string is the empty set. -EINVAL with a message in
 * @err otherwise.
 */
int vsw_cfg_vlans_parse(const char *s, struct vsw_cfg_vlans *v, char *err,
			size_t errlen);
/* Canonical form ("10,20,30-40"); -ENOSPC if @len is too small. */
int vsw_cfg_vlans_format(const struct vsw_cfg_vlans *v, char *buf,
			 size_t len);
bool vsw_cfg_vlan_test(const struct vsw_cfg_vlans *v, unsigned int id);
void vsw_cfg_vlan_set(struct vsw_cfg_vlans *v, unsigned int id);
unsigned int vsw_cfg_vlans_count(const struct vsw_cfg_vlans *v);

/* The value of option @key of @p, or NULL. */
const char *vsw_cfg_port_opt(const struct vsw_cfg_port *p, const char *key);

#endif /* VSW_CONFIG_H */

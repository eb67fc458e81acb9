/* SPDX-License-Identifier: MIT */
/*
 * vsw_cfg: vswd's configuration store over SQLite (see vsw_config.h).
 *
 * Trust model: the file is vswd's own but may have been damaged (a full
 * disk, an editor, a copy of the wrong file). vsw_cfg_open() checks the
 * header, the application id, the schema version, the tables and the
 * integrity of every page before it writes anything, and refuses the file
 * on any doubt. Values read back are checked again as if they came from a
 * peer (names, keys, values, VLANs), so that a hand-edited row is reported
 * instead of reaching the switch.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "vsw_config.h"

struct vsw_cfg {
	sqlite3 *db;
	bool in_txn;
	char path[4096];
	char why[512];
};

static const char cfg_schema_v1[] =
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL);"
	"CREATE TABLE bridges ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE ports ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" bridge TEXT NOT NULL REFERENCES bridges(name) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" tag INTEGER CHECK (tag IS NULL OR tag BETWEEN 0 AND 4095),"
	" trunks TEXT);"
	"CREATE INDEX ports_bridge ON ports(bridge);"
	"CREATE TABLE port_options ("
	" port TEXT NOT NULL REFERENCES ports(name) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (port, key));"
	"CREATE TABLE options ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL);";

/*
 * Version 2: ports get their OpenFlow port number (unique per bridge) and
 * the bridges' flow tables are stored, one row per rule, in dump order.
 */
static const char cfg_schema_v2[] =
	"ALTER TABLE ports ADD COLUMN ofport INTEGER"
	" CHECK (ofport IS NULL OR ofport BETWEEN 1 AND 65279);"
	"CREATE UNIQUE INDEX ports_ofport ON ports(bridge, ofport);"
	"CREATE TABLE flows ("
	" id INTEGER PRIMARY KEY,"
	" bridge TEXT NOT NULL REFERENCES bridges(name) ON DELETE CASCADE,"
	" priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 65535),"
	" flow TEXT NOT NULL);"
	"CREATE INDEX flows_bridge ON flows(bridge);";

/*
 * v1 -> v2: every port gets an ofport (1, 2... per bridge in creation
 * order) and every bridge the default table "priority=0,actions=normal",
 * which is what it had.
 */
static const char cfg_migrate_v2[] =
	"UPDATE ports SET ofport = (SELECT count(*) FROM ports AS q"
	" WHERE q.bridge = ports.bridge AND q.id <= ports.id);"
	"INSERT INTO flows(bridge, priority, flow)"
	" SELECT name, 0, '" VSW_CFG_FLOW_DEFAULT "' FROM bridges ORDER BY id;";

/* The tables of each version, sorted by name. */
static const char *const cfg_tables_v1[] = {
	"bridges", "meta", "options", "port_options", "ports", NULL,
};
static const char *const cfg_tables_v2[] = {
	"bridges", "flows", "meta", "options", "port_options", "ports", NULL,
};

static int cfg_fail(struct vsw_cfg *cfg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_fail(struct vsw_cfg *cfg, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->why, sizeof(cfg->why), fmt, ap);
	va_end(ap);
	return err;
}

/* Map an SQLite result code to an errno. */
static int cfg_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EILSEQ;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

static int cfg_sql_fail(struct vsw_cfg *cfg, int rc, const char *what)
{
	return cfg_fail(cfg, cfg_errno(rc), "%s: %s: %s", cfg->path, what,
			sqlite3_errmsg(cfg->db));
}

static int cfg_prepare(struct vsw_cfg *cfg, const char *sql,
		       sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(cfg->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "preparing a statement");
	return 0;
}

/* Run @sql binding the NULL-terminated list of text arguments. */
static int cfg_run(struct vsw_cfg *cfg, const char *sql, ...)
{
	sqlite3_stmt *st;
	const char *arg;
	va_list ap;
	int rc, i = 1;

	rc = cfg_prepare(cfg, sql, &st);
	if (rc < 0)
		return rc;
	va_start(ap, sql);
	while ((arg = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, arg, -1, SQLITE_STATIC);
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return cfg_sql_fail(cfg, rc, "writing");
	return 0;
}

/* One integer from a single-row query (a PRAGMA, a count). */
static int cfg_query_int(struct vsw_cfg *cfg, const char *sql, long long *v)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(cfg->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "reading");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*v = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "reading");
	return 0;
}

static int cfg_need_txn(struct vsw_cfg *cfg)
{
	if (!cfg->in_txn)
		return cfg_fail(cfg, -EINVAL, "no transaction is open");
	return 0;
}

/* ---- open / close ----------------------------------------------------- */

static int cfg_check_tables(struct vsw_cfg *cfg, int version)
{
	const char *const *tables = version == 1 ? cfg_tables_v1 :
						     cfg_tables_v2;
	size_t i, n = 0;
	unsigned int found = 0;
	sqlite3_stmt *st;
	int rc;

	while (tables[n] != NULL)
		n++;
	rc = cfg_prepare(cfg,
			 "SELECT name FROM sqlite_schema WHERE type = 'table' "
			 "ORDER BY name",
			 &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (i = 0; name != NULL && i < n; i++)
			if (strcmp(name, tables[i]) == 0)
				break;
		if (name == NULL || i == n) {
			rc = cfg_fail(cfg, -EPROTO,
				      "%s: unexpected table '%.64s' for schema "
				      "version %d: not a vswd configuration "
				      "or damaged; refusing to use it",
				      cfg->path, name ? name : "(null)",
				      version);
			sqlite3_finalize(st);
			return rc;
		}
		found |= 1u << i;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading the schema");
	for (i = 0; i < n; i++)
		if (!(found & (1u << i)))
			return cfg_fail(cfg, -EPROTO,
					"%s: table '%s' is missing (schema "
					"version %d): damaged file; refusing "
					"to use it",
					cfg->path, tables[i], version);
	return 0;
}

/*
 * PRAGMA integrity_check: every page, every constraint, and every index
 * against its table. quick_check would skip the last, and a damaged index
 * makes queries by bridge return rows of another bridge (found by
 * fuzz_config), so it is not enough here; a store this size checks in
 * milliseconds.
 */
static int cfg_check_integrity(struct vsw_cfg *cfg)
{
	sqlite3_stmt *st;
	const char *msg;
	int rc;

	rc = sqlite3_prepare_v2(cfg->db, "PRAGMA integrity_check(1)", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		goto corrupt;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		goto corrupt;
	}
	msg = (const char *)sqlite3_column_text(st, 0);
	if (msg == NULL || strcmp(msg, "ok") != 0) {
		cfg_fail(cfg, -EILSEQ,
			 "%s: the database is damaged (integrity check: %s); "
			 "refusing to use it: restore a backup or move it "
			 "away to start with an empty configuration",
			 cfg->path, msg ? msg : "no answer");
		sqlite3_finalize(st);
		return -EILSEQ;
	}
	sqlite3_finalize(st);
	/* Every port row must point at a bridge, every option at a port. */
	rc = sqlite3_prepare_v2(cfg->db, "PRAGMA foreign_key_check", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		goto corrupt;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return cfg_fail(cfg, -EILSEQ,
				"%s: the database is inconsistent (a port "
				"without its bridge or an option without its "
				"port); refusing to use it",
				cfg->path);
	if (rc != SQLITE_DONE)
		goto corrupt;
	return 0;
corrupt:
	return cfg_fail(cfg, cfg_errno(rc) == -EBUSY ? -EBUSY : -EILSEQ,
			"%s: the database is damaged (%s); refusing to use "
			"it: restore a backup or move it away to start with "
			"an empty configuration",
			cfg->path, sqlite3_errmsg(cfg->db));
}

static int cfg_create_schema(struct vsw_cfg *cfg)
{
	char sql[128];
	int rc;

	rc = sqlite3_exec(cfg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "creating the schema");
	rc = sqlite3_exec(cfg->db, cfg_schema_v1, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_exec(cfg->db, cfg_schema_v2, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d; PRAGMA user_version = %d",
		 VSW_CFG_APP_ID, VSW_CFG_SCHEMA_VERSION);
	rc = sqlite3_exec(cfg->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_exec(cfg->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	return 0;
fail:
	rc = cfg_sql_fail(cfg, rc, "creating the schema");
	sqlite3_exec(cfg->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Bring a checked version 1 store to version 2, in one transaction. */
static int cfg_migrate(struct vsw_cfg *cfg)
{
	int rc;

	rc = sqlite3_exec(cfg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "upgrading the schema");
	rc = sqlite3_exec(cfg->db, cfg_schema_v2, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(cfg->db, cfg_migrate_v2, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(cfg->db, "PRAGMA user_version = 2", NULL,
				  NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(cfg->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	rc = cfg_fail(cfg, cfg_errno(rc),
		      "%s: upgrading the schema from version 1 to 2: %s; "
		      "the file is unchanged",
		      cfg->path, sqlite3_errmsg(cfg->db));
	sqlite3_exec(cfg->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * Look at what is in the file before anything writes to it. Sets *@empty
 * for an SQLite database with no table and no ids (a new file), *@version
 * to the schema version found (1 or VSW_CFG_SCHEMA_VERSION).
 */
static int cfg_identify(struct vsw_cfg *cfg, bool *empty, int *ver)
{
	long long app_id, version, tables;
	int rc;

	rc = cfg_query_int(cfg, "PRAGMA application_id", &app_id);
	if (rc == 0)
		rc = cfg_query_int(cfg, "PRAGMA user_version", &version);
	if (rc == 0)
		rc = cfg_query_int(cfg, "SELECT count(*) FROM sqlite_schema",
				   &tables);
	if (rc == -EILSEQ || rc == -EIO) {
		if (sqlite3_errcode(cfg->db) == SQLITE_NOTADB)
			return cfg_fail(cfg, -EILSEQ,
					"%s: not an SQLite database, or its "
					"header is damaged (%s); refusing to "
					"use it: restore a backup or move it "
					"away to start with an empty "
					"configuration",
					cfg->path, sqlite3_errmsg(cfg->db));
		return cfg_fail(cfg, -EILSEQ,
				"%s: the database is damaged (%s); refusing "
				"to use it: restore a backup or move it away "
				"to start with an empty configuration",
				cfg->path, sqlite3_errmsg(cfg->db));
	}
	if (rc < 0)
		return rc;
	*empty = app_id == 0 && version == 0 && tables == 0;
	if (*empty)
		return 0;
	if ((uint32_t)app_id != (uint32_t)VSW_CFG_APP_ID)
		return cfg_fail(cfg, -EPROTO,
				"%s: an SQLite database, but not a vswd "
				"configuration (application_id 0x%08x, "
				"expected 0x%08x); refusing to use it",
				cfg->path, (unsigned int)app_id,
				(unsigned int)VSW_CFG_APP_ID);
	*ver = (int)version;
	if (version != VSW_CFG_SCHEMA_VERSION && version != 1)
		return cfg_fail(cfg, -EPROTO,
				"%s: schema version %lld, this vswd "
				"understands version %d%s; refusing to use it",
				cfg->path, version, VSW_CFG_SCHEMA_VERSION,
				version > VSW_CFG_SCHEMA_VERSION ?
					" (written by a newer vswd?)" :
					"");
	return 0;
}

/* Does @path's write-ahead log hold anything (a store not checkpointed)? */
static bool cfg_wal_has_data(const char *path)
{
	char wal[sizeof(((struct vsw_cfg *)0)->path) + 8];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &sb) == 0 && sb.st_size > 0;
}

int vsw_cfg_open(const char *path, unsigned flags, struct vsw_cfg **out,
		 bool *created, char *err, size_t errlen)
{
	struct vsw_cfg *cfg;
	struct stat sb;
	bool exists, empty = false;
	int version = VSW_CFG_SCHEMA_VERSION;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	*out = NULL;
	if (created)
		*created = false;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (strlen(path) >= sizeof(cfg->path)) {
		rc = cfg_fail(cfg, -ENAMETOOLONG, "%.64s...: path too long",
			      path);
		goto fail;
	}
	strcpy(cfg->path, path);

	exists = stat(path, &sb) == 0;
	if (!exists && errno != ENOENT) {
		rc = cfg_fail(cfg, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (exists && !S_ISREG(sb.st_mode)) {
		rc = cfg_fail(cfg, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	/*
	 * SQLite takes a zero-length file for an empty database; a store
	 * that lost its contents must not come back as a fresh one.
	 */
	if (exists && sb.st_size == 0 && !(flags & VSW_CFG_OPEN_EMPTY_OK) &&
	    !cfg_wal_has_data(path)) {
		rc = cfg_fail(cfg, -EILSEQ,
			      "%s: zero-length file (truncated?), not a "
			      "configuration; refusing to start from an empty "
			      "one in its place (remove it, or ask for a new "
			      "store explicitly)",
			      path);
		goto fail;
	}
	if (!exists)
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &cfg->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		int e = errno;

		rc = cfg_fail(cfg, cfg_errno(rc), "%s: cannot open: %s%s%s",
			      path,
			      cfg->db ? sqlite3_errmsg(cfg->db) : "no memory",
			      e ? ": " : "", e ? strerror(e) : "");
		goto fail;
	}
	sqlite3_extended_result_codes(cfg->db, 0);

	/*
	 * Exclusive locking: the lock taken by the first read is kept until
	 * close, and WAL then needs no shared-memory file. Set before the
	 * first read so that the read below takes it.
	 */
	rc = cfg_run(cfg, "PRAGMA locking_mode = EXCLUSIVE", NULL);
	if (rc < 0)
		goto fail;
	rc = cfg_identify(cfg, &empty, &version);
	if (rc == -EBUSY)
		cfg_fail(cfg, -EBUSY,
			 "%s: in use by another process (another vswd?)",
			 path);
	if (rc < 0)
		goto fail;
	if (!empty) {
		rc = cfg_check_tables(cfg, version);
		if (rc == 0)
			rc = cfg_check_integrity(cfg);
		if (rc < 0)
			goto fail;
	}
	/* Only now, with the file known to be ours (or empty), write. */
	rc = cfg_run(cfg, "PRAGMA journal_mode = WAL", NULL);
	if (rc == 0)
		rc = cfg_run(cfg, "PRAGMA synchronous = FULL", NULL);
	if (rc == 0)
		rc = cfg_run(cfg, "PRAGMA foreign_keys = ON", NULL);
	if (rc < 0)
		goto fail;
	/* Take the write lock now: a second vswd fails here, not later. */
	rc = sqlite3_exec(cfg->db, "BEGIN EXCLUSIVE; COMMIT", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		rc = cfg_errno(rc) == -EBUSY ?
			     cfg_fail(cfg, -EBUSY,
				      "%s: in use by another process "
				      "(another vswd?)",
				      path) :
			     cfg_sql_fail(cfg, rc, "locking");
		goto fail;
	}
	if (empty) {
		rc = cfg_create_schema(cfg);
		if (rc < 0)
			goto fail;
		if (created)
			*created = true;
	} else if (version == 1) {
		rc = cfg_migrate(cfg);
		if (rc == 0)
			rc = cfg_check_tables(cfg, VSW_CFG_SCHEMA_VERSION);
		if (rc < 0)
			goto fail;
	}
	cfg->why[0] = '\0';
	*out = cfg;
	return 0;
fail:
	snprintf(err, errlen, "%s", cfg->why);
	if (cfg->db)
		sqlite3_close(cfg->db);
	free(cfg);
	return rc;
}

void vsw_cfg_close(struct vsw_cfg *cfg)
{
	if (cfg == NULL)
		return;
	vsw_cfg_rollback(cfg);
	sqlite3_close(cfg->db);
	free(cfg);
}

const char *vsw_cfg_why(const struct vsw_cfg *cfg)
{
	return cfg->why;
}

/* ---- transactions ----------------------------------------------------- */

int vsw_cfg_begin(struct vsw_cfg *cfg)
{
	int rc;

	if (cfg->in_txn)
		return cfg_fail(cfg, -EBUSY, "a transaction is already open");
	rc = sqlite3_exec(cfg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return cfg_sql_fail(cfg, rc, "starting a transaction");
	cfg->in_txn = true;
	return 0;
}

int vsw_cfg_commit(struct vsw_cfg *cfg)
{
	int rc;

	rc = cfg_need_txn(cfg);
	if (rc < 0)
		return rc;
	rc = sqlite3_exec(cfg->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = cfg_sql_fail(cfg, rc, "committing");
		vsw_cfg_rollback(cfg);
		return rc;
	}
	cfg->in_txn = false;
	return 0;
}

void vsw_cfg_rollback(struct vsw_cfg *cfg)
{
	if (!cfg->in_txn)
		return;
	/* Harmless if SQLite already rolled back on its own (I/O error). */
	if (sqlite3_get_autocommit(cfg->db) == 0)
		sqlite3_exec(cfg->db, "ROLLBACK", NULL, NULL, NULL);
	cfg->in_txn = false;
}

static int cfg_text(struct vsw_cfg *cfg, sqlite3_stmt *st, int col,
		    char *dst, size_t len, const char *what);

/* ---- meta --------------------------------------------------------------- */

int vsw_cfg_is_initialized(struct vsw_cfg *cfg, bool *initialized)
{
	long long n = 0;
	int rc;

	rc = cfg_query_int(cfg,
			   "SELECT count(*) FROM meta "
			   "WHERE key = 'initialized'",
			   &n);
	if (rc < 0)
		return rc;
	*initialized = n > 0;
	return 0;
}

int vsw_cfg_set_initialized(struct vsw_cfg *cfg)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	return cfg_run(cfg,
		       "INSERT OR REPLACE INTO meta(key, value) "
		       "VALUES ('initialized', '1')",
		       NULL);
}

/*
 * Per-bridge settings kept as meta rows, not in tables of their own, so that
 * the schema (and so an older vswd) stays as it is: a vswd that does not
 * know a row ignores it. The key is 'KIND:BRIDGE' or, for the kinds that
 * hold several settings per bridge, 'KIND:BRIDGE:NAME' (names have no
 * ':'); the value is text. vsw_cfg_bridge_del removes them with the bridge.
 * The stored format is the one these rows always had: a database written
 * before the rows shared this code loads as it is.
 */
struct cfg_meta_kind {
	const char *prefix; /* "controller": key 'controller:BRIDGE' */
	const char *what;   /* the value, in messages */
	bool named;	    /* the key has a ':NAME' part */
	size_t max;	    /* longest value */
	/* NULL: any text; else true if @value may be stored */
	bool (*valid)(const char *value);
	const char *hint; /* what a valid value is, in messages */
};

static bool cfg_fail_mode_valid(const char *mode)
{
	return strcmp(mode, "secure") == 0 || strcmp(mode, "standalone") == 0;
}

/* Space-separated targets: no empty one, nothing but printable ASCII. */
static bool cfg_controllers_valid(const char *targets)
{
	const char *s;

	if (targets[0] == ' ')
		return false;
	for (s = targets; *s != '\0'; s++)
		if (*s < ' ' || *s > '~' ||
		    (*s == ' ' && (s[1] == ' ' || s[1] == '\0')))
			return false;
	return true;
}

static const struct cfg_meta_kind cfg_meta_controllers = {
	.prefix = "controller",
	.what = "controller list",
	.max = VSW_CFG_CONTROLLERS_MAX,
	.valid = cfg_controllers_valid,
	.hint = "targets separated by single spaces",
};
static const struct cfg_meta_kind cfg_meta_fail_mode = {
	.prefix = "fail_mode",
	.what = "fail mode",
	.max = sizeof("standalone") - 1,
	.valid = cfg_fail_mode_valid,
	.hint = "use secure or standalone",
};
static const struct cfg_meta_kind cfg_meta_mirror = {
	.prefix = "mirror",
	.what = "mirror settings",
	.named = true,
	.max = VSW_CFG_MIRROR_MAX,
};

#define CFG_META_KEY_MAX (2 * VSW_CFG_NAME_MAX + 16)

/* The meta key of @bridge's (and @name's) row of @kind. */
static int cfg_meta_key(struct vsw_cfg *cfg, const struct cfg_meta_kind *kind,
			const char *bridge, const char *name, char *key)
{
	if (!vsw_cfg_name_valid(bridge))
		return cfg_fail(cfg, -EINVAL, "invalid bridge name '%s'",
				bridge);
	if (kind->named && !vsw_cfg_name_valid(name))
		return cfg_fail(cfg, -EINVAL, "invalid %s name '%s'",
				kind->prefix, name);
	if (kind->named)
		snprintf(key, CFG_META_KEY_MAX, "%s:%s:%s", kind->prefix,
			 bridge, name);
	else
		snprintf(key, CFG_META_KEY_MAX, "%s:%s", kind->prefix, bridge);
	return 0;
}

/* A value read back is checked as one to be written is (see the top). */
static int cfg_meta_check(struct vsw_cfg *cfg, const struct cfg_meta_kind *kind,
			  const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0' || strlen(value) > kind->max ||
	    (kind->valid != NULL && !kind->valid(value)))
		return cfg_fail(cfg, -EILSEQ,
				"%s: invalid %s in row '%s' of the database",
				cfg->path, kind->what, key);
	return 0;
}

/*
 * Store @value as @bridge's (@name's) row of @kind, replacing the one there;
 * NULL or "" deletes it. In a transaction. Returns 0 (1 when a row was
 * deleted), -EINVAL (no transaction, bad name or value), -ENOENT (no
 * bridge), -E2BIG, or an SQLite error mapped to an errno.
 */
static int cfg_meta_set(struct vsw_cfg *cfg, const struct cfg_meta_kind *kind,
			const char *bridge, const char *name, const char *value)
{
	char key[CFG_META_KEY_MAX];
	int rc = cfg_need_txn(cfg);

	if (rc == 0)
		rc = cfg_meta_key(cfg, kind, bridge, name, key);
	if (rc == 0)
		rc = vsw_cfg_bridge_exists(cfg, bridge);
	if (rc <= 0)
		return rc < 0 ? rc
			      : cfg_fail(cfg, -ENOENT, "no bridge '%s'",
					 bridge);
	if (value == NULL || value[0] == '\0') {
		rc = cfg_run(cfg, "DELETE FROM meta WHERE key = ?1", key, NULL);
		return rc < 0 ? rc : sqlite3_changes(cfg->db) > 0;
	}
	if (strlen(value) > kind->max)
		return cfg_fail(cfg, -E2BIG, "%s too long (at most %zu bytes)",
				kind->what, kind->max);
	if (kind->valid != NULL && !kind->valid(value))
		return cfg_fail(cfg, -EINVAL, "%s '%s': %s", kind->what, value,
				kind->hint);
	return cfg_run(cfg,
		       "INSERT OR REPLACE INTO meta(key, value) "
		       "VALUES (?1, ?2)",
		       key, value, NULL);
}

/*
 * @bridge's (@name's) row of @kind into @buf ("" when there is none).
 * -EILSEQ if the stored value is not one cfg_meta_set would have written,
 * or does not fit @len.
 */
static int cfg_meta_get(struct vsw_cfg *cfg, const struct cfg_meta_kind *kind,
			const char *bridge, const char *name, char *buf,
			size_t len)
{
	char key[CFG_META_KEY_MAX];
	sqlite3_stmt *st;
	int rc;

	if (len == 0)
		return cfg_fail(cfg, -EINVAL, "no room for the %s", kind->what);
	buf[0] = '\0';
	rc = cfg_meta_key(cfg, kind, bridge, name, key);
	if (rc == 0)
		rc = cfg_prepare(cfg, "SELECT value FROM meta WHERE key = ?1",
				 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = cfg_text(cfg, st, 0, buf, len, kind->what);
		if (rc == 0)
			rc = cfg_meta_check(cfg, kind, key, buf);
		if (rc < 0)
			buf[0] = '\0';
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = cfg_sql_fail(cfg, rc, "reading settings");
	}
	sqlite3_finalize(st);
	return rc;
}

int vsw_cfg_controllers_set(struct vsw_cfg *cfg, const char *bridge,
			    const char *targets)
{
	int rc =
		cfg_meta_set(cfg, &cfg_meta_controllers, bridge, NULL, targets);

	return rc < 0 ? rc : 0;
}

int vsw_cfg_controllers_get(struct vsw_cfg *cfg, const char *bridge, char *buf,
			    size_t len)
{
	return cfg_meta_get(cfg, &cfg_meta_controllers, bridge, NULL, buf, len);
}

int vsw_cfg_fail_mode_set(struct vsw_cfg *cfg, const char *bridge,
			  const char *mode)
{
	int rc = cfg_meta_set(cfg, &cfg_meta_fail_mode, bridge, NULL, mode);

	return rc < 0 ? rc : 0;
}

int vsw_cfg_fail_mode_get(struct vsw_cfg *cfg, const char *bridge, char *buf,
			  size_t len)
{
	return cfg_meta_get(cfg, &cfg_meta_fail_mode, bridge, NULL, buf, len);
}

int vsw_cfg_mirror_set(struct vsw_cfg *cfg, const char *bridge,
		       const char *name, const char *spec)
{
	/* "" would delete the row: a mirror without settings is an error */
	if (spec == NULL || spec[0] == '\0')
		return cfg_fail(cfg, -EINVAL, "mirror '%s': no settings", name);
	return cfg_meta_set(cfg, &cfg_meta_mirror, bridge, name, spec);
}

int vsw_cfg_mirror_get(struct vsw_cfg *cfg, const char *bridge,
		       const char *name, char *buf, size_t len)
{
	return cfg_meta_get(cfg, &cfg_meta_mirror, bridge, name, buf, len);
}

int vsw_cfg_mirror_del(struct vsw_cfg *cfg, const char *bridge,
		       const char *name)
{
	int rc = cfg_meta_set(cfg, &cfg_meta_mirror, bridge, name, NULL);

	if (rc == 0)
		rc = cfg_fail(cfg, -ENOENT, "bridge '%s' has no mirror '%s'",
			      bridge, name);
	return rc < 0 ? rc : 0;
}

int vsw_cfg_mirror_foreach(struct vsw_cfg *cfg, const char *bridge,
			   int (*fn)(void *opaque, const char *bridge,
				     const char *name, const char *spec),
			   void *opaque)
{
	char br[VSW_CFG_NAME_MAX + 1], *name;
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg,
			 "SELECT key, value FROM meta WHERE key LIKE 'mirror:%'"
			 " ORDER BY rowid",
			 &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *spec = (const char *)sqlite3_column_text(st, 1);
		const char *colon = key != NULL ? strchr(key + 7, ':') : NULL;
		size_t blen = colon != NULL ? (size_t)(colon - (key + 7)) : 0;

		if (colon != NULL && blen < sizeof(br)) {
			memcpy(br, key + 7, blen);
			br[blen] = '\0';
		}
		name = colon != NULL ? (char *)colon + 1 : NULL;
		if (name == NULL || spec == NULL || blen >= sizeof(br) ||
		    !vsw_cfg_name_valid(br) || !vsw_cfg_name_valid(name)) {
			rc = cfg_fail(cfg, -EILSEQ,
				      "%s: invalid mirror row '%s' in the "
				      "database",
				      cfg->path, key ? key : "(null)");
			sqlite3_finalize(st);
			return rc;
		}
		if (bridge != NULL && strcmp(bridge, br) != 0)
			continue;
		rc = cfg_meta_check(cfg, &cfg_meta_mirror, key, spec);
		if (rc == 0)
			rc = fn(opaque, br, name, spec);
		if (rc != 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading mirrors");
	return 0;
}

/* ---- bridges -------------------------------------------------------------- */

int vsw_cfg_bridge_exists(struct vsw_cfg *cfg, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, "SELECT 1 FROM bridges WHERE name = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return cfg_sql_fail(cfg, rc, "reading bridges");
}

int vsw_cfg_bridge_add(struct vsw_cfg *cfg, const char *name)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	if (!vsw_cfg_name_valid(name))
		return cfg_fail(cfg, -EINVAL, "invalid bridge name '%s'",
				name);
	rc = vsw_cfg_bridge_exists(cfg, name);
	if (rc < 0)
		return rc;
	if (rc)
		return cfg_fail(cfg, -EEXIST, "bridge '%s' exists", name);
	rc = cfg_run(cfg, "INSERT INTO bridges(name) VALUES (?1)", name,
		     NULL);
	if (rc < 0)
		return rc;
	/* a new bridge's flow table: the default rule */
	return cfg_run(cfg,
		       "INSERT INTO flows(bridge, priority, flow) "
		       "VALUES (?1, 0, '" VSW_CFG_FLOW_DEFAULT "')",
		       name, NULL);
}

int vsw_cfg_bridge_del(struct vsw_cfg *cfg, const char *name)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	rc = vsw_cfg_bridge_exists(cfg, name);
	if (rc < 0)
		return rc;
	if (!rc)
		return cfg_fail(cfg, -ENOENT, "no bridge '%s'", name);
	/* ON DELETE CASCADE removes the ports, their options, the flows. */
	rc = cfg_run(cfg, "DELETE FROM bridges WHERE name = ?1", name, NULL);
	if (rc == 0)
		rc = cfg_run(cfg,
			     "DELETE FROM meta WHERE key = 'controller:' || ?1 "
			     "OR key = 'fail_mode:' || ?1",
			     name, NULL);
	if (rc == 0)
		rc = cfg_run(cfg,
			     "DELETE FROM meta WHERE substr(key, 1, "
			     "length(?1) + 8) = 'mirror:' || ?1 || ':'",
			     name, NULL);
	return rc;
}

int vsw_cfg_bridge_foreach(struct vsw_cfg *cfg,
			   int (*fn)(void *opaque, const char *name),
			   void *opaque)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, "SELECT name FROM bridges ORDER BY id", &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (name == NULL || !vsw_cfg_name_valid(name)) {
			rc = cfg_fail(cfg, -EILSEQ,
				      "%s: invalid bridge name '%s' in the "
				      "database",
				      cfg->path, name ? name : "(null)");
			sqlite3_finalize(st);
			return rc;
		}
		rc = fn(opaque, name);
		if (rc != 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading bridges");
	return 0;
}

/* ---- ports ---------------------------------------------------------------- */

static bool cfg_type_valid(const char *type)
{
	return vsw_cfg_key_valid(type);
}

/* Check @p before it is written (and after it is read back). */
static int cfg_port_check(struct vsw_cfg *cfg, const struct vsw_cfg_port *p)
{
	unsigned int i, j;

	if (!vsw_cfg_name_valid(p->name))
		return cfg_fail(cfg, -EINVAL, "invalid port name '%s'",
				p->name);
	if (!vsw_cfg_name_valid(p->bridge))
		return cfg_fail(cfg, -EINVAL, "invalid bridge name '%s'",
				p->bridge);
	if (!cfg_type_valid(p->type))
		return cfg_fail(cfg, -EINVAL, "invalid port type '%s'",
				p->type);
	if (p->tag < -1 || p->tag > VSW_CFG_VLAN_MAX)
		return cfg_fail(cfg, -EINVAL, "invalid VLAN tag %d", p->tag);
	if (p->n_opts > VSW_CFG_MAX_OPTS)
		return cfg_fail(cfg, -EINVAL, "too many options (max %d)",
				VSW_CFG_MAX_OPTS);
	for (i = 0; i < p->n_opts; i++) {
		if (!vsw_cfg_key_valid(p->opts[i].key))
			return cfg_fail(cfg, -EINVAL,
					"invalid option key '%s'",
					p->opts[i].key);
		if (!vsw_cfg_value_valid(p->opts[i].value))
			return cfg_fail(cfg, -EINVAL,
					"invalid value for option '%s'",
					p->opts[i].key);
		for (j = 0; j < i; j++)
			if (!strcmp(p->opts[i].key, p->opts[j].key))
				return cfg_fail(cfg, -EINVAL,
						"option '%s' given twice",
						p->opts[i].key);
	}
	return 0;
}

static int cfg_port_exists(struct vsw_cfg *cfg, const char *name)
{
	long long n = 0;
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, "SELECT count(*) FROM ports WHERE name = ?1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return cfg_sql_fail(cfg, rc, "reading ports");
	return n > 0;
}

/* Write tag and trunks of @p into the ports row (the row exists). */
static int cfg_port_write_vlan(struct vsw_cfg *cfg,
			       const struct vsw_cfg_port *p)
{
	char trunks[5 * (VSW_CFG_VLAN_MAX + 1)];
	sqlite3_stmt *st;
	int rc;

	rc = vsw_cfg_vlans_format(&p->trunks, trunks, sizeof(trunks));
	if (rc < 0)
		return cfg_fail(cfg, rc, "VLAN list too long");
	rc = cfg_prepare(cfg,
			 "UPDATE ports SET tag = ?2, trunks = ?3 "
			 "WHERE name = ?1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	if (p->tag >= 0)
		sqlite3_bind_int(st, 2, p->tag);
	else
		sqlite3_bind_null(st, 2);
	if (p->has_trunks)
		sqlite3_bind_text(st, 3, trunks, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "writing VLANs");
	return 0;
}

/* The lowest ofport no port of @bridge has, into *@of. */
static int cfg_free_ofport(struct vsw_cfg *cfg, const char *bridge,
			   unsigned int *of)
{
	sqlite3_stmt *st;
	int rc;

	/* 1 if free, else the first n + 1 that is not taken */
	rc = cfg_prepare(cfg,
			 "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM ports "
			 " WHERE bridge = ?1 AND ofport = 1) THEN 1 ELSE "
			 " (SELECT min(p.ofport) + 1 FROM ports AS p "
			 "  WHERE p.bridge = ?1 AND p.ofport IS NOT NULL AND "
			 "  NOT EXISTS (SELECT 1 FROM ports AS q WHERE "
			 "  q.bridge = ?1 AND q.ofport = p.ofport + 1)) END",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, bridge, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		long long v = sqlite3_column_int64(st, 0);

		sqlite3_finalize(st);
		if (v < 1 || v > VSW_CFG_OFPORT_MAX)
			return cfg_fail(cfg, -ENOSPC,
					"bridge '%s': no OpenFlow port number "
					"left",
					bridge);
		*of = (unsigned int)v;
		return 0;
	}
	sqlite3_finalize(st);
	return cfg_sql_fail(cfg, rc, "reading ports");
}

/* The rows of @p's options (none there yet). */
static int cfg_port_write_opts(struct vsw_cfg *cfg,
			       const struct vsw_cfg_port *p)
{
	unsigned int i;
	int rc;

	for (i = 0; i < p->n_opts; i++) {
		rc = cfg_run(cfg,
			     "INSERT INTO port_options(port, key, value) "
			     "VALUES (?1, ?2, ?3)",
			     p->name, p->opts[i].key, p->opts[i].value, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vsw_cfg_port_add(struct vsw_cfg *cfg, struct vsw_cfg_port *p)
{
	char ofs[16];
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	rc = cfg_port_check(cfg, p);
	if (rc < 0)
		return rc;
	rc = vsw_cfg_bridge_exists(cfg, p->bridge);
	if (rc < 0)
		return rc;
	if (!rc)
		return cfg_fail(cfg, -ENOENT, "no bridge '%s'", p->bridge);
	rc = cfg_port_exists(cfg, p->name);
	if (rc < 0)
		return rc;
	if (rc)
		return cfg_fail(cfg, -EEXIST, "port '%s' exists", p->name);
	if (p->ofport > VSW_CFG_OFPORT_MAX)
		return cfg_fail(cfg, -EINVAL, "invalid ofport %u (1..%d)",
				p->ofport, VSW_CFG_OFPORT_MAX);
	if (p->ofport == 0) {
		rc = cfg_free_ofport(cfg, p->bridge, &p->ofport);
		if (rc < 0)
			return rc;
	}
	snprintf(ofs, sizeof(ofs), "%u", p->ofport);
	rc = cfg_run(cfg,
		     "INSERT INTO ports(name, bridge, type, ofport) "
		     "VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER))",
		     p->name, p->bridge, p->type, ofs, NULL);
	if (rc == -EEXIST)
		return cfg_fail(cfg, -EEXIST,
				"ofport %u is taken in bridge '%s'",
				p->ofport, p->bridge);
	if (rc < 0)
		return rc;
	rc = cfg_port_write_vlan(cfg, p);
	if (rc < 0)
		return rc;
	return cfg_port_write_opts(cfg, p);
}

/* A change of port @name: in a transaction, and the port exists. */
static int cfg_port_change(struct vsw_cfg *cfg, const char *name)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	rc = cfg_port_exists(cfg, name);
	if (rc < 0)
		return rc;
	if (!rc)
		return cfg_fail(cfg, -ENOENT, "no port '%s'", name);
	return 0;
}

int vsw_cfg_port_del(struct vsw_cfg *cfg, const char *name)
{
	int rc = cfg_port_change(cfg, name);

	if (rc < 0)
		return rc;
	return cfg_run(cfg, "DELETE FROM ports WHERE name = ?1", name, NULL);
}

int vsw_cfg_port_set_opts(struct vsw_cfg *cfg, const struct vsw_cfg_port *p)
{
	int rc = cfg_port_change(cfg, p->name);

	if (rc == 0)
		rc = cfg_port_check(cfg, p);
	if (rc < 0)
		return rc;
	rc = cfg_run(cfg, "DELETE FROM port_options WHERE port = ?1", p->name,
		     NULL);
	if (rc < 0)
		return rc;
	return cfg_port_write_opts(cfg, p);
}

int vsw_cfg_port_set_vlan(struct vsw_cfg *cfg, const struct vsw_cfg_port *p)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	if (p->tag < -1 || p->tag > VSW_CFG_VLAN_MAX)
		return cfg_fail(cfg, -EINVAL, "invalid VLAN tag %d", p->tag);
	rc = cfg_port_exists(cfg, p->name);
	if (rc < 0)
		return rc;
	if (!rc)
		return cfg_fail(cfg, -ENOENT, "no port '%s'", p->name);
	return cfg_port_write_vlan(cfg, p);
}

static int cfg_text(struct vsw_cfg *cfg, sqlite3_stmt *st, int col,
		    char *dst, size_t len, const char *what)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	if (s == NULL || strlen((const char *)s) >= len)
		return cfg_fail(cfg, -EILSEQ,
				"%s: invalid %s in the database", cfg->path,
				what);
	strcpy(dst, (const char *)s);
	return 0;
}

/* Fill @p from a row of (name, bridge, type, tag, trunks). */
static int cfg_port_from_row(struct vsw_cfg *cfg, sqlite3_stmt *st,
			     struct vsw_cfg_port *p)
{
	sqlite3_stmt *ost;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = cfg_text(cfg, st, 0, p->name, sizeof(p->name), "port name");
	if (rc == 0)
		rc = cfg_text(cfg, st, 1, p->bridge, sizeof(p->bridge),
			      "bridge name");
	if (rc == 0)
		rc = cfg_text(cfg, st, 2, p->type, sizeof(p->type),
			      "port type");
	if (rc < 0)
		return rc;
	if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
		p->tag = -1;
	} else {
		long long tag = sqlite3_column_int64(st, 3);

		if (tag < 0 || tag > VSW_CFG_VLAN_MAX)
			return cfg_fail(cfg, -EILSEQ,
					"%s: port '%s': invalid tag in the "
					"database",
					cfg->path, p->name);
		p->tag = (int)tag;
	}
	if (sqlite3_column_type(st, 5) == SQLITE_NULL) {
		p->ofport = 0; /* the switch numbers it */
	} else {
		long long of = sqlite3_column_int64(st, 5);

		if (of < 1 || of > VSW_CFG_OFPORT_MAX)
			return cfg_fail(cfg, -EILSEQ,
					"%s: port '%s': invalid ofport in the "
					"database",
					cfg->path, p->name);
		p->ofport = (unsigned int)of;
	}
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		const char *t = (const char *)sqlite3_column_text(st, 4);
		char why[160];

		p->has_trunks = true;
		if (t == NULL ||
		    vsw_cfg_vlans_parse(t, &p->trunks, why, sizeof(why)) < 0)
			return cfg_fail(cfg, -EILSEQ,
					"%s: port '%s': invalid trunks in the "
					"database",
					cfg->path, p->name);
	}

	rc = cfg_prepare(cfg,
			 "SELECT key, value FROM port_options WHERE port = ?1 "
			 "ORDER BY key",
			 &ost);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(ost, 1, p->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(ost)) == SQLITE_ROW) {
		struct vsw_cfg_opt *o;

		if (p->n_opts == VSW_CFG_MAX_OPTS) {
			sqlite3_finalize(ost);
			return cfg_fail(cfg, -EILSEQ,
					"%s: port '%s': too many options in "
					"the database",
					cfg->path, p->name);
		}
		o = &p->opts[p->n_opts++];
		rc = cfg_text(cfg, ost, 0, o->key, sizeof(o->key),
			      "option key");
		if (rc == 0)
			rc = cfg_text(cfg, ost, 1, o->value, sizeof(o->value),
				      "option value");
		if (rc < 0) {
			sqlite3_finalize(ost);
			return rc;
		}
	}
	sqlite3_finalize(ost);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading port options");
	rc = cfg_port_check(cfg, p);
	if (rc < 0)
		return cfg_fail(cfg, -EILSEQ, "%s: port '%s' in the database: %s",
				cfg->path, p->name, cfg->why);
	return 0;
}

#define CFG_PORT_COLS \
	"SELECT name, bridge, type, tag, trunks, ofport FROM ports "

int vsw_cfg_port_get(struct vsw_cfg *cfg, const char *name,
		     struct vsw_cfg_port *p)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, CFG_PORT_COLS "WHERE name = ?1", &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = cfg_port_from_row(cfg, st, p);
	else if (rc == SQLITE_DONE)
		rc = cfg_fail(cfg, -ENOENT, "no port '%s'", name);
	else
		rc = cfg_sql_fail(cfg, rc, "reading ports");
	sqlite3_finalize(st);
	return rc;
}

int vsw_cfg_port_foreach(struct vsw_cfg *cfg, const char *bridge,
			 int (*fn)(void *opaque, const struct vsw_cfg_port *p),
			 void *opaque)
{
	struct vsw_cfg_port *p;
	sqlite3_stmt *st;
	int rc;

	p = malloc(sizeof(*p));
	if (p == NULL)
		return cfg_fail(cfg, -ENOMEM, "out of memory");
	rc = cfg_prepare(cfg,
			 bridge ? CFG_PORT_COLS "WHERE bridge = ?1 ORDER BY id" :
				  CFG_PORT_COLS "ORDER BY id",
			 &st);
	if (rc < 0)
		goto out;
	if (bridge)
		sqlite3_bind_text(st, 1, bridge, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cfg_port_from_row(cfg, st, p);
		if (rc == 0)
			rc = fn(opaque, p);
		if (rc != 0)
			goto fin;
	}
	rc = rc == SQLITE_DONE ? 0 : cfg_sql_fail(cfg, rc, "reading ports");
fin:
	sqlite3_finalize(st);
out:
	free(p);
	return rc;
}

/* ---- flows ---------------------------------------------------------------- */

int vsw_cfg_flows_set(struct vsw_cfg *cfg, const char *bridge,
		      const struct vsw_cfg_flow *flows, unsigned int n)
{
	sqlite3_stmt *st;
	unsigned int i;
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	rc = vsw_cfg_bridge_exists(cfg, bridge);
	if (rc < 0)
		return rc;
	if (!rc)
		return cfg_fail(cfg, -ENOENT, "no bridge '%s'", bridge);
	rc = cfg_run(cfg, "DELETE FROM flows WHERE bridge = ?1", bridge, NULL);
	if (rc < 0)
		return rc;
	rc = cfg_prepare(cfg,
			 "INSERT INTO flows(bridge, priority, flow) "
			 "VALUES (?1, ?2, ?3)",
			 &st);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (flows[i].priority > 65535 || flows[i].flow == NULL) {
			sqlite3_finalize(st);
			return cfg_fail(cfg, -EINVAL, "invalid flow rule");
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, bridge, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)flows[i].priority);
		sqlite3_bind_text(st, 3, flows[i].flow, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			rc = cfg_sql_fail(cfg, rc, "writing flows");
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

int vsw_cfg_flow_foreach(struct vsw_cfg *cfg, const char *bridge,
			 int (*fn)(void *opaque, const struct vsw_cfg_flow *f),
			 void *opaque)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg,
			 "SELECT priority, flow FROM flows WHERE bridge = ?1 "
			 "ORDER BY id",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, bridge, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vsw_cfg_flow f;
		long long prio = sqlite3_column_int64(st, 0);

		f.flow = (const char *)sqlite3_column_text(st, 1);
		if (prio < 0 || prio > 65535 || f.flow == NULL) {
			rc = cfg_fail(cfg, -EILSEQ,
				      "%s: bridge '%s': invalid flow in the "
				      "database",
				      cfg->path, bridge);
			sqlite3_finalize(st);
			return rc;
		}
		f.priority = (unsigned int)prio;
		rc = fn(opaque, &f);
		if (rc != 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading flows");
	return 0;
}

/* ---- options -------------------------------------------------------------- */

int vsw_cfg_option_set(struct vsw_cfg *cfg, const char *key,
		       const char *value)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	if (!vsw_cfg_key_valid(key))
		return cfg_fail(cfg, -EINVAL, "invalid option key '%s'", key);
	if (!vsw_cfg_value_valid(value))
		return cfg_fail(cfg, -EINVAL, "invalid value for option '%s'",
				key);
	return cfg_run(cfg,
		       "INSERT OR REPLACE INTO options(key, value) "
		       "VALUES (?1, ?2)",
		       key, value, NULL);
}

int vsw_cfg_option_del(struct vsw_cfg *cfg, const char *key)
{
	int rc = cfg_need_txn(cfg);

	if (rc < 0)
		return rc;
	return cfg_run(cfg, "DELETE FROM options WHERE key = ?1", key, NULL);
}

int vsw_cfg_option_get(struct vsw_cfg *cfg, const char *key, char *value,
		       size_t len)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, "SELECT value FROM options WHERE key = ?1",
			 &st);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = cfg_text(cfg, st, 0, value, len, "option value");
	else if (rc == SQLITE_DONE)
		rc = cfg_fail(cfg, -ENOENT, "option '%s' is not set", key);
	else
		rc = cfg_sql_fail(cfg, rc, "reading options");
	sqlite3_finalize(st);
	return rc;
}

int vsw_cfg_option_foreach(struct vsw_cfg *cfg,
			   int (*fn)(void *opaque, const char *key,
				     const char *value),
			   void *opaque)
{
	sqlite3_stmt *st;
	int rc;

	rc = cfg_prepare(cfg, "SELECT key, value FROM options ORDER BY key",
			 &st);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);

		if (k == NULL || v == NULL || !vsw_cfg_key_valid(k) ||
		    !vsw_cfg_value_valid(v)) {
			sqlite3_finalize(st);
			return cfg_fail(cfg, -EILSEQ,
					"%s: invalid option row in the "
					"database",
					cfg->path);
		}
		rc = fn(opaque, k, v);
		if (rc != 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cfg_sql_fail(cfg, rc, "reading options");
	return 0;
}

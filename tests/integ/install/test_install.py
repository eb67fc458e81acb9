#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""meson install into a temporary --destdir, then check what a user gets.

- every file: vswd, vswctl, libvsw.so (with its soname links) and libvsw.a,
  the public headers, vsw.pc, the man pages, the docs, vswd.service;
- vswd.service: ExecStart= names the installed vswd, each Documentation=
  names an installed file (file://) or man page (man:);
- a small program built against the installed headers and library through
  the installed vsw.pc (PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR), linked
  with libvsw.so and again with libvsw.a, runs;
- both man pages render with `man -l`, and name every option of
  `vswd --help` and every option and command of `vswctl --help`.

Usage: test_install.py --build DIR --meson MESON --cc "CC ARGS" --sanitize
       none|address,undefined|... --prefix P --bindir B --libdir L
       --includedir I --datadir D --mandir M --unitdir U --man yes|no
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

PROG = r"""
#include <stdio.h>
#include <string.h>
#include <vsw/pkt.h>
#include <vsw/port.h>
#include <vsw/switch.h>

int main(void)
{
	struct vsw_pkt_pool_config pc = {.n_small = 8, .n_large = 1};
	struct vsw_switch_config sc = {.n_threads = 1};
	struct vsw_pkt_pool *pool;
	struct vsw_switch *sw;
	struct vsw_pkt *p;
	char err[256];

	if (vsw_pkt_pool_create(&pc, &pool) != 0)
		return 1;
	p = vsw_pkt_alloc_len(pool, 60);
	if (p == NULL)
		return 2;
	memset(vsw_pkt_append(p, 60), 0, 60);
	if (p->len != 60)
		return 3;
	vsw_pkt_free(p);
	vsw_pkt_pool_destroy(pool);
	if (vsw_switch_create(&sc, &sw) != 0)
		return 4;
	if (vsw_switch_add_bridge(sw, "br0", err, sizeof(err)) != 0 ||
	    vsw_switch_add_port(sw, "br0", "p0", "dummy", NULL, 0, err,
				sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 5;
	}
	if (vsw_switch_port_find(sw, "p0") == NULL)
		return 6;
	vsw_switch_destroy(sw);
	printf("vsw ok\n");
	return 0;
}
"""

HEADERS = ["flow.h", "log.h", "mem.h", "pkt.h", "port.h", "switch.h",
           "vhost_user.h", "vhost_user_fe.h", "virtio_net.h", "virtq.h",
           "vnet_vhost_user.h"]
DOCS = ["README.md", "architecture.md", "concurrency.md", "control.md",
        "testing.md", "vhost-user.md", "performance.md", "security.md"]

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=120, **kw)


def main():
    ap = argparse.ArgumentParser()
    for o in ("build", "meson", "cc", "sanitize", "prefix", "bindir",
              "libdir", "includedir", "datadir", "mandir", "unitdir", "man",
              "vswd", "vswctl"):
        ap.add_argument("--" + o, required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vsw-install-")
    try:
        return check_install(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def inst(a, dest, *parts):
    """The destdir path of an install path (relative ones: under prefix)."""
    p = os.path.join(a.prefix, *parts)
    return os.path.join(dest, p.lstrip("/"))


def check_install(a, tmp):
    dest = os.path.join(tmp, "dest")
    r = run([a.meson, "install", "-C", a.build, "--destdir", dest,
             "--no-rebuild", "--quiet"])
    if not check(r.returncode == 0, "meson install --destdir"):
        print(r.stdout, r.stderr)
        return 1

    # ---- the files ----
    for prog in ("vswd", "vswctl"):
        f = inst(a, dest, a.bindir, prog)
        check(os.access(f, os.X_OK), f"{a.bindir}/{prog} installed")
    libdir = inst(a, dest, a.libdir)
    for lib in ("libvsw.so", "libvsw.so.0", "libvsw.a"):
        check(os.path.exists(os.path.join(libdir, lib)), f"{lib} installed")
    r = run(["readelf", "-d", os.path.join(libdir, "libvsw.so")])
    check("SONAME" in r.stdout and "libvsw.so.0" in r.stdout,
          "libvsw.so has soname libvsw.so.0")
    pcdir = os.path.join(libdir, "pkgconfig")
    check(os.path.exists(os.path.join(pcdir, "vsw.pc")), "vsw.pc installed")
    for h in HEADERS:
        check(os.path.exists(inst(a, dest, a.includedir, "vsw", h)),
              f"include/vsw/{h} installed")
    comp = inst(a, dest, a.datadir, "bash-completion", "completions",
                "vswctl")
    check(os.path.exists(comp) and "complete -F _vswctl vswctl" in
          open(comp).read(), "bash completion of vswctl installed")
    docdir = inst(a, dest, a.datadir, "doc", "vsw")
    for d in DOCS:
        check(os.path.exists(os.path.join(docdir, d)), f"doc/vsw/{d}")
    mandir = inst(a, dest, a.mandir, "man8")
    pages = {p: os.path.join(mandir, p + ".8") for p in ("vswd", "vswctl")}
    if a.man == "yes":
        for p, f in pages.items():
            check(os.path.exists(f), f"man8/{p}.8 installed")
    else:
        check(False, "man pages built (scdoc not found, or -Dman=disabled)")
    unit = inst(a, dest, a.unitdir, "vswd.service")
    if check(os.path.exists(unit), "vswd.service installed"):
        check_unit(a, dest, unit)
    # the accounts the unit names (User=, Group=, SupplementaryGroups=)
    sysusers = inst(a, dest, "lib", "sysusers.d", "vsw.conf")
    if check(os.path.exists(sysusers), "sysusers.d/vsw.conf installed"):
        names = set(re.findall(r"^[ug]\s+(\S+)", open(sysusers).read(),
                               re.M))
        text = open(unit, encoding="utf-8").read() \
            if os.path.exists(unit) else ""
        for key in ("User", "Group", "SupplementaryGroups"):
            for v in re.findall(r"^%s=(.*)$" % key, text, re.M):
                for n in v.split():
                    check(n in names, f"unit's {key}={n} made by vsw.conf")

    # ---- a program built through vsw.pc ----
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir,
               PKG_CONFIG_SYSROOT_DIR=dest)
    cflags = run(["pkg-config", "--cflags", "vsw"], env=env)
    libs = run(["pkg-config", "--libs", "vsw"], env=env)
    slibs = run(["pkg-config", "--static", "--libs", "vsw"], env=env)
    if check(cflags.returncode == 0 and libs.returncode == 0 and
             slibs.returncode == 0, "pkg-config finds the installed vsw.pc"):
        check_program(a, tmp, libdir, shlex.split(cflags.stdout),
                      shlex.split(libs.stdout), shlex.split(slibs.stdout))

    # ---- the man pages ----
    if a.man == "yes":
        check_man(a, pages)

    print(f"{len(failures)} failed" if failures else "all install checks ok")
    return 1 if failures else 0


def check_unit(a, dest, unit):
    text = open(unit, encoding="utf-8").read()
    m = re.search(r"^ExecStart=(\S+)", text, re.M)
    want = os.path.join(a.prefix, a.bindir, "vswd")
    check(m is not None and m.group(1) == want,
          f"ExecStart= runs {want} (is {m.group(1) if m else None})")
    docs = []
    for line in re.findall(r"^Documentation=(.*)$", text, re.M):
        docs += line.split()
    check(len(docs) > 0, "the unit has Documentation=")
    for d in docs:
        if d.startswith("file://"):
            f = os.path.join(dest, d[len("file://"):].lstrip("/"))
            check(os.path.exists(f), f"Documentation={d} is installed")
        elif d.startswith("man:"):
            m = re.match(r"man:([^()]+)\((\d)\)", d)
            f = m and inst(a, dest, a.mandir, "man" + m.group(2),
                           f"{m.group(1)}.{m.group(2)}")
            check(bool(f) and os.path.exists(f),
                  f"Documentation={d} is installed")
        else:
            check(d.startswith("http"), f"Documentation={d}: a known scheme")


def sanitize_flags(a):
    if a.sanitize in ("", "none"):
        return []
    return ["-fsanitize=" + a.sanitize]


def check_program(a, tmp, libdir, cflags, libs, slibs):
    src = os.path.join(tmp, "prog.c")
    with open(src, "w", encoding="utf-8") as f:
        f.write(PROG)
    cc = shlex.split(a.cc)
    san = sanitize_flags(a)
    exe = os.path.join(tmp, "prog-shared")
    r = run(cc + san + ["-o", exe, src] + cflags + libs)
    if check(r.returncode == 0, "compile and link with libvsw.so: " +
             " ".join(cflags + libs)):
        r2 = run(["readelf", "-d", exe])
        check("libvsw.so.0" in r2.stdout, "the program needs libvsw.so.0")
        env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        r2 = run([exe], env=env)
        check(r2.returncode == 0 and "vsw ok" in r2.stdout,
              f"it runs ({r2.returncode}: {r2.stdout.strip()} "
              f"{r2.stderr.strip()[:300]})")
    else:
        print(r.stdout, r.stderr)
    exe = os.path.join(tmp, "prog-static")
    static = [os.path.join(libdir, "libvsw.a") if x == "-lvsw" else x
              for x in slibs]
    r = run(cc + san + ["-o", exe, src] + cflags + static)
    if check(r.returncode == 0, "compile and link with libvsw.a"):
        r2 = run(["readelf", "-d", exe])
        check("libvsw.so" not in r2.stdout, "the static program needs no "
              "libvsw.so")
        r2 = run([exe])
        check(r2.returncode == 0 and "vsw ok" in r2.stdout,
              f"it runs ({r2.returncode}: {r2.stderr.strip()[:300]})")
    else:
        print(r.stdout, r.stderr)


def render(page):
    env = dict(os.environ, MANWIDTH="200", MANPAGER="cat", PAGER="cat",
               LC_ALL="C.UTF-8")
    r = run(["man", "-l", page], env=env)
    # groff's hyphen and quote glyphs back to ASCII for the word checks
    out = r.stdout.replace("\u2010", "-").replace("\u2212", "-")
    return r, out


def check_man(a, pages):
    text = {}
    for p, f in pages.items():
        r, out = render(f)
        check(r.returncode == 0 and "NAME" in out and "SYNOPSIS" in out,
              f"man -l {p}.8 renders ({r.stderr.strip()[:200]})")
        check("warning" not in r.stderr, f"man -l {p}.8: no warning")
        text[p] = out
    helps = {p: run([getattr(a, p), "--help"]) for p in ("vswd", "vswctl")}
    for p, r in helps.items():
        if not check(r.returncode == 0, f"{p} --help"):
            continue
        opts = set(re.findall(r"(--[a-z][a-z-]*)", r.stdout))
        check(len(opts) >= 3, f"{p} --help lists options")
        for o in sorted(opts):
            check(o in text[p], f"{p}.8 documents {o}")
    r = helps["vswctl"]
    m = re.search(r"^Commands:\n((?:  \S.*\n)+)", r.stdout, re.M)
    if check(m is not None, "vswctl --help lists its commands"):
        cmds = [ln.split()[0] for ln in m.group(1).splitlines()]
        check(len(cmds) >= 10, f"{len(cmds)} commands")
        for c in cmds:
            check(re.search(r"^\s+" + re.escape(c) + r"\b", text["vswctl"],
                            re.M) is not None,
                  f"vswctl.8 documents the command {c}")
        types = re.search(r"^Port types: (.*?)\.\n", r.stdout, re.M | re.S)
        if check(types is not None, "vswctl --help lists the port types"):
            for t in re.findall(r"(?:^|, |\n\s+)([a-z]+)", types.group(1)):
                check(re.search(r"^\s+" + t + r"\b", text["vswctl"], re.M)
                      is not None, f"vswctl.8 documents port type {t}")


if __name__ == "__main__":
    sys.exit(main())

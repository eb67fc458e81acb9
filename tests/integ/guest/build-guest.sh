#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-guest.sh OUTDIR
#
# Builds the test-guest image used by vsw's integration and interop tests:
#   OUTDIR/vmlinuz      Debian's stock kernel (linux-image-amd64's current
#                       package), taken from the .deb without installing it
#   OUTDIR/initrd.img   gzip'd newc cpio: busybox-static with its applet
#                       links, the virtio / virtio_net / qemu_fw_cfg / 8021q
#                       modules and their dependencies, and /init (init.sh
#                       here), which loads them all at boot
#   OUTDIR/stamp        hash of the inputs the image was built from
#
# A rebuild is skipped when OUTDIR/stamp matches the hash of this script,
# init.sh, the kernel package version and the busybox-static version, so
# repeated test runs cost one `apt-cache` query.  The kernel .deb is kept in
# OUTDIR/cache (or $VSW_GUEST_CACHE) across rebuilds.
#
# Missing host tools are installed with apt-get (root only); `apt-get update`
# runs only when an install or a package query needs it.
#
# Prints the image directory on success; exits non-zero on any failure.

set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
outdir=$1
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
cache=${VSW_GUEST_CACHE:-$outdir/cache}

# Modules the guest loads at boot, in this order, each after its
# dependencies (resolved below). 8021q (needs llc, stp, garp, mrp) lets a
# test create VLAN interfaces (vconfig / ip link add ... type vlan).
want_modules="virtio_pci virtio_net qemu_fw_cfg 8021q"

log() { echo "build-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return 0
	log "apt-get update"
	apt-get -q -o DPkg::Lock::Timeout=300 update >&2 ||
		die "apt-get update failed"
	apt_updated=1
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

# 1. Host tools.
missing=""
for p in qemu-system-x86 busybox-static cpio kmod gzip; do
	pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages:$missing (need root)"
	log "installing:$missing"
	# shellcheck disable=SC2086
	if ! DEBIAN_FRONTEND=noninteractive apt-get -q -y \
	    -o DPkg::Lock::Timeout=300 install $missing >&2; then
		apt_update
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get -q -y \
		    -o DPkg::Lock::Timeout=300 install $missing >&2 ||
			die "apt-get install$missing failed"
	fi
fi

# 2. Which kernel: the package linux-image-amd64 currently depends on.
kpkg_query() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}
kpkg=$(kpkg_query)
if [ -z "$kpkg" ]; then
	apt_update
	kpkg=$(kpkg_query)
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
kver=$(apt-cache show --no-all-versions "$kpkg" |
	awk '$1 == "Version:" { print $2; exit }')
[ -n "$kver" ] || die "no version for $kpkg"
bbver=$(dpkg-query -W -f='${Version}' busybox-static)

stamp=$( (cat "$0" "$here/init.sh"
	echo "$kpkg $kver busybox-static $bbver") | sha256sum | cut -d' ' -f1)
if [ -f "$outdir/stamp" ] && [ "$(cat "$outdir/stamp")" = "$stamp" ] &&
    [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/initrd.img" ]; then
	log "up to date ($kpkg $kver)"
	echo "$outdir"
	exit 0
fi

# 3. Fetch and unpack the kernel package.
mkdir -p "$cache"
deb="$cache/${kpkg}_$(echo "$kver" | sed 's/:/%3a/')_amd64.deb"
if [ ! -f "$deb" ]; then
	log "downloading $kpkg=$kver"
	# apt-get download writes into the current directory; it warns when
	# the _apt user cannot write there and then downloads as root.
	(cd "$cache" && apt-get -q download "$kpkg=$kver" >&2) ||
		{ apt_update; (cd "$cache" &&
			apt-get -q download "$kpkg=$kver" >&2); } ||
		die "apt-get download $kpkg failed"
	[ -f "$deb" ] || die "download did not produce $deb"
fi

work=$(mktemp -d "$outdir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
kroot=$work/kernel
root=$work/root
dpkg-deb -x "$deb" "$kroot"
kname=$(ls "$kroot/lib/modules")
if [ -z "$kname" ] || [ ! -f "$kroot/boot/vmlinuz-$kname" ]; then
	die "unexpected layout in $deb"
fi
# The package does not ship modules.dep (depmod runs at install time).
depmod -b "$kroot" "$kname"

# 4. Module load order: modprobe prints each module's dependency chain
# first; keep the first occurrence of each.
order=$work/order
: >"$order"
for m in $want_modules; do
	modprobe -d "$kroot" -S "$kname" --show-depends "$m" >"$work/deps" ||
		die "cannot resolve module $m"
	while read -r kind path _rest; do
		[ "$kind" = insmod ] || continue   # "builtin NAME": nothing to do
		grep -qxF "$path" "$order" || echo "$path" >>"$order"
	done <"$work/deps"
done

mkdir -p "$root/lib/modules" "$root/bin" "$root/dev" "$root/proc" \
	"$root/sys" "$root/tmp" "$root/run" "$root/etc"
: >"$root/etc/modules.order"
while read -r path; do
	base=$(basename "$path")
	name=${base%%.ko*}
	case $base in
	*.ko) cp "$path" "$root/lib/modules/$name.ko" ;;
	*.ko.xz) xz -dc "$path" >"$root/lib/modules/$name.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$root/lib/modules/$name.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$name.ko" ;;
	*) die "unknown module format: $path" ;;
	esac
	# Double check with modinfo that every dependency loads earlier.
	deps=$(modinfo -F depends "$path" | tr ',' ' ')
	for d in $deps; do
		grep -qx "$d" "$root/etc/modules.order" ||
			die "$name needs $d before it"
	done
	echo "$name" >>"$root/etc/modules.order"
done <"$order"
log "modules: $(tr '\n' ' ' <"$root/etc/modules.order")"

# 5. Busybox and its applet links (relative, so the tree is relocatable).
cp /bin/busybox "$root/bin/busybox"
"$root/bin/busybox" --list-full | while read -r applet; do
	case $applet in
	bin/busybox) continue ;;
	esac
	dir=$(dirname "$applet")
	mkdir -p "$root/$dir"
	rel=$(echo "$dir" | sed 's|[^/][^/]*|..|g')
	ln -sf "$rel/bin/busybox" "$root/$applet"
done
cp "$here/init.sh" "$root/init"
chmod 0755 "$root/init"
echo "$kpkg $kver $kname" >"$root/etc/vsw-guest-release"
# The kernel opens /dev/console before running /init; without the node
# /init starts with no fds (it recovers after mounting devtmpfs).
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
fi

# 6. Pack: sorted names and fixed times for a reproducible archive.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --reproducible -R 0:0 --quiet) |
	gzip -n -9 >"$work/initrd.img"
cp "$kroot/boot/vmlinuz-$kname" "$work/vmlinuz"
mv "$work/vmlinuz" "$outdir/vmlinuz"
mv "$work/initrd.img" "$outdir/initrd.img"
echo "$stamp" >"$outdir/stamp"
log "built $outdir ($kpkg $kver, initrd $(wc -c <"$outdir/initrd.img") bytes)"
echo "$outdir"

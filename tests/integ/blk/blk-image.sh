#!/bin/sh
# SPDX-License-Identifier: MIT
#
# blk-image.sh BASEDIR OUTDIR
#
# The test-guest image of tests/integ/guest (BASEDIR, from build-guest.sh)
# plus what a block-device test needs: virtio_blk and ext4 (which mounts
# the ext2 that busybox's mke2fs makes) with their dependencies, from the
# same kernel package (build-guest.sh's cache). They go into a second cpio
# archive appended to the initrd (the kernel unpacks both), under
# /lib/modules/blk/ with their load order in /etc/blk.order; the guest
# script loads the ones not yet loaded. OUTDIR gets vmlinuz (a link) and
# initrd.img. Prints OUTDIR.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BASEDIR OUTDIR" >&2
	exit 2
fi
base=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
cache=${VSW_GUEST_CACHE:-$base/cache}
want="virtio_blk ext4"

die() { echo "blk-image: error: $*" >&2; exit 1; }

deb=$(ls "$cache"/linux-image-*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || die "no kernel package in $cache"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
dpkg-deb -x "$deb" "$work/k"
kname=$(ls "$work/k/lib/modules")
depmod -b "$work/k" "$kname"
mkdir -p "$work/root/lib/modules/blk" "$work/root/etc"
: >"$work/root/etc/blk.order"
for m in $want; do
	modprobe -d "$work/k" -S "$kname" --show-depends "$m" >"$work/deps" ||
		die "cannot resolve module $m"
	while read -r kind path _rest; do
		[ "$kind" = insmod ] || continue
		b=$(basename "$path")
		name=${b%%.ko*}
		grep -qxF "$name" "$work/root/etc/blk.order" && continue
		case $b in
		*.ko) cp "$path" "$work/root/lib/modules/blk/$name.ko" ;;
		*.ko.xz) xz -dc "$path" >"$work/root/lib/modules/blk/$name.ko" ;;
		*) die "unknown module format: $path" ;;
		esac
		echo "$name" >>"$work/root/etc/blk.order"
	done <"$work/deps"
done
(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -n >"$work/blk.cpio.gz"
cat "$base/initrd.img" "$work/blk.cpio.gz" >"$out/initrd.img"
ln -sf "$base/vmlinuz" "$out/vmlinuz"
echo "blk-image: modules: $(tr '\n' ' ' <"$work/root/etc/blk.order")" >&2
echo "$out"

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fio-image.sh BLKDIR OUTDIR
#
# The block-device guest image (tests/integ/blk/blk-image.sh's output:
# vmlinuz, initrd.img with virtio_blk) plus the host's fio (Debian package
# fio) with every shared library ldd names and the dynamic loader, at their
# host paths, in a third cpio archive appended to the initrd (the kernel
# unpacks them all). The guest runs /usr/bin/fio like any binary. OUTDIR
# gets vmlinuz (a link) and initrd.img. Prints OUTDIR.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BLKDIR OUTDIR" >&2
	exit 2
fi
base=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
fio=$(command -v fio) || { echo "fio-image: no fio (apt-get install fio)" >&2; exit 1; }

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/root/usr/bin"
cp "$fio" "$work/root/usr/bin/fio"
# "name => /path (addr)" and the loader's "/lib64/ld-linux... (addr)"
ldd "$fio" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
while read -r lib; do
	mkdir -p "$work/root$(dirname "$lib")"
	cp -L "$lib" "$work/root$lib"
done
(cd "$work/root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -n -1 >"$work/fio.cpio.gz"
cat "$base/initrd.img" "$work/fio.cpio.gz" >"$out/initrd.img"
ln -sf "$(readlink -f "$base/vmlinuz")" "$out/vmlinuz"
echo "fio-image: $(find "$work/root" -type f | wc -l) files," \
	"$(du -sm "$work/root" | cut -f1) MiB unpacked" >&2
echo "$out"

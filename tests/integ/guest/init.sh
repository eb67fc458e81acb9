#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the vsw test guest (packed into the initramfs by build-guest.sh).
#
# Configuration comes from the kernel command line (values without spaces):
#   vsw.ip=ADDR/LEN      IPv4 address of eth0 (vsw.ipN= for ethN; vsw.ip0=
#                        is the same as vsw.ip=)
#   vsw.ipv6=ADDR/LEN    IPv6 address of eth0 (vsw.ipv6_N= for ethN).  Without
#                        any vsw.ipv6* IPv6 is disabled, so the guest sends no
#                        router solicitations, MLD or DAD frames of its own.
#   vsw.mtu=N            MTU of every ethN (vsw.mtuN= for ethN alone)
#   vsw.cmd=BASE64       shell script to run once the network is up; a script
#                        in fw_cfg "opt/vsw/cmd" takes precedence (no length
#                        limit: -fw_cfg name=opt/vsw/cmd,file=PATH)
#   vsw.mode=run|daemon  run (default): run the script, then power off.
#                        daemon: run the script, then stay up (pingable)
#                        until QEMU is killed.
#   vsw.linkwait=SEC     how long to wait for carrier on configured ethN
#                        (default 10; not fatal when it stays down)
#
# Console protocol (ttyS0), one marker per line:
#   VSW-GUEST-NET ethN mac=.. mtu=.. state=.. features=..  per interface
#   VSW-GUEST-READY                       network configured
#   VSW-GUEST-BEGIN                       the script's output follows
#   VSW-GUEST-END                         the script has returned
#   VSW-GUEST-EXIT rc=N                   its exit status (125: setup failed)
#   VSW-GUEST-IDLE                        daemon mode, staying up
#   VSW-GUEST-ERROR text                  setup failure (then EXIT rc=125)

export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts

fatal() {
	echo "VSW-GUEST-ERROR $*"
	echo "VSW-GUEST-EXIT rc=125"
	poweroff -f
	# poweroff -f does not return; never let PID 1 exit.
	while :; do sleep 3600; done
}

# param NAME: print the value of NAME= from the kernel command line.
# Called in a subshell: set -f (no globbing of the words) stays local.
param() {
	set -f
	# shellcheck disable=SC2013 # words are wanted, not lines
	for w in $(cat /proc/cmdline); do
		case $w in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

while read -r m; do
	insmod "/lib/modules/$m.ko" || fatal "insmod $m failed"
done </etc/modules.order

ip link set lo up || fatal "lo"
if ! grep -q 'vsw\.ipv6' /proc/cmdline; then
	sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
fi

linkwait=$(param vsw.linkwait) || linkwait=10
configured=""
for d in /sys/class/net/eth*; do
	[ -e "$d" ] || continue
	dev=${d##*/}
	n=${dev#eth}
	mtu=$(param "vsw.mtu$n") || mtu=$(param vsw.mtu) || mtu=""
	addr=$(param "vsw.ip$n") || addr=""
	if [ -z "$addr" ] && [ "$n" = 0 ]; then
		addr=$(param vsw.ip) || addr=""
	fi
	addr6=$(param "vsw.ipv6_$n") || addr6=""
	if [ -z "$addr6" ] && [ "$n" = 0 ]; then
		addr6=$(param vsw.ipv6) || addr6=""
	fi
	if [ -n "$mtu" ]; then
		ip link set "$dev" mtu "$mtu" || fatal "$dev mtu $mtu"
	fi
	ip link set "$dev" up || fatal "$dev up"
	if [ -n "$addr" ]; then
		ip addr add "$addr" dev "$dev" || fatal "$dev addr $addr"
		configured="$configured $dev"
	fi
	if [ -n "$addr6" ]; then
		sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=0"
		ip -6 addr add "$addr6" dev "$dev" nodad ||
			fatal "$dev addr $addr6"
		configured="$configured $dev"
	fi
done

# An address asked for an interface that does not exist is a setup error.
set -f
# shellcheck disable=SC2013 # words are wanted, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vsw.ipv6=* | vsw.ip=*) n=0 ;;
	vsw.ipv6_[0-9]*=*) n=${w%%=*}; n=${n#vsw.ipv6_} ;;
	vsw.ip[0-9]*=*) n=${w%%=*}; n=${n#vsw.ip} ;;
	*) continue ;;
	esac
	[ -e "/sys/class/net/eth$n" ] || fatal "no eth$n for $w"
done
set +f

# Carrier: virtio-net reports it at once unless the backend says otherwise.
i=0
while [ "$i" -lt $((linkwait * 10)) ]; do
	down=0
	for dev in $configured; do
		[ "$(cat "/sys/class/net/$dev/operstate")" = up ] || down=1
	done
	[ $down -eq 0 ] && break
	usleep 100000
	i=$((i + 1))
done

for d in /sys/class/net/eth*; do
	[ -e "$d" ] || continue
	echo "VSW-GUEST-NET ${d##*/} mac=$(cat "$d/address")" \
		"mtu=$(cat "$d/mtu") state=$(cat "$d/operstate")" \
		"features=$(cat "$d/device/features" 2>/dev/null)"
done

cmd=/run/vsw-cmd
fwcfg=/sys/firmware/qemu_fw_cfg/by_name/opt/vsw/cmd/raw
if [ -r "$fwcfg" ]; then
	cat "$fwcfg" >"$cmd" || fatal "fw_cfg read"
elif b64=$(param vsw.cmd); then
	echo "$b64" | base64 -d >"$cmd" || fatal "vsw.cmd: bad base64"
fi

mode=$(param vsw.mode) || mode=run
case $mode in
run | daemon) ;;
*) fatal "vsw.mode=$mode" ;;
esac

echo "VSW-GUEST-READY"
rc=0
if [ -f "$cmd" ]; then
	echo "VSW-GUEST-BEGIN"
	(cd /tmp && exec sh "$cmd" </dev/null)
	rc=$?
	echo "VSW-GUEST-END"
	echo "VSW-GUEST-EXIT rc=$rc"
fi
if [ "$mode" = run ]; then
	[ -f "$cmd" ] || echo "VSW-GUEST-EXIT rc=0"
	poweroff -f
fi
echo "VSW-GUEST-IDLE"
while :; do sleep 3600; done

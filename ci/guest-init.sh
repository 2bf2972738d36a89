#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# init (PID 1) of the test VM started by ci/vm-run.sh.  Mounts the pseudo
# and scratch file systems, runs the command the host wrote to the results
# share (or a shell on the console), stores its exit status there and
# powers off.  The host root is read-only: nothing here writes to it.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root TERM=${TERM:-linux}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /tmp/results /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /tmp/results
HWS_RESULTS=/tmp/results
# tag:path,... : host directories shared again over what the tmpfs mounts
# above hide (a checkout below /tmp).
for m in $(echo "$HWS_MOUNTS" | tr ',' ' '); do
	mkdir -p "${m#*:}" 2>/dev/null
	mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose,msize=512000 "${m%%:*}" "${m#*:}" ||
		echo "guest-init: cannot mount ${m%%:*} on ${m#*:}"
done
export HWS_RESULTS HWS_ACCEL HWS_HOST HWS_MOUNTS
hostname damon-vm

rc=1
if [ -n "$HWS_COMMAND" ] && [ -r "$HWS_RESULTS/command" ]; then
	# One argument a line.
	set --
	while IFS= read -r arg; do
		set -- "$@" "$arg"
	done < "$HWS_RESULTS/command"
	echo "guest-init: running $*"
	"$@"
	rc=$?
	echo "guest-init: exit status $rc"
else
	echo "guest-init: interactive shell; 'exit' powers off"
	setsid sh -c 'exec sh -l </dev/ttyS0 >/dev/ttyS0 2>&1'
	rc=0
fi
echo "$rc" > "$HWS_RESULTS/exit-status"
sync
umount /tmp/results 2>/dev/null
busybox poweroff -f

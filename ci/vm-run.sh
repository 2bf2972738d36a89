#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: vm-run.sh [options] [--] [COMMAND [ARG...]]
#
# Boot the test kernel in QEMU with the host root shared read-only over 9p
# and run COMMAND (a path valid on the host) inside the guest as root.  With
# no COMMAND, start an interactive shell on the console.  The exit status is
# COMMAND's (as written by the guest to the results share); a guest that
# crashes, hangs past the timeout or never reports gives $KSFT_FAIL.
#
# Options:
#   -k KERNEL    bzImage (default: $BUILD/kernel/arch/x86/boot/bzImage)
#   -c CPUS      -smp (default 2)
#   -m MEM       memory in MiB (default 2048)
#   -n NODES     NUMA nodes; memory and CPUs are split evenly (default 1)
#   -t SECONDS   hard timeout (default 900)
#   -r DIR       results directory, the guest's writable share (default:
#                $RESULTS/vm); it is emptied first
#   -a ARGS      extra kernel command line
#
# In the guest: / is the host root (read-only), /tmp and /run are tmpfs,
# the results share is at /tmp/results ($HWS_RESULTS), and tracefs/debugfs
# are mounted.  The console log is saved as <results>/console.log.
#
# KVM is probed once per host boot with a short timeout; on these machines
# /dev/kvm can exist while guests hang, so the fallback is TCG.
#
# Dependencies: qemu-system-x86, busybox-static (guest power-off).

set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=$BUILD/kernel/arch/x86/boot/bzImage
cpus=2 mem=2048 nodes=1 tmo=900 results=$RESULTS/vm extra=""

usage() { sed -n '4,30p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while getopts "k:c:m:n:t:r:a:h" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	c) cpus=$OPTARG ;;
	m) mem=$OPTARG ;;
	n) nodes=$OPTARG ;;
	t) tmo=$OPTARG ;;
	r) results=$OPTARG ;;
	a) extra=$OPTARG ;;
	h) usage 0 ;;
	*) usage "$KSFT_FAIL" ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift

[ -r "$kernel" ] || die "no kernel at $kernel: run 'make kernel'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || die "busybox missing (apt-get install busybox-static)"

# Print "kvm" when a KVM guest really runs here, else "tcg".  The answer is
# cached for this host boot.  A working KVM guest prints its banner within
# a second or two and reaches the root mount soon after; where /dev/kvm
# exists but guests do not run (this reference machine: SeaBIOS starts,
# the kernel never prints) the probe gives up after 10 s without a banner
# instead of waiting out the 40 s bound for a slow but working boot.
probe_accel() {
	local cache=$CACHE/accel.$(cat /proc/sys/kernel/random/boot_id) log pid i exited

	if [ -f "$cache" ]; then
		cat "$cache"
		return
	fi
	mkdir -p "$CACHE"
	echo tcg > "$cache.tmp"
	if [ -w /dev/kvm ]; then
		log=$(mktemp)
		qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nic none \
			-nographic -no-reboot -kernel "$kernel" \
			-append "console=ttyS0 panic=-1 root=/dev/nonexistent" \
			> "$log" 2>&1 < /dev/null &
		pid=$!
		for ((i = 0; i < 80; i++)); do
			# Read the log after seeing QEMU alive or gone, so that
			# what a guest printed just before QEMU ended counts.
			exited=0
			kill -0 "$pid" 2>/dev/null || exited=1
			# Reaching the root mount attempt proves the guest executes.
			if grep -q 'VFS: Cannot open root device\|Kernel panic' "$log"; then
				echo kvm > "$cache.tmp"
				break
			fi
			if [ "$exited" = 1 ] ||
			   { [ "$i" -ge 20 ] && ! grep -q 'Linux version' "$log"; }; then
				break
			fi
			sleep 0.5
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$log"
	fi
	mv "$cache.tmp" "$cache"
	cat "$cache"
}

numa_args() {
	local i per_mem=$((mem / nodes)) per_cpu=$((cpus / nodes)) first last

	[ "$nodes" -gt 1 ] || return 0
	[ $((cpus % nodes)) -eq 0 ] || die "-c $cpus is not a multiple of -n $nodes"
	for ((i = 0; i < nodes; i++)); do
		first=$((i * per_cpu)) last=$(((i + 1) * per_cpu - 1))
		printf -- '-object memory-backend-ram,id=mem%d,size=%dM ' "$i" "$per_mem"
		printf -- '-numa node,nodeid=%d,cpus=%d-%d,memdev=mem%d ' "$i" "$first" "$last" "$i"
	done
}

accel=$(probe_accel)
case $accel in
kvm) accel_args=(-accel kvm -cpu host) ;;
*) accel_args=(-accel tcg,thread=multi -cpu max) ;;
esac

rm -rf "$results"
mkdir -p "$results"
results=$(cd "$results" && pwd)

# loglevel=5: the console (console.log, what the verdict reads when the
# guest hung or panicked before saving dmesg) gets KERN_WARNING and the
# default level too: WARN, lockdep and hung-task reports and their stack
# traces.  KERN_INFO (KUnit's KTAP) stays off the slow serial console.
cmdline="console=ttyS0 panic=-1 log_buf_len=16M loglevel=5"
cmdline+=" root=/dev/root rootfstype=9p ro"
cmdline+=" rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=512000"
cmdline+=" init=$PROJ_ROOT/ci/guest-init.sh"
# Unknown parameters without a dot reach init as environment variables.
cmdline+=" HWS_ACCEL=$accel HWS_HOST=$(host_key)"
# The guest mounts a tmpfs on /tmp and /run: share the checkout (and a
# build or kernel directory outside it) again so that a checkout below
# /tmp stays visible at the same path.
share_args=()
mounts=
add_share() {
	local tag=$1 dir
	dir=$(cd "$2" && pwd) || die "cannot share $2"
	case $dir in *[[:space:],:]*) die "cannot share a path with blanks, commas or colons: $dir" ;; esac
	case $mounts, in *":$dir,"*) return ;; esac
	share_args+=(-fsdev "local,id=$tag,path=$dir,security_model=none,readonly=on,multidevs=remap"
		     -device "virtio-9p-pci,fsdev=$tag,mount_tag=$tag")
	mounts+=${mounts:+,}$tag:$dir
}
add_share proj "$PROJ_ROOT"
case $BUILD/ in "$PROJ_ROOT"/*) ;; *) [ -d "$BUILD" ] && add_share build "$BUILD" ;; esac
case $KTREE/ in "$PROJ_ROOT"/*) ;; *) [ -d "$KTREE" ] && add_share ktree "$KTREE" ;; esac
cmdline+=" HWS_MOUNTS=$mounts"
if [ $# -gt 0 ]; then
	# The guest's working directory is /: make a relative program absolute.
	case $1 in
	/*) ;;
	*/*) [ -e "$1" ] && set -- "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" "${@:2}" ;;
	esac
	printf '%s\n' "$@" > "$results/command"
	cmdline+=" HWS_COMMAND=1"
fi
cmdline+=" $extra"

# One socket per NUMA node: CPUs that share a socket (an LLC) on different
# nodes make the guest WARN in topology_sane().
[ $((cpus % nodes)) -eq 0 ] || die "-c $cpus is not a multiple of -n $nodes"
smp="$cpus,sockets=$nodes,cores=$((cpus / nodes)),threads=1"
qemu=(qemu-system-x86_64 "${accel_args[@]}" -smp "$smp" -m "${mem}M"
      $(numa_args) -nographic -no-reboot -nic none -kernel "$kernel" -append "$cmdline"
      -fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"
      -device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
      -fsdev "local,id=res,path=$results,security_model=none,multidevs=remap"
      -device virtio-9p-pci,fsdev=res,mount_tag=results "${share_args[@]}")

info "booting $(basename "$kernel") ($accel, $cpus CPUs, ${mem} MiB, $nodes node(s), timeout ${tmo}s)"
if [ $# -eq 0 ]; then
	# Interactive: the console is this terminal.
	"${qemu[@]}"
	exit 0
fi

start=$(date +%s)
rc=0
timeout --kill-after=10 "$tmo" "${qemu[@]}" < /dev/null > "$results/console.log" 2>&1 || rc=$?
info "guest ran $(($(date +%s) - start))s"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	tail -n 30 "$results/console.log" >&2
	die "guest did not finish within ${tmo}s"
fi
if [ ! -f "$results/exit-status" ]; then
	tail -n 40 "$results/console.log" >&2
	die "guest stopped without reporting an exit status (crash or panic?)"
fi
exit "$(cat "$results/exit-status")"

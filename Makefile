# SPDX-License-Identifier: GPL-2.0
# DAMON hardware-sampled access reports: entry points.
#
#   make demo          provision, build, boot a VM and show DAMON at work
#   make check         everything: static checks, KUnit, selftests, drgn
#   make check-kasan   make check's VM tests on a KASAN + fault injection
#                      kernel (results/kasan/); not in CI: see testing.md
#   make check-kcsan   the same on a KCSAN kernel (results/kcsan/)
#   make bench         the benchmarks of Documentation/benchmarks.md: build
#                      the benchmark kernel, run them in a VM, regenerate
#                      the document's tables and plots from the results
#   make soak          the soak test selftests/damon_soak for DURATION=
#                      seconds (default 3600) in the VM (results/soak/);
#                      SOAK_BOOTS=n fresh boots, SOAK_PROFILE=kasan|kcsan
#                      on a debug profile's kernel (results/soak-<profile>/)
#   make mutants       seeded defects: build the test kernel with each patch
#                      of ci/mutants/ and record whether the suite kills
#                      it, then regenerate Documentation/mutants.md (not in
#                      make check; about 4 minutes a mutant); MUTANTS="a b"
#                      runs only those
#   make kselftest-base  run upstream's DAMON kselftests on the unpatched
#                      base kernel (test kernel configuration) and write
#                      their failures to ci/kselftest-damon-base-failures,
#                      which make check's verdict reads (not in make check)
#   make hw-report     on a host running a kernel with the series, as root:
#                      the checklist of each sampling PMU found (Intel PEBS,
#                      AMD IBS Op, ibs_mprof) or EVENT=<pmu>:<config>..., as
#                      a plain-text report in results/hw-report.txt
#   make kernel-tree   provision kernel-tree/ (base + patches/)
#   make kernel        build the test kernel into build/kernel
#   make selftests     build the C++ selftests into build/selftests
#   make export        regenerate patches/ from kernel-tree/ (base..series)
#   make vm            interactive shell in the test VM
#   make static-checks only the static checks of the series
#   make posting       prepare the series for posting as SUBMITTER_NAME=
#                      SUBMITTER_EMAIL= into build/posting (sends nothing;
#                      Documentation/posting.md)
#   make clean         remove build/ and results/ (kernel-tree/ stays)
#   make deps          only install the missing Debian packages
#                      (ci/install-deps.sh; every target above needing them
#                      runs it first)
#   make help          this text
# Variables (make VAR=value ..., or in the environment):
#   BUILD=dir RESULTS=dir  build and results directories (default build/,
#                      results/); JOBS=n  parallel kernel build jobs
#   KERNEL_GIT=url KERNEL_REF=ref  base from a git tree instead of Debian's
#                      linux-source package (make kernel-tree)
#   SMP=n MEM=MiB NODES=n  the guest of make vm (default 2, 2048, 1)
#   SUBMITTER_NAME= SUBMITTER_EMAIL=  who posts (make posting);
#                      RUN_CHECKS=1  make posting runs make check first;
#                      UPSTREAM_BASE=commit  base-commit: of upstream
#                      v7.3.4; SERIES_VERSION=n  "RFC PATCH vN" (make
#                      posting, make export)
#   BENCH_KERNEL=bench|test BENCH_RUNS=n BENCH_SMOKE=n BENCH_RATES="r ..."
#                      BENCH_CPUS= BENCH_MEM= BENCH_NODES=  make bench
#                      (ci/bench.sh)
#   DURATION=s SOAK_SEED=n SOAK_BOOTS=n SOAK_PROFILE=kasan|kcsan  make soak
#                      (ci/soak.sh)
#   EVENT=<pmu>:<config>[:<config1>[:<precise_ip>]]  make demo and make
#                      hw-report with a real PMU
#   STATIC_CHECKS="check_x ..."  only these static checks (not cached)
#   VM_LOCK=file       flock this file around each VM run (make check,
#                      make soak); VM_TIMEOUT=s  make check's guest timeout
#   UPSTREAM_KSELFTESTS=0  make check without upstream's DAMON kselftests
#                      (about 15 minutes under TCG); =1 on a debug profile
#   DAMON_HWS_CACHE=dir CCACHE_DIR=dir  download/base cache and ccache
#                      (default ~/.cache/damon-hwsample, ~/.cache/ccache)
# Documentation/harness.md: which script does what; Documentation/testing.md:
# the checks, where to add a test, and the measured times.

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD ?= $(ROOT)/build
RESULTS ?= $(ROOT)/results
export BUILD RESULTS KERNEL_GIT KERNEL_REF JOBS
export SUBMITTER_NAME SUBMITTER_EMAIL RUN_CHECKS UPSTREAM_BASE SERIES_VERSION
export BENCH_KERNEL BENCH_RUNS EVENT DURATION SOAK_SEED SOAK_BOOTS SOAK_PROFILE

SMP ?= 2
MEM ?= 2048
NODES ?= 1

.PHONY: help demo check check-kasan check-kcsan bench soak mutants kselftest-base hw-report deps kernel-tree kernel \
	selftests export vm \
	static-checks posting clean

help:
	@sed -n '2,/^$$/p' Makefile | sed -e '/^$$/d' -e 's/^# \{0,1\}//'

deps:
	@ci/install-deps.sh

kernel-tree: deps
	@ci/provision.sh

kernel: kernel-tree
	@ci/build-kernel.sh

selftests: kernel-tree
	@ci/build-selftests.sh

export:
	@ci/export-series.sh

static-checks: kernel selftests
	@mkdir -p $(RESULTS)/ktap
	@ci/static-checks.sh $(RESULTS)/ktap/static.ktap

vm: kernel
	@ci/vm-run.sh -c $(SMP) -m $(MEM) -n $(NODES)

demo: kernel-tree
	@ci/demo.sh

check:
	@ci/check.sh

check-kasan:
	@CHECK_PROFILE=kasan ci/check.sh

check-kcsan:
	@CHECK_PROFILE=kcsan ci/check.sh

bench: kernel-tree
	@ci/bench.sh

soak: kernel-tree
	@ci/soak.sh

mutants: kernel-tree
	@ci/mutants.sh $(MUTANTS)

kselftest-base: kernel
	@ci/kselftest-base.sh

# Runs on the host, not in the VM; needs no kernel tree.
hw-report:
	@ci/hw-report.sh

# Not on kernel-tree: provisioning would re-apply patches/ over commits not
# yet exported; ci/prepare-posting.sh refuses when the two disagree.
posting: deps
	@ci/prepare-posting.sh

clean:
	rm -rf $(BUILD) $(RESULTS)

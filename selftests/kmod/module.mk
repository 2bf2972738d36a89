# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of one test module (the directory make runs in:
# test_damon_report/, damon_test_pmu/ or test_damon_bench/) against a
# kernel build directory, for building it by hand:
#   make -C selftests/<module> KBUILD_OUTPUT_DIR=<kernel build dir> [MO=<output dir>]
# selftests/Makefile builds the modules itself, under the global kernel
# build lock; by hand, take that lock when other builds may run:
#   flock ~/.cache/damon-hwsample/kernel-build.lock make -C selftests/<module>

KBUILD_OUTPUT_DIR ?= $(abspath $(CURDIR)/../../build/kernel)

all:
	$(MAKE) -C $(KBUILD_OUTPUT_DIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) W=1 modules

clean:
	$(MAKE) -C $(KBUILD_OUTPUT_DIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) clean

.PHONY: all clean

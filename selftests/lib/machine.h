/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What machine a benchmark ran on, for its results: the CPU model, the
 * accelerator of the test VM and the kernel release.
 */
#ifndef DAMON_HWS_MACHINE_H
#define DAMON_HWS_MACHINE_H

#include <string>

namespace machine {

/* The first "model name" of /proc/cpuinfo, or "unknown". */
std::string cpu_model();

/*
 * "tcg" or "kvm" as the test VM says ($HWS_ACCEL, or HWS_ACCEL= on the
 * kernel command line); "unknown" elsewhere.
 */
std::string accelerator();

/*
 * The host the test VM runs on, as ci/lib.sh host_key() names it
 * ($HWS_HOST or HWS_HOST= on the kernel command line); "unknown" elsewhere.
 */
std::string host();

/* uname -r, or "unknown". */
std::string kernel_release();

/*
 * "KASAN" or "KCSAN" when the running kernel is built with that sanitizer
 * (its compiler hooks are in /proc/kallsyms), else "".  Both slow the
 * kernel down severalfold, so timing goals do not apply there.
 */
std::string sanitizer();

} /* namespace machine */

#endif /* DAMON_HWS_MACHINE_H */

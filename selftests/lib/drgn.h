/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running the drgn scripts of drgn-scripts/ from the C++ selftests.
 *
 * The scripts read the live kernel (drgn -c /proc/kcore -s vmlinux) and
 * write JSON with -o FILE.  Environment:
 *   DAMON_HWS_VMLINUX      path of the running kernel's vmlinux (required)
 *   DAMON_HWS_DRGN_DIR     directory of the scripts
 *                          (default: ../../drgn-scripts from the program)
 */
#ifndef DAMON_HWS_DRGN_H
#define DAMON_HWS_DRGN_H

#include "ktap.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace drgn {

/* A temporary file, removed when this goes out of scope. */
class temp_file {
public:
	temp_file();
	temp_file(const temp_file &) = delete;
	temp_file &operator=(const temp_file &) = delete;
	~temp_file();
	/* Empty when the file could not be created. */
	const std::string &path() const { return path_; }

private:
	std::string path_;
};

/* Directory of this program (from /proc/self/exe), "." if unknown. */
std::string exe_dir();

/* Directory of the drgn scripts. */
std::string script_dir();

/*
 * Why the scripts cannot run here, or "" when they can; then @vmlinux is
 * the vmlinux to pass.  For ktap::exit_skip().
 */
std::string unavailable(std::string &vmlinux);

/*
 * Run drgn-scripts/@script with @args plus "-o <file>" and parse what it
 * wrote into @out.  On failure, drgn's output goes to @t as diagnostics.
 */
bool run_json(const ktap::writer &t, const std::string &vmlinux,
	      const std::string &script, const std::vector<std::string> &args,
	      nlohmann::json &out);

} /* namespace drgn */

#endif /* DAMON_HWS_DRGN_H */

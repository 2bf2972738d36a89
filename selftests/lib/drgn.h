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

#include <sys/types.h>

#include <chrono>
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

/* The command line that runs drgn-scripts/@script with @args. */
std::vector<std::string> command(const std::string &vmlinux,
				 const std::string &script,
				 const std::vector<std::string> &args);

/*
 * A program that answers requests, such as a drgn script run with
 * --serve: it prints "ready" once it can answer (drgn has loaded the debug
 * info, which takes up to a minute in a TCG guest), then one JSON object
 * a line for each line written to it.  Construction starts it (@argv, from
 * command() for a script) and ignores SIGPIPE from then on (a server that
 * died must not kill the test); the destructor closes its input and reaps
 * it (SIGKILL after 10 s).
 */
class server {
public:
	explicit server(const std::vector<std::string> &argv);
	server(const server &) = delete;
	server &operator=(const server &) = delete;
	~server();

	/* Has it said "ready"?  Waits up to @timeout for it. */
	bool ready(std::chrono::milliseconds timeout);
	/*
	 * One answer, within @timeout; false (its stderr as diagnostics of
	 * @t) when it did not come or is no JSON object.
	 */
	bool request(const ktap::writer &t, nlohmann::json &out,
		     std::chrono::milliseconds timeout);

private:
	pid_t pid = -1;
	int to_fd = -1, from_fd = -1;
	bool is_ready = false, dead = false;
	std::string pending;
	temp_file errors;

	bool read_line(std::string &line, std::chrono::milliseconds timeout);
	void show_errors(const ktap::writer &t) const;
};

} /* namespace drgn */

#endif /* DAMON_HWS_DRGN_H */

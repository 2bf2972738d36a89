// SPDX-License-Identifier: GPL-2.0
/*
 * Running the drgn scripts from the C++ selftests.  See drgn.h.
 */
#include "drgn.h"

#include "workload.h"

#include <climits>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace drgn {

temp_file::temp_file()
{
	char tmpl[] = "/tmp/damon_drgn.XXXXXX";
	int fd = mkstemp(tmpl);

	if (fd >= 0) {
		close(fd);
		path_ = tmpl;
	}
}

temp_file::~temp_file()
{
	if (!path_.empty())
		unlink(path_.c_str());
}

std::string exe_dir()
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	std::string dir;

	if (n <= 0)
		return ".";
	self[n] = '\0';
	dir = self;
	return dir.substr(0, dir.rfind('/'));
}

std::string script_dir()
{
	const char *env = std::getenv("DAMON_HWS_DRGN_DIR");

	if (env)
		return env;
	return exe_dir() + "/../../drgn-scripts";
}

std::string unavailable(std::string &vmlinux)
{
	const char *env = std::getenv("DAMON_HWS_VMLINUX");

	if (access("/usr/bin/drgn", X_OK) && access("/usr/local/bin/drgn", X_OK))
		return "drgn not installed";
	if (!env || access(env, R_OK))
		return "DAMON_HWS_VMLINUX does not name a readable vmlinux";
	if (access("/proc/kcore", R_OK))
		return "no /proc/kcore (CONFIG_PROC_KCORE)";
	vmlinux = env;
	return "";
}

bool run_json(const ktap::writer &t, const std::string &vmlinux,
	      const std::string &script, const std::vector<std::string> &args,
	      nlohmann::json &out)
{
	const std::string path = script_dir() + "/" + script;
	temp_file json_file, log;
	std::vector<const char *> argv = {
		"drgn", "-q", "-c", "/proc/kcore", "-s", vmlinux.c_str(),
		path.c_str(),
	};
	int ret;

	if (json_file.path().empty() || log.path().empty()) {
		t.diag("cannot create temporary files");
		return false;
	}
	for (const std::string &a : args)
		argv.push_back(a.c_str());
	argv.push_back("-o");
	argv.push_back(json_file.path().c_str());
	argv.push_back(nullptr);

	ret = workload::run_command(argv.data(), log.path().c_str(), 300);
	if (ret) {
		std::ifstream l(log.path());
		std::string line;

		t.diagf("drgn %s exited with %d", script.c_str(), ret);
		while (std::getline(l, line))
			t.diag("drgn: " + line);
		return false;
	}
	std::ifstream f(json_file.path());
	out = nlohmann::json::parse(f, nullptr, false);
	if (out.is_discarded() || !out.is_object()) {
		t.diagf("drgn %s wrote no JSON object", script.c_str());
		return false;
	}
	return true;
}

} /* namespace drgn */

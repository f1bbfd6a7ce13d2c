// What sockets a process has open, read from /proc, and whether another user
// can connect to a Unix socket: for the tests of who else on the machine can
// reach a run (docs/SAFETY.md, "Who else is on the machine").
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hyperdefrag::testing {

// The inodes of the sockets `pid` has open (its /proc/<pid>/fd links).
std::set<unsigned long> socket_inodes(pid_t pid);

// `pid` and all its descendants.
std::vector<pid_t> with_descendants(pid_t pid);

// The TCP and UDP sockets (IPv4 and IPv6) among `inodes`, one line each as
// /proc/net/<table> shows it, prefixed with the table's name.
std::vector<std::string> inet_sockets(const std::set<unsigned long>& inodes);

// The names of the Unix sockets among `inodes`: a path, or "@name" for an
// abstract address; unnamed ones are left out.
std::set<std::string> unix_socket_names(const std::set<unsigned long>& inodes);

// Connects to the Unix socket `name` (a path or "@abstract") from a forked
// child running as the user nobody. Returns 0 if the connection was made,
// else the errno of connect(); nothing if this process cannot become nobody
// (not root, or no such user).
std::optional<int> connect_as_nobody(const std::string& name);

// The same as this process's own user; 0 if connected, else errno.
int connect_as_self(const std::string& name);

}  // namespace hyperdefrag::testing

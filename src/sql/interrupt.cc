#include "sql/interrupt.h"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>

#include "util/error.h"

namespace hyperdefrag::sql {
namespace {

constexpr std::size_t kMaxConnections = 64;
std::array<std::atomic<PGcancel*>, kMaxConnections> g_cancels{};
std::atomic<int> g_signal{0};

extern "C" void on_signal(int signal_number) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, signal_number);
  for (auto& slot : g_cancels) {
    if (PGcancel* cancel = slot.load()) {
      char buffer[256];
      // PQcancel is documented as safe to call from a signal handler.
      PQcancel(cancel, buffer, sizeof buffer);
    }
  }
}

}  // namespace

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: waits return EINTR and see the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed terminal or ssh session: a long run must still clean up.
  sigaction(SIGHUP, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);
}

int interrupted() { return g_signal.load(); }

void reset_interrupted() { g_signal.store(0); }

void throw_if_interrupted() {
  const int signal_number = interrupted();
  if (signal_number == 0) return;
  const auto code = signal_number == SIGTERM  ? ExitCode::interrupted_term
                    : signal_number == SIGHUP ? ExitCode::interrupted_hup
                                              : ExitCode::interrupted_int;
  throw Error(
      code, fmt::format("interrupted by {}", sigabbrev_np(signal_number)
                                                 ? fmt::format("SIG{}", sigabbrev_np(signal_number))
                                                 : std::to_string(signal_number)));
}

void register_cancel(PGcancel* cancel) {
  for (auto& slot : g_cancels) {
    PGcancel* empty = nullptr;
    if (slot.compare_exchange_strong(empty, cancel)) return;
  }
  // More open connections than slots: this one cannot be cancelled by a
  // signal, but the flag is still checked before every statement.
}

void unregister_cancel(PGcancel* cancel) {
  for (auto& slot : g_cancels) {
    PGcancel* expected = cancel;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

}  // namespace hyperdefrag::sql

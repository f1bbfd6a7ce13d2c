// Ctrl-C, SIGTERM and SIGHUP: the handler records the signal and cancels the statement
// running on every open connection, so that the code waiting on it returns and
// unwinds through its destructors (which stop the engine and remove
// temporaries). Nothing else happens inside the signal handler.
#pragma once

#include <libpq-fe.h>

namespace hyperdefrag::sql {

// Installs handlers for SIGINT, SIGTERM and SIGHUP (without SA_RESTART, so blocking
// waits return EINTR) and ignores SIGPIPE. Call once, from main.
void install_signal_handlers();

// The signal that asked us to stop, or 0.
int interrupted();

// Throws hyperdefrag::Error with exit code 128 + signal if a signal arrived.
void throw_if_interrupted();

// Lets the handler cancel the statement running on a connection. A slot is
// held from register to unregister; at most a fixed number are open at once.
void register_cancel(PGcancel* cancel);
void unregister_cancel(PGcancel* cancel);

// For tests: forget a recorded signal.
void reset_interrupted();

}  // namespace hyperdefrag::sql

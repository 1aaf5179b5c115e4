// The tracker's event log: one line per event an operator should see (a board joined, lost,
// back or quarantined; a client's batch queued or done), each with a severity.
//
// The tracker library does not log by itself: it hands each line to an injected EventLog. The
// host decides where lines go and which it keeps: `fleettune tracker` feeds them to its spdlog
// logger (tuner/cli/logging.h), the embedded fleet of `fleettune tune` demotes them to debug,
// and tests collect them in a vector. So the library has no global logger state to set up in
// tests, and one library serves hosts with different logging policies.
#ifndef FLEETTUNE_TRACKER_EVENT_LOG_H_
#define FLEETTUNE_TRACKER_EVENT_LOG_H_

#include <functional>
#include <string>

namespace fleettune::tracker {

enum class EventSeverity {
  kDebug,    // routine detail: a client's batch queued or done
  kInfo,     // the fleet changed: a board joined, left or came back
  kWarning,  // something went wrong: a board silent, past its lease, or quarantined
};

// Receives one line (no trailing newline) per event. The tracker calls it from its threads,
// some holding the scheduler's mutex: it must be thread-safe, must not block, and must not
// call into the tracker. Empty: no log.
using EventLog = std::function<void(EventSeverity severity, const std::string& line)>;

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_EVENT_LOG_H_

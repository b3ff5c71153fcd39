// TaskClock: the process manager that turns time into task events. Each pass, at the clock's
// now, it asks TaskService for
// - the open recurring occurrences whose due date has come and that have no next one: each
//   gets its next occurrence (TaskService::Recur);
// - the open tasks whose reminder time (dueDate − reminderDaysBefore days) has come and that
//   were not reminded: each gets TaskReminderDue (TaskService::Remind).
// Each is decided under the stream's lock, which checks again, so two passes racing, or a pass
// after a restart (the write model is folded from the log on Load), append nothing twice. A
// next occurrence is due after the pass's now (domain/task.h), so a pass creates at most one
// occurrence per series, however far behind the series is.
//
// Thread-safety: Start/Stop from one thread; Changed and RunOnce from any (RunOnce is not
// reentrant: tests call it with the thread stopped).
#pragma once

#include <chrono>

#include "commands/task_service.h"
#include "commands/wake_loop.h"
#include "domain/error.h"
#include "domain/time.h"

namespace keel {

class TaskClock final {
 public:
  struct Options {
    // Between two passes when nothing wakes it: how late a recurrence or a reminder may be.
    std::chrono::milliseconds poll_interval{1000};
  };

  TaskClock(TaskService& tasks, Clock& clock, Options options);
  ~TaskClock();  // Stop()s
  TaskClock(const TaskClock&) = delete;
  TaskClock& operator=(const TaskClock&) = delete;

  void Start();
  void Stop();
  // A task changed: the thread makes a pass soon.
  void Changed();
  // One pass; the first failure is returned (the others still ran).
  Status RunOnce();

 private:
  TaskService& tasks_;
  Clock& clock_;
  const Options options_;
  WakeLoop loop_;  // last: its thread uses the members above
};

}  // namespace keel

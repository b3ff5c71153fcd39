#include "commands/task_clock.h"

#include "infra/log.h"

namespace keel {

TaskClock::TaskClock(TaskService& tasks, Clock& clock, Options options)
    : tasks_(tasks),
      clock_(clock),
      options_(options),
      loop_(options_.poll_interval, [this] { (void)RunOnce(); }) {}

TaskClock::~TaskClock() { Stop(); }

void TaskClock::Start() { loop_.Start(); }
void TaskClock::Stop() { loop_.Stop(); }
void TaskClock::Changed() { loop_.Wake(); }

Status TaskClock::RunOnce() {
  Status first;
  auto run = [&](const std::string& id, std::string_view what,
                 void (TaskService::*command)(std::string, CommandMeta, TaskService::Done)) {
    if (loop_.stopping()) return;
    CommandMeta meta;
    meta.actor = "system:task-clock";
    auto out = AwaitTaskCommand(
        [&](TaskService::Done done) { (tasks_.*command)(id, meta, std::move(done)); });
    if (out) return;
    Log(LogLevel::kWarn, std::string(what), {{"task", id}, {"error", out.error().message}});
    if (first) first = Fail(out.error());
  };
  const Millis now = clock_.NowMillis();
  for (const auto& id : tasks_.DueToRecur(now)) run(id, "task not recurred", &TaskService::Recur);
  for (const auto& id : tasks_.DueToRemind(now)) {
    run(id, "task reminder not appended", &TaskService::Remind);
  }
  return first;
}

}  // namespace keel

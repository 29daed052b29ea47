"""Capsule's Python SDK: mark functions as tasks; calling a task runs it in a new sandbox.

    from capsule import task

    @task(name="analyze", compute="MEDIUM", ram="256MB", timeout="30s", max_retries=1)
    def analyze(rows: list) -> dict:
        return {"count": len(rows)}

Options are checked by the host (which does not trust them): a bad value fails the run with
``invalid_task``. Calling a task from another task returns the child's result envelope as a dict:
``{"success": ..., "result": ..., "error": ..., "execution": {...}}``.
"""

import functools

__all__ = ["task", "TaskFunction", "attempt"]

_OPTION_NAMES = (
    "name",
    "compute",
    "ram",
    "timeout",
    "max_retries",
    "allowed_files",
    "allowed_hosts",
    "env_variables",
)

# name -> TaskFunction, filled as the program's module is imported.
_registry = {}
# Names declared twice; the host reports them as invalid_task.
_duplicates = []
# Set by the harness: which attempt of the running task this is (0 = first, 1 = first retry, ...).
_attempt = 0
# Set by the harness: a callable(task_function, args, kwargs) -> envelope dict.
_caller = None


class TaskFunction:
    """A function marked with @task. Calling it schedules it on the host as a sub-task."""

    def __init__(self, fn, options):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.options = options
        self.name = options.get("name") or fn.__name__

    def __call__(self, *args, **kwargs):
        if _caller is None:
            raise RuntimeError("capsule: tasks can only be called while a task runs")
        return _caller(self, args, kwargs)

    def __repr__(self):
        return "<capsule task %r>" % (self.name,)


def task(fn=None, /, **options):
    """Marks a function as a task. Use as ``@task`` or ``@task(name=..., compute=..., ...)``."""

    def mark(f):
        if not callable(f):
            raise TypeError("@task must decorate a function, got %r" % (f,))
        tf = TaskFunction(f, dict(options))
        if tf.name in _registry:
            _duplicates.append(tf.name)
        _registry[tf.name] = tf
        return tf

    if fn is not None:
        return mark(fn)
    return mark


def attempt():
    """Which attempt of the running task this is: 0 for the first, 1 for the first retry, and so on."""
    return _attempt

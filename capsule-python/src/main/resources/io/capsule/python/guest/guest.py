"""The harness inside every Python sandbox instance.

The host calls run(request) twice per instance. The "prepare" call gets the entry module's code ready
without running any of it: unmarshalled from the host's copy (which an instance of its own made in a
"compile" call) or compiled. The "run" call loads the program, finds the task, reports the task's
options to the host (which decides the limits), runs it, and returns the outcome as JSON. Only the run
call is charged to the task's fuel.
Host calls (option reports, sub-tasks) travel on file descriptor 0, one JSON line each way.
"""

import binascii
import importlib
import json
import marshal
import os
import sys
import types

import capsule
import capsule._net

# Imported once, before the warm-start snapshot is taken, so that tasks importing them start as fast as
# tasks importing nothing. (A failed import here only costs the task the time to import it itself.)
_PRELOAD = (
    "asyncio", "base64", "collections", "csv", "dataclasses", "datetime", "decimal", "enum", "fractions",
    "functools", "hashlib", "io", "itertools", "math", "random", "re", "statistics", "string",
    "textwrap", "traceback", "typing", "uuid",
)
sys.dont_write_bytecode = True
for _name in _PRELOAD:
    try:
        importlib.import_module(_name)
    except Exception:
        pass

_HOST_FD = 0
# The task's request and the entry module's code, between the two calls of run().
_prepared = None
# Where the host mounts the program (its project directory) and runs the task.
_APP = "/guest/app"


class _Failure(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _host_call(message):
    data = (json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
    view = memoryview(data)
    while view:
        written = os.write(_HOST_FD, view)
        view = view[written:]
    chunks = []
    while True:
        chunk = os.read(_HOST_FD, 1 << 16)
        if not chunk:
            raise RuntimeError("capsule: the host did not answer")
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return json.loads(b"".join(chunks))


capsule._net.install(_host_call)

# What every task starts with, done once here rather than in each task: line-buffered output, no
# environment (the host grants it per task), the program's directory as working directory and first on
# sys.path. No import follows, so no finder has cached that directory's (empty) listing.
sys.stdout.reconfigure(line_buffering=True)
sys.stderr.reconfigure(line_buffering=True)
os.environ.clear()
os.chdir(_APP)
sys.path.insert(0, _APP)

# Everything loaded so far lives in the warm snapshot. Freezing it keeps the cyclic GC from walking (and
# so writing to, i.e. copying, every page of) the snapshot in each task.
import gc

gc.collect()
gc.freeze()


def _call_task(tf, args, kwargs):
    return _host_call({
        "op": "call",
        "task": tf.name,
        "options": tf.options,
        "args": list(args),
        "kwargs": kwargs,
    })["envelope"]


def _error_text(exc):
    import traceback

    text = "".join(traceback.format_exception(exc)).rstrip()
    first = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    return first + "\n" + text


def _code(req):
    """The entry file's code object: unmarshalled from the host's copy, else compiled from the source it sent (or the file)."""
    cached = req.get("code")
    if cached is not None:
        return marshal.loads(binascii.a2b_base64(cached))
    path = req["file"]
    source = req.get("source")
    if source is None:
        with open(path, "rb") as f:
            source = f.read()
    return compile(source, path, "exec", dont_inherit=True)


def _compiled(req):
    """The "compile" phase, alone in an instance of its own: the entry module's code, marshalled, for the host to keep."""
    try:
        data = marshal.dumps(_code(req))
    except BaseException:
        return '{"ok": false}'  # each task compiles it again and reports the error
    return json.dumps({"ok": True, "code": binascii.b2a_base64(data, newline=False).decode("ascii")})


def _prepare(req):
    """The first call: the entry module's code, ready to run. None of the program's code runs yet."""
    global _prepared
    try:
        _prepared = (req, _code(req))
    except MemoryError as e:
        raise _Failure("memory_exhausted", _error_text(e))
    except BaseException as e:
        raise _Failure("task_error", "Loading %s failed: %s" % (os.path.basename(req["file"]), _error_text(e)))


def _load(path, code):
    # Run the code directly: the import system's stat calls and .pyc writes (refused: the tree is
    # read-only) would cost more than the task itself.
    name = os.path.splitext(os.path.basename(path))[0]
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except MemoryError as e:
        raise _Failure("memory_exhausted", _error_text(e))
    except BaseException as e:
        raise _Failure("task_error", "Loading %s failed: %s" % (os.path.basename(path), _error_text(e)))
    return module


def _find(module, requested):
    registry = capsule._registry
    if requested is not None:
        tf = registry.get(requested)
        if tf is None:
            raise _Failure("invalid_task", "No task named %r in %s (tasks: %s)"
                           % (requested, module.__file__, ", ".join(sorted(registry)) or "none"))
        return tf.name, tf.fn, tf.options
    if "main" in registry:
        tf = registry["main"]
        return tf.name, tf.fn, tf.options
    fn = getattr(module, "main", None)
    if isinstance(fn, capsule.TaskFunction):
        return fn.name, fn.fn, fn.options
    if callable(fn):
        return "main", fn, {}
    raise _Failure("invalid_task", "No task named 'main' and no main() function in %s" % module.__file__)


def _run(req, code):
    cwd = req["cwd"]
    if cwd != _APP:
        os.chdir(cwd)
        sys.path.insert(0, cwd)
    # Like `python src/main.py`: the entry file's directory first (sibling modules), then the project root.
    entry_dir = os.path.dirname(req["file"])
    if entry_dir not in sys.path:
        sys.path.insert(0, entry_dir)
    module = _load(req["file"], code)
    if capsule._duplicates:
        raise _Failure("invalid_task", "Task names declared more than once: %s" % ", ".join(sorted(set(capsule._duplicates))))
    name, fn, options = _find(module, req.get("task"))
    answer = _host_call({
        "op": "configure",
        "task": name,
        "options": options,
        "tasks": {n: tf.options for n, tf in capsule._registry.items()},
    })
    if not answer.get("ok"):
        raise _Failure(answer["error"]["type"], answer["error"]["message"])
    os.environ.update(answer.get("env", {}))
    capsule._caller = _call_task
    capsule._attempt = req.get("attempt", 0)
    try:
        result = fn(*req.get("args", []), **req.get("kwargs", {}))
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(result)
    except MemoryError as e:
        raise _Failure("memory_exhausted", _error_text(e))
    except TypeError as e:
        if e.__traceback__ is not None and e.__traceback__.tb_next is None:
            raise _Failure("invalid_task", "Bad arguments for task %r: %s" % (name, e))
        raise _Failure("task_error", _error_text(e))
    except BaseException as e:
        raise _Failure("permission_denied" if capsule._net.denied(e) else "task_error", _error_text(e))
    finally:
        capsule._caller = None
    return name, result


def run(request: str) -> str:
    """Called twice per instance: {"phase": "prepare", ...the task...}, then {"phase": "run"}."""
    req = json.loads(request)
    name = req.get("task")
    try:
        if req.get("phase") == "compile":
            return _compiled(req)
        if req.get("phase") == "prepare":
            _prepare(req)
            return '{"ok": true}'
        req, code = _prepared
        name = req.get("task")
        name, result = _run(req, code)
        try:
            return json.dumps({"ok": True, "task": name, "result": result}, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise _Failure("task_error", "The result of task %r is not JSON-serialisable: %s" % (name, e))
    except _Failure as f:
        return json.dumps({"ok": False, "task": name, "error": {"type": f.kind, "message": f.message}}, ensure_ascii=False)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()

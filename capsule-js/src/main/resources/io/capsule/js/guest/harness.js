// The harness inside every JavaScript sandbox instance, evaluated once before the warm-start snapshot.
//
// QuickJS here has no module loader, no timers and no Node APIs. The host bundles the program: every
// module becomes a factory registered with __capsule.define(id, deps, factory), ES module syntax already
// rewritten to the CommonJS-like calls below. Per attempt the host evaluates that bundle, then calls
// __capsule.start(), then __capsule.tick() until the task has reported its outcome.
//
// Host calls go through java_invoke("capsule", op, json) and return JSON text; the host checks every one.

(() => {
  "use strict";
  const invoke = globalThis.java_invoke;
  delete globalThis.java_invoke;

  function host(op, payload) {
    const answer = invoke("capsule", op, JSON.stringify(payload === undefined ? null : payload));
    return answer ? JSON.parse(answer) : null;
  }

  // ---- output -------------------------------------------------------------------------------------

  // Text goes to the host as a string: making a Uint8Array per write (Javy.IO.writeSync) costs a
  // garbage collection each time in this QuickJS build, which made console.log take milliseconds.
  function write(fd, text) {
    invoke("capsule", fd === 2 ? "stderr" : "stdout", String(text));
  }

  function inspect(value, depth, seen) {
    if (typeof value === "string") return depth === 0 ? value : quote(value);
    if (typeof value === "bigint") return value + "n";
    if (typeof value === "symbol") return value.toString();
    if (typeof value === "function") return "[Function: " + (value.name || "(anonymous)") + "]";
    if (value === null || typeof value !== "object") return String(value);
    if (value instanceof Error) return value.stack ? value.name + ": " + value.message + "\n" + value.stack.trimEnd() : String(value);
    if (value instanceof Date) return isNaN(value) ? "Invalid Date" : value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (seen.includes(value)) return "[Circular]";
    if (depth > 2) return Array.isArray(value) ? "[Array]" : "[Object]";
    const next = seen.concat([value]);
    const show = (v) => inspect(v, depth + 1, next);
    let parts;
    let open = "{";
    let close = "}";
    if (Array.isArray(value)) {
      parts = value.map(show);
      open = "[";
      close = "]";
    } else if (value instanceof Map) {
      parts = [...value].map(([k, v]) => show(k) + " => " + show(v));
      open = "Map(" + value.size + ") {";
    } else if (value instanceof Set) {
      parts = [...value].map(show);
      open = "Set(" + value.size + ") {";
    } else if (ArrayBuffer.isView(value)) {
      parts = Array.from(value, show);
      open = value.constructor.name + "(" + value.length + ") [";
      close = "]";
    } else {
      parts = Object.keys(value).map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k)) + ": " + show(value[k]));
      const name = value.constructor && value.constructor !== Object ? value.constructor.name + " " : "";
      open = name + "{";
    }
    if (parts.length === 0) return open + close;
    const line = open + " " + parts.join(", ") + " " + close;
    return line.length <= 72 ? line : open + "\n" + parts.map((p) => "  " + p.replace(/\n/g, "\n  ")).join(",\n") + "\n" + close;
  }

  function quote(s) {
    return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n") + "'";
  }

  // Node's util.format: %s %d %i %f %j %o %O %c %% in a leading string, then the rest inspected.
  function format(args) {
    let out = [];
    let i = 0;
    if (typeof args[0] === "string" && args.length > 1) {
      i = 1;
      out.push(args[0].replace(/%([sdifjoOc%])/g, (m, f) => {
        if (f === "%") return "%";
        if (i >= args.length) return m;
        const a = args[i++];
        switch (f) {
          case "s": return typeof a === "string" ? a : inspect(a, 1, []);
          case "d": case "i": return String(f === "i" ? parseInt(a) : Number(a));
          case "f": return String(parseFloat(a));
          case "j": try { return JSON.stringify(a); } catch (e) { return "[Circular]"; }
          case "c": return "";
          default: return inspect(a, 1, []);
        }
      }));
    }
    for (; i < args.length; i++) out.push(inspect(args[i], 0, []));
    return out.join(" ");
  }

  const counts = new Map();
  const timers0 = new Map();
  let groupIndent = "";
  const line = (fd) => (...args) => write(fd, groupIndent + format(args).replace(/\n/g, "\n" + groupIndent) + "\n");
  globalThis.console = {
    log: line(1), info: line(1), debug: line(1), trace: line(2), warn: line(2), error: line(2),
    dir: (v) => write(1, groupIndent + inspect(v, 1, []) + "\n"),
    table: line(1),
    assert: (ok, ...args) => { if (!ok) line(2)("Assertion failed" + (args.length ? ":" : ""), ...args); },
    count: (label = "default") => { counts.set(label, (counts.get(label) || 0) + 1); line(1)(label + ": " + counts.get(label)); },
    countReset: (label = "default") => counts.delete(label),
    time: (label = "default") => timers0.set(label, Date.now()),
    timeEnd: (label = "default") => { line(1)(label + ": " + (Date.now() - (timers0.get(label) || Date.now())) + "ms"); timers0.delete(label); },
    timeLog: (label = "default", ...rest) => line(1)(label + ": " + (Date.now() - (timers0.get(label) || Date.now())) + "ms", ...rest),
    group: (...args) => { if (args.length) line(1)(...args); groupIndent += "  "; },
    groupEnd: () => { groupIndent = groupIndent.slice(2); },
  };

  // ---- timers -------------------------------------------------------------------------------------
  // One timer callback per host tick, so promise jobs run between callbacks as in Node. Waiting happens
  // on the host (interruptibly), so a task's timeout still applies while it sleeps.

  let timers = [];
  let timerSeq = 0;
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    const delay = Math.max(0, Number(ms) || 0);
    const t = { id: ++timerSeq, fn, args, due: Date.now() + delay, every: repeat ? Math.max(1, delay) : 0 };
    timers.push(t);
    return t.id;
  }
  function clearTimer(id) {
    timers = timers.filter((t) => t.id !== (typeof id === "object" && id ? id.id : id));
  }
  globalThis.setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
  globalThis.setImmediate = (fn, ...args) => addTimer(fn, 0, args, false);
  globalThis.clearTimeout = clearTimer;
  globalThis.clearInterval = clearTimer;
  globalThis.clearImmediate = clearTimer;
  if (typeof globalThis.queueMicrotask !== "function") {
    globalThis.queueMicrotask = (fn) => { Promise.resolve().then(fn); };
  }

  // ---- process, random ----------------------------------------------------------------------------

  // Math.random's state would otherwise be the same in every instance restored from the snapshot:
  // xoshiro128** seeded per attempt by the host.
  let s0 = 0x9e3779b9, s1 = 0x243f6a88, s2 = 0xb7e15162, s3 = 0x12345678;
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  function next32() {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
    return result;
  }
  Math.random = () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;

  class ProcessExit extends Error {}
  const startedAt = Date.now();
  const proc = {
    env: {},
    argv: ["capsule"],
    argv0: "capsule",
    execArgv: [],
    execPath: "/usr/bin/capsule",
    platform: "wasi",
    arch: "wasm32",
    pid: 1,
    ppid: 0,
    title: "capsule",
    version: "v20.0.0",
    versions: { capsule: "0.1.0" },
    exitCode: undefined,
    cwd: () => "/app",
    chdir: () => { throw new Error("process.chdir() is not supported in the sandbox"); },
    exit: (code) => { throw new ProcessExit("process.exit(" + (code === undefined ? "" : code) + ") called"); },
    nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
    uptime: () => (Date.now() - startedAt) / 1000,
    hrtime: Object.assign((prev) => {
      const ms = Date.now() - startedAt;
      const now = [Math.floor(ms / 1000), (ms % 1000) * 1e6];
      if (!prev) return now;
      let ns = (now[0] - prev[0]) * 1e9 + now[1] - prev[1];
      return [Math.floor(ns / 1e9), ns % 1e9];
    }, { bigint: () => BigInt(Date.now() - startedAt) * 1000000n }),
    memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
    stdout: { isTTY: false, write: (s) => { write(1, typeof s === "string" ? s : new TextDecoder().decode(s)); return true; } },
    stderr: { isTTY: false, write: (s) => { write(2, typeof s === "string" ? s : new TextDecoder().decode(s)); return true; } },
    on() { return proc; },
    once() { return proc; },
    off() { return proc; },
    emitWarning: (w) => write(2, "Warning: " + w + "\n"),
  };
  globalThis.process = proc;
  globalThis.global = globalThis;

  // ---- files: not granted to JavaScript tasks yet -------------------------------------------------

  class PermissionDenied extends Error {
    constructor(what) {
      super("permission_denied: " + what + ": file access is not available to JavaScript tasks");
      this.name = "Error";
      this.code = "EACCES";
      this.capsulePermissionDenied = true;
    }
  }
  const FS_FUNCTIONS = ["access", "appendFile", "chmod", "chown", "copyFile", "cp", "exists", "lstat", "mkdir",
    "mkdtemp", "open", "opendir", "readdir", "readFile", "readlink", "realpath", "rename", "rm", "rmdir", "stat",
    "symlink", "truncate", "unlink", "utimes", "writeFile", "createReadStream", "createWriteStream", "watch"];
  const fsPromises = {};
  const fs = { constants: { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }, promises: fsPromises };
  for (const name of FS_FUNCTIONS) {
    const denied = (path) => new PermissionDenied(name + "(" + (typeof path === "string" ? JSON.stringify(path) : "") + ")");
    fsPromises[name] = (path) => Promise.reject(denied(path));
    fs[name + "Sync"] = (path) => { throw denied(path); };
    fs[name] = (path, ...rest) => {
      const cb = rest[rest.length - 1];
      if (typeof cb !== "function") throw denied(path);
      queueMicrotask(() => cb(denied(path)));
    };
  }

  // ---- modules ------------------------------------------------------------------------------------

  const factories = new Map();
  const cache = new Map();
  const builtins = new Map([["fs", () => fs], ["fs/promises", () => fsPromises], ["process", () => proc]]);

  function notFound(spec, from) {
    const e = new Error("Cannot find module '" + spec + "' imported from " + from);
    e.code = "MODULE_NOT_FOUND";
    return e;
  }

  function requireFrom(from, deps) {
    return (spec) => {
      const bare = typeof spec === "string" && spec.startsWith("node:") ? spec.slice(5) : spec;
      if (builtins.has(bare)) return builtins.get(bare)();
      const id = deps[spec];
      if (id === undefined) throw notFound(spec, from);
      return load(id).exports;
    };
  }

  function load(id) {
    let module = cache.get(id);
    if (module) return module;
    const f = factories.get(id);
    if (!f) throw notFound(id, "the bundle");
    module = { id, filename: "/app/" + id, exports: {}, loaded: false, evaluated: undefined };
    cache.set(id, module);
    const require = requireFrom(id, f.deps);
    const dynamic = (spec) => {
      try {
        const exports = require(spec);
        const m = cache.get(f.deps[spec]);
        return Promise.resolve(m && m.evaluated).then(() => namespace(exports));
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const dir = module.filename.slice(0, module.filename.lastIndexOf("/"));
    const meta = { url: "file://" + module.filename, filename: module.filename, dirname: dir };
    module.evaluated = f.factory.call(module.exports, module.exports, require, module, module.filename, dir, dynamic, meta, rt);
    module.loaded = true;
    return module;
  }

  function namespace(m) {
    if (m && m.__esModule) return m;
    const ns = Object.create(null);
    if (m !== null && (typeof m === "object" || typeof m === "function")) {
      for (const k of Object.keys(m)) ns[k] = m[k];
    }
    ns.default = m;
    return ns;
  }

  // Helpers the host's ES-module rewrite calls (live exports through getters, CommonJS interop).
  const rt = {
    esm(exports, getters) {
      Object.defineProperty(exports, "__esModule", { value: true });
      for (const k of Object.keys(getters)) {
        Object.defineProperty(exports, k, { enumerable: true, configurable: true, get: getters[k] });
      }
    },
    star(exports, m) {
      for (const k of Object.keys(m)) {
        if (k !== "default" && !Object.prototype.hasOwnProperty.call(exports, k)) {
          Object.defineProperty(exports, k, { enumerable: true, configurable: true, get: () => m[k] });
        }
      }
    },
    def: (m) => (m && m.__esModule ? m.default : m),
    ns: namespace,
  };

  // ---- tasks --------------------------------------------------------------------------------------

  const tasks = new Map();
  const problems = [];
  let attemptNo = 0;
  let running = false;
  let finished = false;

  const capsule = {
    define(id, deps, factory) {
      factories.set(id, { deps, factory });
    },
    // A CommonJS file that is not valid strict code: compiled here, where new Function gives sloppy mode.
    sloppy(body) {
      return new Function("exports", "require", "module", "__filename", "__dirname", "__capsule_import", "__capsule_meta", "__capsule_rt", body);
    },
    // Built-in modules are evaluated once, before the snapshot, so no task pays for them.
    builtin(name, id) {
      const exports = load(id).exports;
      builtins.set(name, () => exports);
    },
    register(name, fn, options) {
      if (tasks.has(name)) problems.push("Task names declared more than once: " + name);
      tasks.set(name, { name, fn, options });
    },
    problem(message) {
      problems.push(message);
    },
    call(name, options, args) {
      if (!running) throw new Error("capsule: tasks can only be called while a task runs");
      let payload;
      try {
        payload = JSON.stringify({ task: name, options, args });
      } catch (e) {
        throw new TypeError("capsule: the arguments of task '" + name + "' are not JSON-serialisable: " + e.message);
      }
      const answer = JSON.parse(invoke("capsule", "call", payload));
      if (!answer.envelope) throw new Error("capsule: task '" + name + "' was not started: " + answer.error.message);
      return answer.envelope;
    },
    attempt: () => attemptNo,
    start() {
      run(host("request")).then((outcome) => finish(outcome), (e) => finish(failure(e)));
    },
    tick() {
      if (finished) return;
      if (timers.length === 0) {
        finish({ ok: false, error: { type: "task_error", message: "The task never finished: it is waiting on a promise that nothing can settle (no pending timers or calls)" } });
        return;
      }
      let next = timers[0];
      for (const t of timers) if (t.due < next.due) next = t;
      const wait = next.due - Date.now();
      if (wait > 0) host("sleep", { ms: wait });
      if (next.every) next.due = Math.max(Date.now(), next.due) + next.every;
      else timers = timers.filter((t) => t !== next);
      try {
        next.fn(...next.args);
      } catch (e) {
        finish(failure(e, "Uncaught exception in a timer callback: "));
      }
    },
  };
  Object.defineProperty(globalThis, "__capsule", { value: Object.freeze(capsule) });

  let taskName = null;

  function failure(e, prefix = "") {
    if (e instanceof ProcessExit) return { ok: false, error: { type: "task_error", message: e.message } };
    const type = e && e.capsulePermissionDenied ? "permission_denied" : e && e.capsuleKind ? e.capsuleKind : "task_error";
    return { ok: false, error: { type, message: prefix + errorText(e) } };
  }

  function errorText(e) {
    if (e instanceof Error) {
      const head = (e.name || "Error") + (e.message ? ": " + e.message : "");
      return e.stack ? head + "\n" + e.stack.trimEnd() : head;
    }
    try {
      return "Uncaught " + inspect(e, 1, []);
    } catch (ignored) {
      return "Uncaught exception";
    }
  }

  function fail(type, message) {
    const e = new Error(message);
    e.capsuleKind = type;
    e.stack = "";
    return e;
  }

  function finish(outcome) {
    if (finished) return;
    finished = true;
    running = false;
    outcome.task = taskName;
    let json;
    try {
      json = JSON.stringify(outcome);
    } catch (e) {
      outcome = { ok: false, task: taskName, error: { type: "task_error", message: "The result of task '" + taskName + "' is not JSON-serialisable: " + e.message } };
      json = JSON.stringify(outcome);
    }
    invoke("capsule", "done", json);
  }

  async function run(req) {
    attemptNo = req.attempt || 0;
    taskName = req.task || "main";
    seed(req.seed);
    const entry = load(req.file);
    await entry.evaluated;
    if (problems.length) throw fail("invalid_task", problems.join("\n"));
    let chosen = tasks.get(taskName);
    if (!chosen && req.task) {
      throw fail("invalid_task", "No task named '" + req.task + "' in " + req.file + " (tasks: " + ([...tasks.keys()].sort().join(", ") || "none") + ")");
    }
    if (!chosen) {
      const main = entry.exports && entry.exports.main;
      if (typeof main !== "function") throw fail("invalid_task", "No task named 'main' and no exported main function in " + req.file);
      chosen = { name: "main", fn: main, options: {} };
    }
    const all = {};
    for (const t of tasks.values()) all[t.name] = t.options;
    const answer = host("configure", { task: chosen.name, options: chosen.options, tasks: all });
    if (!answer.ok) throw fail(answer.error.type, answer.error.message);
    proc.env = answer.env || {};
    proc.argv = ["capsule", "/app/" + req.file].concat(req.argv || []);
    running = true;
    const result = await chosen.fn(...(req.args || []));
    return { ok: true, result };
  }

  function seed(words) {
    if (Array.isArray(words) && words.length === 4) {
      [s0, s1, s2, s3] = words.map((w) => w >>> 0 || 1);
    }
  }
})();

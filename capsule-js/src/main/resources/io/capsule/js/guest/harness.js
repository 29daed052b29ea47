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

  // ---- bytes -------------------------------------------------------------------------------------

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function toBase64(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < bytes.length ? B64[n & 63] : "=");
    }
    return out;
  }
  function fromBase64(text) {
    const clean = text.replace(/[^A-Za-z0-9+/]/g, "");
    const out = new Uint8Array(Math.floor(clean.length * 3 / 4));
    let j = 0;
    for (let i = 0; i < clean.length; i += 4) {
      const n = (B64.indexOf(clean[i]) << 18) | (B64.indexOf(clean[i + 1]) << 12) | ((B64.indexOf(clean[i + 2]) & 63) << 6) | (B64.indexOf(clean[i + 3]) & 63);
      out[j++] = n >> 16;
      if (i + 2 < clean.length) out[j++] = (n >> 8) & 255;
      if (i + 3 < clean.length) out[j++] = n & 255;
    }
    return out.subarray(0, j);
  }
  const textOf = (data) => (typeof data === "string" ? data : new TextDecoder().decode(data));
  globalThis.btoa = globalThis.btoa || ((s) => toBase64(Array.from(String(s), (c) => c.charCodeAt(0) & 255)));
  globalThis.atob = globalThis.atob || ((s) => String.fromCharCode(...fromBase64(String(s))));

  // ---- files: the task's allowed directories, through the host (which applies the policy) --------

  // Refusals by the policy (and not, say, a missing file) end an uncaught task as permission_denied.
  const DENIED = ["EACCES", "EPERM", "EROFS"];
  function fsCall(op, path, extra) {
    if (typeof path !== "string" && !(path && typeof path.href === "string")) throw new TypeError("The \"path\" argument must be of type string");
    // The working directory is /app (process.cwd(), path.resolve): its absolute paths are the relative ones.
    const p = (typeof path === "string" ? path : path.href).replace(/^(file:\/\/)?\/app(\/|$)/, "./");
    const answer = host("fs", Object.assign({ op, path: p }, extra));
    if (!answer.ok) {
      const code = answer.code || "EACCES";
      const e = new Error(code + ": " + (answer.message || answer.error.message) + ", " + op + " '" + p + "'");
      e.code = code;
      e.path = p;
      e.syscall = op;
      if (DENIED.includes(code)) e.capsulePermissionDenied = true;
      throw e;
    }
    return answer;
  }
  const encodingOf = (o) => (typeof o === "string" ? o : o && o.encoding) || null;
  function writeArgs(data) {
    return typeof data === "string" ? { text: data } : { base64: toBase64(data instanceof Uint8Array ? data : new Uint8Array(data.buffer || data)) };
  }
  class Stats {
    constructor(v) {
      Object.assign(this, { size: v.size, mtimeMs: v.mtimeMs, mtime: new Date(v.mtimeMs) });
      Object.defineProperty(this, "type", { value: v.type });
    }
    isFile() { return this.type === "file"; }
    isDirectory() { return this.type === "directory"; }
    isSymbolicLink() { return this.type === "symlink"; }
  }
  const sync = {
    readFileSync: (p, o) => {
      const enc = encodingOf(o);
      const a = fsCall("read", p, { text: !!enc });
      return enc ? a.value : fromBase64(a.base64);
    },
    writeFileSync: (p, data) => { fsCall("write", p, writeArgs(data)); },
    appendFileSync: (p, data) => { fsCall("append", p, writeArgs(data)); },
    readdirSync: (p, o) => {
      const names = fsCall("list", p).value;
      if (!(o && o.withFileTypes)) return names;
      const dir = String(p).replace(/\/$/, "");
      return names.map((name) => Object.assign(new Stats(fsCall("stat", dir + "/" + name).value), { name, parentPath: p, path: p }));
    },
    statSync: (p) => new Stats(fsCall("stat", p).value),
    lstatSync: (p) => new Stats(fsCall("stat", p).value),
    existsSync: (p) => { try { return fsCall("exists", p).value; } catch (e) { return false; } },
    mkdirSync: (p, o) => { fsCall("mkdir", p, { recursive: !!(o && o.recursive) }); },
    unlinkSync: (p) => { fsCall("remove", p); },
    rmdirSync: (p) => { fsCall("remove", p); },
    rmSync: (p, o) => {
      try {
        // { recursive: true } empties a directory first; the host removes one entry at a time.
        if (o && o.recursive && fsCall("stat", p).value.type === "directory") {
          for (const name of fsCall("list", p).value) sync.rmSync(String(p).replace(/\/$/, "") + "/" + name, o);
        }
        fsCall("remove", p);
      } catch (e) {
        if (!(o && o.force && e.code === "ENOENT")) throw e;
      }
    },
    renameSync: (from, to) => { fsCall("rename", from, { to: String(to) }); },
    accessSync: (p) => { fsCall("stat", p); },
    copyFileSync: (from, to) => { fsCall("write", to, { base64: fsCall("read", from, { text: false }).base64 }); },
    // A link could point anywhere: the sandbox never creates one (the host refuses them for Python too).
    symlinkSync: (target, p) => { throw linkRefused("symlink", p); },
    linkSync: (existing, p) => { throw linkRefused("link", p); },
  };
  function linkRefused(syscall, p) {
    const e = new Error("EPERM: operation not permitted, the sandbox does not create links, " + syscall + " '" + p + "'");
    Object.assign(e, { code: "EPERM", syscall, path: p, capsulePermissionDenied: true });
    return e;
  }
  const fsPromises = {};
  const fs = { constants: { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }, promises: fsPromises };
  for (const [name, fn] of Object.entries(sync)) {
    const base = name.slice(0, -4);
    fs[name] = fn;
    fsPromises[base] = (...args) => new Promise((resolve) => resolve(fn(...args)));
    fs[base] = (...args) => {
      const cb = args.pop();
      if (typeof cb !== "function") throw new TypeError("The \"cb\" argument must be of type function");
      let result;
      try {
        result = fn(...args);
      } catch (e) {
        queueMicrotask(() => cb(e));
        return;
      }
      queueMicrotask(() => (name === "existsSync" ? cb(result) : cb(null, result)));
    };
  }
  delete fsPromises.exists;
  fsPromises.readdir = (p) => Promise.resolve().then(() => sync.readdirSync(p));

  // ---- fetch: through the host's HTTP gateway (allowed_hosts) -------------------------------------

  class Headers {
    constructor(init) {
      this.map = new Map();
      if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
      else if (Array.isArray(init)) init.forEach(([k, v]) => this.append(k, v));
      else if (init) Object.keys(init).forEach((k) => this.append(k, init[k]));
    }
    append(k, v) { const key = String(k).toLowerCase(); this.map.set(key, this.map.has(key) ? this.map.get(key) + ", " + v : String(v)); }
    set(k, v) { this.map.set(String(k).toLowerCase(), String(v)); }
    get(k) { const v = this.map.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    has(k) { return this.map.has(String(k).toLowerCase()); }
    delete(k) { this.map.delete(String(k).toLowerCase()); }
    forEach(fn) { this.map.forEach((v, k) => fn(v, k, this)); }
    entries() { return this.map.entries(); }
    [Symbol.iterator]() { return this.map.entries(); }
  }
  class Response {
    constructor(bytes, init) {
      this._bytes = bytes;
      this.status = init.status;
      this.statusText = init.statusText || "";
      this.ok = init.status >= 200 && init.status < 300;
      this.url = init.url || "";
      this.redirected = false;
      this.headers = new Headers(init.headers);
      this.bodyUsed = false;
    }
    async arrayBuffer() { this.bodyUsed = true; return this._bytes.slice().buffer; }
    async bytes() { this.bodyUsed = true; return this._bytes.slice(); }
    async text() { this.bodyUsed = true; return new TextDecoder().decode(this._bytes); }
    async json() { return JSON.parse(await this.text()); }
  }
  globalThis.Headers = globalThis.Headers || Headers;
  globalThis.Response = globalThis.Response || Response;
  globalThis.fetch = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input && input.url ? input.url : String(input);
    const headers = [];
    new Headers(init.headers).forEach((v, k) => headers.push([k, v]));
    let body = null;
    if (init.body !== undefined && init.body !== null) {
      body = toBase64(typeof init.body === "string" ? new TextEncoder().encode(init.body) : new Uint8Array(init.body.buffer || init.body));
    }
    const answer = host("http", { method: (init.method || "GET").toUpperCase(), url, headers, body });
    if (!answer.ok) {
      const e = new TypeError("fetch failed: " + answer.error.message);
      if (answer.error.type === "permission_denied") {
        e.code = "EACCES";
        e.capsulePermissionDenied = true;
      }
      throw e;
    }
    const r = answer.response;
    const response = new Response(r.body ? fromBase64(r.body) : new Uint8Array(0), { status: r.status, url: r.url, headers: r.headers });
    response.redirected = r.url !== url;
    return response;
  };

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
    if (Array.isArray(words) && words.length === 8) {
      const h = words.map((w) => parseInt(w, 16));
      s0 = (h[0] << 16) | h[1] | 1;
      s1 = (h[2] << 16) | h[3];
      s2 = (h[4] << 16) | h[5];
      s3 = (h[6] << 16) | h[7];
    }
  }
})();

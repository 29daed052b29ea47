// Node's "fs" (and, through fs-promises.js, "fs/promises") over the task's allowed directories.
// Every operation is one host call, checked on the host against the task's allowed_files (SandboxFiles):
// paths are relative to the working directory /app; absolute paths elsewhere, "..", and symbolic links
// are refused. Errors carry Node's codes (err.code = "ENOENT", "EACCES", "EROFS", ...); left uncaught, a
// refusal (EACCES, EPERM, EROFS) ends the task with error type permission_denied.

import { asBytes, fromBase64, toBase64 } from "capsule:bytes";

const runtime = globalThis.__capsule;

const DESCRIPTIONS = {
  ENOENT: "no such file or directory", EACCES: "permission denied", EROFS: "read-only file system",
  EPERM: "operation not permitted", EBUSY: "resource busy or locked", EEXIST: "file already exists",
  ENOTEMPTY: "directory not empty", ENOTDIR: "not a directory", EISDIR: "illegal operation on a directory",
  EINVAL: "invalid argument", EIO: "i/o error", ENOTSUP: "operation not supported",
};
const ERRNO = { ENOENT: 2, EIO: 5, EACCES: 13, EBUSY: 16, EEXIST: 17, ENOTDIR: 20, EISDIR: 21, EINVAL: 22,
  EROFS: 30, ENOTEMPTY: 39, EPERM: 1, ENOTSUP: 95 };
const DENIALS = new Set(["EACCES", "EPERM", "EROFS"]);

function fsError(code, syscall, path, detail) {
  const e = new Error(code + ": " + (DESCRIPTIONS[code] || "error") + ", " + syscall + " '" + path + "'"
    + (detail ? " (" + detail + ")" : ""));
  e.code = code;
  e.errno = -(ERRNO[code] || 5);
  e.syscall = syscall;
  e.path = path;
  if (DENIALS.has(code)) Object.defineProperty(e, "capsulePermissionDenied", { value: true });
  return e;
}

/** Guest paths are relative to /app, the working directory; the host refuses anything else. */
function guestPath(p, name = "path") {
  if (typeof p !== "string") {
    const e = new TypeError("The \"" + name + "\" argument must be of type string. Received " + typeof p);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  if (p === "/app") return ".";
  if (p.startsWith("/app/")) return "." + p.slice(4);
  return p;
}

function call(syscall, path, request) {
  const answer = runtime.hostCall("fs", Object.assign({ path: guestPath(path) }, request));
  if (!answer.ok) {
    if (answer.error.type !== "fs") throw new Error(answer.error.type + ": " + answer.error.message);
    throw fsError(answer.error.code, syscall, path, answer.error.message);
  }
  return answer;
}

function encodingOf(options) {
  if (typeof options === "string") return options;
  return options && options.encoding ? options.encoding : null;
}

function isUtf8(encoding) {
  return encoding === "utf8" || encoding === "utf-8";
}

function decode(answer, encoding) {
  if (answer.text !== undefined) return answer.text;
  const bytes = fromBase64(answer.data);
  if (!encoding || encoding === "buffer") return bytes;
  if (encoding === "base64") return answer.data;
  if (encoding === "hex") return Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
  if (encoding === "latin1" || encoding === "binary" || encoding === "ascii") return String.fromCharCode(...bytes);
  throw fsError("EINVAL", "read", "", "unsupported encoding " + encoding);
}

function payload(data, encoding) {
  if (typeof data === "string") {
    if (!encoding || isUtf8(encoding)) return { text: data };
    if (encoding === "base64") return { data: data };
    throw fsError("EINVAL", "write", "", "unsupported encoding " + encoding);
  }
  const bytes = asBytes(data);
  if (bytes) return { data: toBase64(bytes) };
  const e = new TypeError("The \"data\" argument must be of type string or an instance of Uint8Array");
  e.code = "ERR_INVALID_ARG_TYPE";
  throw e;
}

class Stats {
  constructor(s) {
    this.size = s.size;
    this.mtimeMs = s.mtimeMs;
    this.mtime = new Date(s.mtimeMs);
    this.type = s.type;
  }
  isFile() { return this.type === "file"; }
  isDirectory() { return this.type === "directory"; }
  isSymbolicLink() { return this.type === "symlink"; }
}

class Dirent {
  constructor(name, parent, stats) {
    this.name = name;
    this.parentPath = parent;
    this.path = parent;
    this.type = stats.type;
  }
  isFile() { return this.type === "file"; }
  isDirectory() { return this.type === "directory"; }
  isSymbolicLink() { return this.type === "symlink"; }
}

function join(dir, name) {
  return dir.endsWith("/") ? dir + name : dir + "/" + name;
}

export function readFileSync(path, options) {
  const encoding = encodingOf(options);
  return decode(call("open", path, { op: "read", utf8: isUtf8(encoding) }), encoding);
}

export function writeFileSync(path, data, options) {
  const append = options && typeof options === "object" && typeof options.flag === "string" && options.flag.startsWith("a");
  call("open", path, Object.assign({ op: "write", append }, payload(data, encodingOf(options))));
}

export function appendFileSync(path, data, options) {
  call("open", path, Object.assign({ op: "write", append: true }, payload(data, encodingOf(options))));
}

export function existsSync(path) {
  try {
    return call("access", path, { op: "exists" }).exists;
  } catch (e) {
    return false;
  }
}

export function accessSync(path) {
  if (!call("access", path, { op: "exists" }).exists) throw fsError("ENOENT", "access", path);
}

export function readdirSync(path, options) {
  const names = call("scandir", path, { op: "list" }).entries;
  if (!(options && options.withFileTypes)) return names;
  return names.map((n) => new Dirent(n, path, call("lstat", join(path, n), { op: "stat" }).stat));
}

export function statSync(path, options) {
  try {
    return new Stats(call("stat", path, { op: "stat" }).stat);
  } catch (e) {
    if (e.code === "ENOENT" && options && options.throwIfNoEntry === false) return undefined;
    throw e;
  }
}

export const lstatSync = statSync;

export function mkdirSync(path, options) {
  const recursive = !!(options && typeof options === "object" && options.recursive);
  call("mkdir", path, { op: "mkdir", recursive });
  return undefined;
}

export function rmSync(path, options) {
  const recursive = !!(options && options.recursive);
  const force = !!(options && options.force);
  let stats;
  try {
    stats = statSync(path);
  } catch (e) {
    if (force && e.code === "ENOENT") return;
    throw e;
  }
  if (stats.isDirectory()) {
    if (!recursive) throw fsError("EISDIR", "rm", path, "use { recursive: true } to remove a directory");
    for (const name of readdirSync(path)) rmSync(join(path, name), options);
  }
  call("rm", path, { op: "remove" });
}

export function rmdirSync(path) {
  call("rmdir", path, { op: "remove" });
}

export function unlinkSync(path) {
  if (statSync(path).isDirectory()) throw fsError("EISDIR", "unlink", path);
  call("unlink", path, { op: "remove" });
}

export function renameSync(from, to) {
  call("rename", from, { op: "rename", to: guestPath(to, "newPath") });
}

export function copyFileSync(from, to) {
  writeFileSync(to, readFileSync(from));
}

// Links could point anywhere: the sandbox never creates them.
export function symlinkSync(target, path) {
  throw fsError("EPERM", "symlink", path, "the sandbox does not create links");
}

export function linkSync(existing, path) {
  throw fsError("EPERM", "link", path, "the sandbox does not create links");
}

const SYNC = { readFileSync, writeFileSync, appendFileSync, existsSync, accessSync, readdirSync, statSync, lstatSync,
  mkdirSync, rmSync, rmdirSync, unlinkSync, renameSync, copyFileSync, symlinkSync, linkSync };

// fs.promises.x and the callback form fs.x(..., cb), both over the synchronous call (the host answers at once).
export const promises = {};
const callbacks = {};
for (const [syncName, fn] of Object.entries(SYNC)) {
  const name = syncName.slice(0, -4);
  if (name === "exists") continue;
  promises[name] = async (...args) => fn(...args);
  callbacks[name] = (...args) => {
    const cb = args.pop();
    if (typeof cb !== "function") throw new TypeError("The \"cb\" argument must be of type function");
    let result;
    let error = null;
    try {
      result = fn(...args);
    } catch (e) {
      error = e;
    }
    queueMicrotask(() => cb(error, result));
  };
}

export const readFile = callbacks.readFile, writeFile = callbacks.writeFile, appendFile = callbacks.appendFile,
  access = callbacks.access, readdir = callbacks.readdir, stat = callbacks.stat, lstat = callbacks.lstat,
  mkdir = callbacks.mkdir, rm = callbacks.rm, rmdir = callbacks.rmdir, unlink = callbacks.unlink,
  rename = callbacks.rename, copyFile = callbacks.copyFile, symlink = callbacks.symlink, link = callbacks.link;

export function exists(path, cb) {
  const found = existsSync(path);
  queueMicrotask(() => cb(found));
}

export const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };

export default Object.assign({ promises, constants, exists, Stats, Dirent }, SYNC, callbacks);

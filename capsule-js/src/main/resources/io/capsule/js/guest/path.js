// Node's "path" module (POSIX flavour), provided to tasks as "path" / "node:path".
// The task's working directory is /app (where its project files are).

export const sep = "/";
export const delimiter = ":";

function assertPath(p) {
  if (typeof p !== "string") throw new TypeError('The "path" argument must be of type string. Received ' + typeof p);
}

export function normalize(p) {
  assertPath(p);
  if (p === "") return ".";
  const absolute = p.startsWith("/");
  const trailing = p.endsWith("/");
  const out = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else {
      out.push(part);
    }
  }
  let result = (absolute ? "/" : "") + out.join("/");
  if (result === "") return absolute ? "/" : ".";
  if (trailing && result !== "/") result += "/";
  return result;
}

export function join(...parts) {
  parts.forEach(assertPath);
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

export function resolve(...parts) {
  let resolved = "";
  for (let i = parts.length - 1; i >= 0 && !resolved.startsWith("/"); i--) {
    assertPath(parts[i]);
    if (parts[i] !== "") resolved = parts[i] + (resolved ? "/" + resolved : "");
  }
  if (!resolved.startsWith("/")) resolved = "/app" + (resolved ? "/" + resolved : "");
  const n = normalize(resolved);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

export function isAbsolute(p) {
  assertPath(p);
  return p.startsWith("/");
}

export function relative(from, to) {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(i).map(() => "..").concat(b.slice(i)).join("/");
}

export function dirname(p) {
  assertPath(p);
  if (p === "") return ".";
  const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return trimmed.slice(0, i);
}

export function basename(p, ext) {
  assertPath(p);
  const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
  let base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  if (ext && base.endsWith(ext) && base !== ext) base = base.slice(0, -ext.length);
  return base;
}

export function extname(p) {
  const base = basename(p);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}

export function parse(p) {
  const root = p.startsWith("/") ? "/" : "";
  const base = basename(p);
  const ext = extname(p);
  const dir = p.includes("/") ? dirname(p) : "";
  return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
}

export function format(o) {
  const dir = o.dir || o.root || "";
  const base = o.base || (o.name || "") + (o.ext || "");
  return dir ? (dir === o.root ? dir + base : dir + "/" + base) : base;
}

export function toNamespacedPath(p) {
  return p;
}

const path = { sep, delimiter, normalize, join, resolve, isAbsolute, relative, dirname, basename, extname, parse, format, toNamespacedPath };
path.posix = path;
export const posix = path;
export default path;

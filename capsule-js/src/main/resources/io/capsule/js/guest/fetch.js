// fetch, Headers and Response (globals, as in Node 18+), over the host's HTTP gateway: every request and
// every redirect hop is checked against the task's allowed_hosts and recorded in the envelope. The
// sandbox has no sockets; redirects are followed by the host. A host that is not allowed rejects with an
// error (code EACCES) that, left uncaught, ends the task with error type permission_denied.

import { asBytes, fromBase64, toBase64, utf8Decode, utf8Encode } from "capsule:bytes";

const runtime = globalThis.__capsule;

export class Headers {
  constructor(init) {
    this.map = new Map();
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init && typeof init === "object") for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(name, value) {
    const key = String(name).toLowerCase();
    this.map.set(key, this.map.has(key) ? this.map.get(key) + ", " + value : String(value));
  }
  set(name, value) { this.map.set(String(name).toLowerCase(), String(value)); }
  get(name) { const v = this.map.get(String(name).toLowerCase()); return v === undefined ? null : v; }
  has(name) { return this.map.has(String(name).toLowerCase()); }
  delete(name) { this.map.delete(String(name).toLowerCase()); }
  forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
  entries() { return [...this.map].sort((a, b) => (a[0] < b[0] ? -1 : 1))[Symbol.iterator](); }
  keys() { return [...this.map.keys()].sort()[Symbol.iterator](); }
  values() { return [...this.entries()].map((e) => e[1])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
}

export class Response {
  constructor(body, init = {}) {
    this.bytes0 = body == null ? new Uint8Array(0) : typeof body === "string" ? utf8Encode(body) : asBytes(body);
    this.status = init.status === undefined ? 200 : init.status;
    this.statusText = init.statusText || "";
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new Headers(init.headers);
    this.url = init.url || "";
    this.redirected = !!init.redirected;
    this.type = "basic";
    this.bodyUsed = false;
  }
  consume() {
    if (this.bodyUsed) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
    this.bodyUsed = true;
    return Promise.resolve(this.bytes0);
  }
  arrayBuffer() { return this.consume().then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); }
  bytes() { return this.consume().then((b) => new Uint8Array(b)); }
  text() { return this.consume().then(utf8Decode); }
  json() { return this.text().then((t) => JSON.parse(t)); }
  clone() {
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed");
    return new Response(this.bytes0, this);
  }
}

function requestBody(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return toBase64(utf8Encode(body));
  const bytes = asBytes(body);
  if (bytes) return toBase64(bytes);
  throw new TypeError("fetch: the body must be a string, an ArrayBuffer or a typed array");
}

export async function fetch(input, init = {}) {
  const url = typeof input === "string" ? input : input && (input.href || input.url) ? input.href || input.url : String(input);
  const headers = {};
  new Headers(init.headers).forEach((v, k) => { headers[k] = v; });
  const request = { method: (init.method || "GET").toUpperCase(), url, headers, body: requestBody(init.body) };
  const answer = runtime.hostCall("http", { request });
  if (!answer.ok) {
    const denied = answer.error.type === "permission_denied";
    const e = denied ? new Error("permission_denied: " + answer.error.message)
      : new TypeError("fetch failed: " + answer.error.message);
    if (denied) {
      e.code = "EACCES";
      Object.defineProperty(e, "capsulePermissionDenied", { value: true });
    }
    throw e;
  }
  const r = answer.response;
  return new Response(fromBase64(r.body || ""), { status: r.status, headers: r.headers, url: r.url, redirected: r.url !== url });
}

globalThis.fetch = fetch;
globalThis.Headers = Headers;
globalThis.Response = Response;

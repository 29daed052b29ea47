"""HTTP for tasks: urllib.request sends every http/https request to the host, which checks the host name
against the task's allowed_hosts (on every redirect too), performs the request and returns the response.
There are no sockets in the sandbox; this is the only way out.

A denied request raises urllib.error.URLError whose reason is a PermissionError; left uncaught, it ends
the task with error type permission_denied.
"""

import base64
import errno
import http.client
import io
import urllib.error
import urllib.request
import urllib.response

_host_call = None


def _body_bytes(data):
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if hasattr(data, "read"):
        chunk = data.read()
        return chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in data)


def _do_open(self, http_class, req, **http_conn_args):
    headers = dict(req.unredirected_hdrs)
    headers.update({k: v for k, v in req.headers.items() if k not in headers})
    body = _body_bytes(req.data)
    answer = _host_call({
        "op": "http",
        "request": {
            "method": req.get_method(),
            "url": req.full_url,
            "headers": [[k, str(v)] for k, v in headers.items()],
            "body": None if body is None else base64.b64encode(body).decode("ascii"),
        },
    })
    if not answer.get("ok"):
        error = answer.get("error", {})
        message = error.get("message", "request failed")
        if error.get("type") == "permission_denied":
            raise urllib.error.URLError(PermissionError(errno.EACCES, message))
        raise urllib.error.URLError(message)
    r = answer["response"]
    msg = http.client.HTTPMessage()
    for name, value in r["headers"]:
        msg[name] = value
    resp = urllib.response.addinfourl(io.BytesIO(base64.b64decode(r["body"])), msg, r["url"], r["status"])
    resp.msg = resp.reason = http.client.responses.get(r["status"], "")
    return resp


class _HTTPSHandler(urllib.request.AbstractHTTPHandler):
    """https through the host (the sandbox has no ssl module of its own)."""

    def https_open(self, req):
        return self.do_open(None, req)

    https_request = urllib.request.AbstractHTTPHandler.do_request_


class _NoDirectConnection:
    def __init__(self, *args, **kwargs):
        raise OSError(errno.ENOTSUP, "capsule: no direct connections in the sandbox; use urllib.request")


def install(host_call):
    """Routes urllib.request through host_call(message) -> answer. Called once by the harness."""
    global _host_call
    _host_call = host_call
    urllib.request.AbstractHTTPHandler.do_open = _do_open
    urllib.request.HTTPSHandler = _HTTPSHandler
    if not hasattr(http.client, "HTTPSConnection"):
        # build_opener adds the https handler only when http.client claims https support.
        http.client.HTTPSConnection = _NoDirectConnection
    urllib.request.install_opener(None)


def denied(exc):
    """Whether an exception is the sandbox refusing an access (file, host), i.e. permission_denied."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, PermissionError):
        return True
    return isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS)

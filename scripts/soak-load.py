#!/usr/bin/env python3
"""The load generator of scripts/soak.sh (Python 3 standard library only).

Against one running `berth serve` (the caller starts it and passes its pid), for --secs seconds
over --conns connections:

  * request workers (--conns minus the SSE followers minus one for the deploy keeper), each
    one keep-alive HTTP/1.1 connection, closed loop (next request as soon as the answer is
    read), picking by weight: signed-in page views (GET /projects, the environment page, now
    and then the webhook and deploys pages), REST reads with a read-scope token, REST writes
    with a write-scope token (PUT an environment variable with alternating values; PUT then
    DELETE a project variable of the worker's own), and signed GitHub push deliveries to a
    branch no environment follows (recorded and skipped: no deploy starts);
  * SSE followers (--sse): each follows the live log of the current deploy
    (`GET /api/v1/deploys/{id}/log`, `Accept: text/event-stream`), resumes with
    `Last-Event-ID`, and reconnects when a stream ends;
  * the deploy keeper: keeps one deploy running to follow. The environment's services have
    an image on a registry that refuses connections (127.0.0.1:9), so the deploy waits in its
    pull step (retrying, one log line every <= 10 s) until it is cancelled; no container is
    ever created. Every --rotate seconds it cancels the deploy and queues a new one, so the
    followers see streams end with `end` and move to the next deploy.

Per request it measures the latency (to the last byte; for SSE, to the response head), counts
errors (connection errors and timeouts, 5xx, any status other than the expected ones, an
answer without its expected content, an SSE stream that closes before `end` or stays silent
for 45 s) and requests over 5 s. Every --sample seconds it reads VmRSS from
/proc/<pid>/status and prints a line. At the end: a table per kind of request, the RSS
samples and the verdict; exit status 1 when a criterion fails, 2 when the set-up fails.
"""
import argparse
import array
import asyncio
import hashlib
import hmac
import json
import os
import random
import re
import sys
import time
import urllib.parse
import uuid

SLOW_SECS = 5.0
TIMEOUT_SECS = 30.0
SSE_SILENCE_SECS = 45.0  # the server sends a keep-alive every 15 s
PROJECT = "soak"
ENV = "staging"
OTHER_PROJECTS = 9
SHARED_VARS = 8
BRANCH_NOBODY_FOLLOWS = "soak/unmapped"
REPOSITORY = "berth-soak/site"
UNPULLABLE = "127.0.0.1:9/berth-soak/{}:1"


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 client connection (keep-alive, Content-Length and chunked bodies).


class HttpFailure(Exception):
    pass


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self):
        if self.w is not None:
            try:
                self.w.close()
            except Exception:
                pass
        self.r = self.w = None

    async def send(self, head, body):
        if self.w is None:
            await self.open()
        self.w.write(head + body if body else head)
        await self.w.drain()

    async def read_head(self):
        """(status, {lower-case name: value}) of the next response."""
        try:
            raw = await self.r.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            raise HttpFailure(
                "connection closed before the response" if not e.partial else "truncated response head"
            )
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpFailure("bad status line %r" % lines[0][:80])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    async def read_body(self, status, headers):
        if status in (204, 304) or status < 200:
            return b""
        te = headers.get(b"transfer-encoding", b"").lower()
        if b"chunked" in te:
            parts = []
            r = self.r
            while True:
                size = int((await r.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while (await r.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                chunk = await r.readexactly(size + 2)
                parts.append(chunk[:-2])
            return b"".join(parts)
        n = headers.get(b"content-length")
        if n is not None:
            return await self.r.readexactly(int(n))
        body = await self.r.read()  # delimited by the close
        self.close()
        return body

    async def request(self, head, body=b""):
        await self.send(head, body)
        status, headers = await self.read_head()
        data = await self.read_body(status, headers)
        if b"close" in headers.get(b"connection", b"").lower():
            self.close()
        return status, headers, data


def build_head(method, path, host, headers, body_len):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host]
    lines += ["%s: %s" % kv for kv in headers]
    if body_len or method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % body_len)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---------------------------------------------------------------------------------------------
# Statistics.

KINDS = [
    ("page_projects", "page GET /projects"),
    ("page_env", "page GET environment"),
    ("page_other", "page GET webhook, deploys"),
    ("api_read", "REST reads (read token)"),
    ("api_write", "REST writes (PUT/DELETE vars)"),
    ("webhook", "webhook push (signed, skipped)"),
    ("deploy_ops", "deploy keeper (queue/cancel/get)"),
    ("sse", "SSE follow (time to head)"),
]


class Stats:
    def __init__(self):
        self.lat = {k: array.array("f") for k, _ in KINDS}
        self.at = {k: array.array("f") for k, _ in KINDS}  # when each request ended (s into the run)
        self.t0 = time.perf_counter()
        self.errors = {k: 0 for k, _ in KINDS}
        self.slow = {k: 0 for k, _ in KINDS}
        self.err_detail = {}  # (kind, endpoint, what) -> [count, first example]
        self.slow_detail = {}  # (kind, endpoint) -> [count, max seconds]
        self.win_lat = []
        self.win_errors = 0
        self.sse_streams = 0
        self.sse_ended = 0
        self.sse_events = 0
        self.sse_lines = 0
        self.notes = []

    def record(self, kind, endpoint, dt, ok, what=""):
        self.lat[kind].append(dt)
        self.at[kind].append(time.perf_counter() - self.t0)
        self.win_lat.append(dt)
        if dt > SLOW_SECS:
            self.slow[kind] += 1
            d = self.slow_detail.setdefault((kind, endpoint), [0, 0.0])
            d[0] += 1
            d[1] = max(d[1], dt)
        if not ok:
            self.error(kind, endpoint, what)

    def error(self, kind, endpoint, what):
        self.errors[kind] += 1
        self.win_errors += 1
        key = (kind, endpoint, what.split(":", 1)[0][:80])
        d = self.err_detail.get(key)
        if d is None:
            self.err_detail[key] = [1, what[:300]]
        else:
            d[0] += 1


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


# ---------------------------------------------------------------------------------------------
# The soak.


class Soak:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.url)
        self.host, self.port = u.hostname, u.port or 80
        self.hostport = "%s:%d" % (self.host, self.port)
        self.origin = "http://" + self.hostport
        self.st = Stats()
        self.stopping = False
        self.deadline = 0.0
        self.cookie = ""
        self.deploy_id = None
        self.deploy_generation = 0
        self.secret = os.urandom(16).hex()
        self.api_reads = []
        self._last_id = {}  # follower -> the last SSE event id it saw

    # -- set-up (errors here end the run with status 2) ----------------------------------------

    async def call(self, conn, method, path, token=None, body=None, headers=(), expect=(200,)):
        hdrs = list(headers)
        if token:
            hdrs.append(("Authorization", "Bearer " + token))
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            if not any(k.lower() == "content-type" for k, _ in hdrs):
                hdrs.append(("Content-Type", "application/json"))
        status, resp_headers, resp = await asyncio.wait_for(
            conn.request(build_head(method, path, self.hostport, hdrs, len(data)), data), TIMEOUT_SECS
        )
        if expect and status not in expect:
            raise SystemExit(
                "set-up: %s %s answered %d (expected %s): %s"
                % (method, path, status, expect, resp[:300].decode("utf-8", "replace"))
            )
        return status, resp_headers, resp

    async def setup(self):
        a, c = self.a, Conn(self.host, self.port)
        W = a.write_token
        p = "/api/v1/projects"
        roles = ["viewer", "deployer", "maintainer", "admin"]
        await self.call(c, "POST", p, W, {"name": "Soak", "slug": PROJECT}, expect=(201,))
        await self.call(c, "PUT", "%s/%s/members/%s" % (p, PROJECT, a.user), W, {"role": "maintainer"})
        for i in range(1, OTHER_PROJECTS + 1):
            slug = "soak-%02d" % i
            await self.call(c, "POST", p, W, {"name": "Soak %d" % i, "slug": slug}, expect=(201,))
            if i % 2:
                await self.call(c, "PUT", "%s/%s/members/%s" % (p, slug, a.user), W, {"role": roles[i % 4]})
        pp = "%s/%s" % (p, PROJECT)
        await self.call(c, "POST", pp + "/environments", W,
                        {"name": "Staging", "slug": ENV, "branch": "staging"}, expect=(201,))
        await self.call(c, "POST", pp + "/environments", W,
                        {"name": "Production", "slug": "production", "branch": "main", "protected": True},
                        expect=(201,))
        ep = "%s/environments/%s" % (pp, ENV)
        for svc in ("web", "worker", "cache"):
            await self.call(c, "PUT", "%s/services/%s" % (ep, svc), W,
                            {"name": svc, "image": UNPULLABLE.format(svc), "replicas": 2})
        for name in ("DEBUG", "LOG_LEVEL", "SITE_URL"):
            await self.call(c, "PUT", "%s/variables/%s" % (ep, name), W, {"value": "1"})
        await self.call(c, "PUT", ep + "/variables/DB_PASSWORD", W, {"value": "soak-db-password", "secret": True})
        for i in range(SHARED_VARS):
            await self.call(c, "PUT", "%s/variables/SOAK_%d" % (ep, i), W, {"value": "a"})
        await self.call(c, "PUT", pp + "/variables/GITHUB_WEBHOOK_SECRET", W, {"value": self.secret, "secret": True})
        await self.call(c, "PUT", pp + "/webhook", W, {"repository": REPOSITORY})
        # The deploy waits in its pull step until cancelled (or this timeout).
        _, _, body = await self.call(c, "GET", ep + "/deploy-settings", W)
        settings = json.loads(body)
        settings["pull_timeout_secs"] = min(3600, int(a.secs) + 300)
        await self.call(c, "PUT", ep + "/deploy-settings", W, settings)

        # Sign in the way the login form does (its action is the login server function).
        _, _, page = await self.call(c, "GET", "/login")
        m = re.search(rb'action="(/api/login[^"]*)"', page)
        if not m:
            raise SystemExit("set-up: no login form action on /login")
        form = urllib.parse.urlencode({"username": a.user, "password": a.password}).encode()
        _, h, _ = await self.call(
            c, "POST", m.group(1).decode(), body=form,
            headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", self.origin),
                     ("Sec-Fetch-Site", "same-origin")],
            expect=(200, 302, 303))
        sc = h.get(b"set-cookie", b"").decode()
        if not sc.startswith("berth_session="):
            raise SystemExit("set-up: signing in did not set the berth_session cookie")
        self.cookie = sc.split(";", 1)[0]

        # The first deploy to follow.
        await self.new_deploy(c, setup=True)

        self.api_reads = [
            "/api/v1/me",
            "/api/v1/projects",
            pp,
            pp + "/environments",
            ep,
            ep + "/services",
            ep + "/variables",
            pp + "/variables",
            pp + "/members",
            pp + "/sites",
            pp + "/webhook",
            pp + "/deliveries?limit=20",
            ep + "/deploys?limit=20",
            ep + "/releases",
            ep + "/deploy-settings",
            "/api/v1/audit?limit=50",
        ]
        for path in self.api_reads + ["/api/v1/deploys/%d" % self.deploy_id]:
            await self.call(c, "GET", path, a.read_token)
        for path, marker in self.pages():
            _, _, body = await self.call(c, "GET", path, headers=[("Cookie", self.cookie)])
            if marker not in body:
                raise SystemExit("set-up: GET %s (signed in) does not show %r" % (path, marker))
        c.close()
        log("set-up: project %s (+%d), environment %s with 3 services, signed in as %s, deploy #%d to follow"
            % (PROJECT, OTHER_PROJECTS, ENV, a.user, self.deploy_id))

    def pages(self):
        return [
            ("/projects", b"soak-01"),
            ("/projects/%s/environments/%s" % (PROJECT, ENV), b"DB_PASSWORD"),
            ("/projects/%s/webhook" % PROJECT, REPOSITORY.encode()),
            ("/projects/%s/environments/%s/deploys" % (PROJECT, ENV), b"soak"),
        ]

    async def new_deploy(self, conn, setup=False):
        path = "/api/v1/projects/%s/environments/%s/deploys" % (PROJECT, ENV)
        body = json.dumps({"reason": "soak %d" % (self.deploy_generation + 1)}).encode()
        head = build_head("POST", path, self.hostport,
                          [("Authorization", "Bearer " + self.a.write_token),
                           ("Content-Type", "application/json")], len(body))
        if setup:
            _, _, resp = await self.call(conn, "POST", path, self.a.write_token, body, expect=(202,))
        else:
            ok, resp = await self.timed(conn, "deploy_ops", "POST …/deploys", head, body, (202,), b'"id"')
            if not ok:
                return False
        self.deploy_id = json.loads(resp)["id"]
        self.deploy_generation += 1
        return True

    # -- measured requests ----------------------------------------------------------------------

    async def timed(self, conn, kind, endpoint, head, body, expect, marker=None):
        t0 = time.perf_counter()
        try:
            status, _, resp = await asyncio.wait_for(conn.request(head, body), TIMEOUT_SECS)
        except asyncio.TimeoutError:
            conn.close()
            self.st.record(kind, endpoint, time.perf_counter() - t0, False, "timeout: no answer in %d s" % TIMEOUT_SECS)
            return False, b""
        except Exception as e:  # connection refused or reset, EOF, a malformed answer
            conn.close()
            self.st.record(kind, endpoint, time.perf_counter() - t0, False,
                           "connection: %s %s" % (type(e).__name__, e))
            return False, b""
        dt = time.perf_counter() - t0
        if status not in expect:
            what = "%s %d: %s" % ("5xx" if status >= 500 else "status", status,
                                  resp[:200].decode("utf-8", "replace"))
            self.st.record(kind, endpoint, dt, False, what)
            return False, resp
        if marker is not None and marker not in resp:
            self.st.record(kind, endpoint, dt, False,
                           "content: %d answer without %r: %s" % (status, marker, resp[:160].decode("utf-8", "replace")))
            return False, resp
        self.st.record(kind, endpoint, dt, True)
        return True, resp

    async def worker(self, i):
        a, rnd = self.a, random.Random(i * 7919 + 1)
        conn = Conn(self.host, self.port)
        H = self.hostport
        page_hdr = [("Cookie", self.cookie), ("Accept", "text/html")]
        read_hdr = [("Authorization", "Bearer " + a.read_token), ("Accept", "application/json")]
        write_hdr = [("Authorization", "Bearer " + a.write_token), ("Content-Type", "application/json")]
        pages = self.pages()
        page_heads = [build_head("GET", path, H, page_hdr, 0) for path, _ in pages]
        read_heads = [(path.split("?")[0], build_head("GET", path, H, read_hdr, 0)) for path in self.api_reads]
        ep = "/api/v1/projects/%s/environments/%s" % (PROJECT, ENV)
        mine = "/api/v1/projects/%s/variables/SOAK_TMP_%d" % (PROJECT, i)
        have_mine = False
        flip = 0
        hook_path = "/api/hooks/github/%s" % PROJECT
        kinds = ["page", "api_read", "api_write", "webhook"]
        cum, total = [], 0
        for w in (a.w_pages, a.w_reads, a.w_writes, a.w_webhooks):
            total += w
            cum.append(total)
        while time.monotonic() < self.deadline:
            k = rnd.choices(kinds, cum_weights=cum)[0]
            if k == "page":
                x = rnd.random()
                j = 0 if x < 0.45 else 1 if x < 0.9 else rnd.choice((2, 3))
                kind = ("page_projects", "page_env", "page_other", "page_other")[j]
                await self.timed(conn, kind, "GET " + pages[j][0], page_heads[j], b"", (200,), pages[j][1])
            elif k == "api_read":
                if rnd.random() < 0.08 and self.deploy_id is not None:
                    path = "/api/v1/deploys/%d" % self.deploy_id
                    await self.timed(conn, "api_read", "GET /api/v1/deploys/{id}",
                                     build_head("GET", path, H, read_hdr, 0), b"", (200,))
                else:
                    label, head = rnd.choice(read_heads)
                    await self.timed(conn, "api_read", "GET " + label, head, b"", (200,))
            elif k == "api_write":
                if rnd.random() < 0.6:
                    flip += 1
                    n = rnd.randrange(SHARED_VARS)
                    body = json.dumps({"value": "ab"[flip % 2] * (1 + flip % 7)}).encode()
                    await self.timed(conn, "api_write", "PUT %s/variables/SOAK_n" % ep,
                                     build_head("PUT", "%s/variables/SOAK_%d" % (ep, n), H, write_hdr, len(body)),
                                     body, (200,), b'"SOAK_')
                elif not have_mine:
                    body = json.dumps({"value": uuid.uuid4().hex}).encode()
                    ok, _ = await self.timed(conn, "api_write", "PUT /api/v1/projects/soak/variables/SOAK_TMP_i",
                                             build_head("PUT", mine, H, write_hdr, len(body)), body, (200, 201))
                    have_mine = have_mine or ok
                else:
                    ok, _ = await self.timed(conn, "api_write", "DELETE /api/v1/projects/soak/variables/SOAK_TMP_i",
                                             build_head("DELETE", mine, H, write_hdr, 0), b"", (200, 204))
                    have_mine = have_mine and not ok
            else:
                sha = os.urandom(20).hex()
                body = json.dumps({
                    "ref": "refs/heads/" + BRANCH_NOBODY_FOLLOWS,
                    "before": "0" * 40,
                    "after": sha,
                    "repository": {"full_name": REPOSITORY, "name": REPOSITORY.split("/")[1],
                                   "owner": {"login": REPOSITORY.split("/")[0]}},
                    "pusher": {"name": "soak", "email": "soak@example.com"},
                    "sender": {"login": "soak"},
                    "created": False, "deleted": False, "forced": False,
                    "head_commit": {"id": sha, "message": "soak push %d" % rnd.randrange(1 << 30),
                                    "author": {"name": "Soak", "email": "soak@example.com"}},
                    "commits": [],
                }).encode()
                sig = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
                head = build_head("POST", hook_path, H, [
                    ("Content-Type", "application/json"),
                    ("User-Agent", "GitHub-Hookshot/soak"),
                    ("X-GitHub-Event", "push"),
                    ("X-GitHub-Delivery", str(uuid.uuid4())),
                    ("X-GitHub-Hook-ID", "1"),
                    ("X-Hub-Signature-256", sig),
                ], len(body))
                await self.timed(conn, "webhook", "POST " + hook_path, head, body, (200, 202), b'"skipped"')
        conn.close()

    async def keeper(self):
        """Keeps a deploy running for the followers; rotates it every --rotate seconds."""
        conn = Conn(self.host, self.port)
        rotate_at = time.monotonic() + self.a.rotate
        hdr = [("Authorization", "Bearer " + self.a.write_token)]
        last_new = time.monotonic()
        while not self.stopping:
            await asyncio.sleep(2)
            if self.stopping:
                break
            did = self.deploy_id
            ok, resp = await self.timed(conn, "deploy_ops", "GET /api/v1/deploys/{id}",
                                        build_head("GET", "/api/v1/deploys/%d" % did, self.hostport, hdr, 0),
                                        b"", (200,))
            if not ok:
                continue
            status = json.loads(resp)["deploy"]["status"]
            if status in ("queued", "running"):
                if time.monotonic() >= rotate_at and time.monotonic() < self.deadline - 5:
                    ok, _ = await self.timed(conn, "deploy_ops", "POST /api/v1/deploys/{id}/cancel",
                                             build_head("POST", "/api/v1/deploys/%d/cancel" % did,
                                                        self.hostport, hdr, 0), b"", (200, 409))
                    rotate_at = time.monotonic() + self.a.rotate
                continue
            if status != "cancelled":
                self.st.notes.append("deploy #%d ended %s (not cancelled by the keeper)" % (did, status))
            if time.monotonic() - last_new < 5 or time.monotonic() >= self.deadline - 5:
                continue
            last_new = time.monotonic()
            if await self.new_deploy(conn):
                rotate_at = time.monotonic() + self.a.rotate
        conn.close()

    async def follower(self, j):
        H = self.hostport
        last_id, following = None, None
        while not self.stopping:
            did = self.deploy_id
            if did != following:
                following, last_id = did, None
                self._last_id.pop(j, None)
            hdr = [("Authorization", "Bearer " + self.a.read_token), ("Accept", "text/event-stream"),
                   ("Cache-Control", "no-cache")]
            if last_id is not None:
                hdr.append(("Last-Event-ID", last_id))
            head = build_head("GET", "/api/v1/deploys/%d/log" % did, H, hdr, 0)
            conn = Conn(self.host, self.port)
            ended = False
            endpoint = "GET /api/v1/deploys/{id}/log (SSE)"
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(conn.send(head, b""), TIMEOUT_SECS)
                status, headers = await asyncio.wait_for(conn.read_head(), TIMEOUT_SECS)
                dt = time.perf_counter() - t0
                ctype = headers.get(b"content-type", b"")
                if status != 200 or b"text/event-stream" not in ctype:
                    body = await asyncio.wait_for(conn.read_body(status, headers), TIMEOUT_SECS)
                    self.st.record("sse", endpoint, dt, False, "status %d (%s): %s" % (
                        status, ctype.decode(), body[:200].decode("utf-8", "replace")))
                    conn.close()
                    await asyncio.sleep(1)
                    continue
                self.st.record("sse", endpoint, dt, True)
                self.st.sse_streams += 1
                ended = await self.read_events(conn, headers, j)
            except asyncio.CancelledError:
                conn.close()
                raise
            except asyncio.TimeoutError:
                if not self.stopping:
                    self.st.record("sse", endpoint, time.perf_counter() - t0, False, "timeout: no response head")
            except _Silent:
                if not self.stopping:
                    self.st.error("sse", endpoint, "stalled: no bytes for %d s" % SSE_SILENCE_SECS)
            except Exception as e:  # connection refused or reset, EOF, a malformed answer
                if not self.stopping:
                    self.st.error("sse", endpoint, "connection: %s %s" % (type(e).__name__, e))
            finally:
                conn.close()
            if self.stopping:
                break
            last_id = self._last_id.get(j, last_id)
            if ended:
                self.st.sse_ended += 1
                if self.deploy_id == following:
                    await asyncio.sleep(1)  # the keeper queues the next one
            else:
                await asyncio.sleep(0.5)

    async def read_events(self, conn, headers, j):
        """Reads SSE events until the stream ends; True when it ended with an `end` event."""
        r = conn.r
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        buf = b""
        event = b""
        ended = False

        async def more():
            try:
                if chunked:
                    size = int((await asyncio.wait_for(r.readuntil(b"\r\n"), SSE_SILENCE_SECS)).split(b";", 1)[0], 16)
                    if size == 0:
                        return None
                    chunk = await asyncio.wait_for(r.readexactly(size + 2), SSE_SILENCE_SECS)
                    return chunk[:-2]
                data = await asyncio.wait_for(r.read(65536), SSE_SILENCE_SECS)
                return data or None
            except asyncio.TimeoutError:
                raise _Silent()

        while True:
            data = await more()
            if data is None:
                if not ended and not self.stopping:
                    self.st.error("sse", "GET /api/v1/deploys/{id}/log (SSE)", "stream closed before its `end` event")
                return ended
            buf += data
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line, buf = buf[:nl].rstrip(b"\r"), buf[nl + 1:]
                if not line:
                    if event:
                        self.st.sse_events += 1
                        if event == b"end":
                            ended = True
                        elif event == b"error":
                            self.st.error("sse", "GET /api/v1/deploys/{id}/log (SSE)", "an `error` event")
                    event = b""
                elif line.startswith(b"event:"):
                    event = line[6:].strip()
                elif line.startswith(b"id:"):
                    self._last_id[j] = line[3:].strip().decode()
                    self.st.sse_lines += 1
                # data:, comments (keep-alives) and retry: need nothing

    # -- memory -------------------------------------------------------------------------------

    def proc(self):
        rss = hwm = 0
        try:
            with open("/proc/%d/status" % self.a.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
            with open("/proc/%d/stat" % self.a.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None
        return rss, hwm, cpu

    def db_size(self):
        """(database, WAL) bytes of the SQLite database in --data-dir, or None."""
        if not self.a.data_dir:
            return None
        db = wal = 0
        for name in os.listdir(self.a.data_dir):
            size = os.path.getsize(os.path.join(self.a.data_dir, name))
            if name.endswith((".db", ".sqlite", ".sqlite3")):
                db += size
            elif name.endswith("-wal"):
                wal += size
        return db, wal

    async def sampler(self, samples, start):
        while True:
            await asyncio.sleep(self.a.sample)
            t = time.monotonic() - start
            p = self.proc()
            lat = sorted(self.st.win_lat)
            n, errs = len(lat), self.st.win_errors
            self.st.win_lat, self.st.win_errors = [], 0
            if p is None:
                self.st.notes.append("berth serve (pid %d) is gone at %.0f s" % (self.a.pid, t))
                log("  %5.0f s  berth serve is gone" % t)
                return
            rss, hwm, cpu = p
            samples.append((t, rss, hwm))
            db = self.db_size()
            log("  %5.0f s  %6.0f req/s  p99 %7.1f ms  max %7.1f ms  errors %4d  VmRSS %6.1f MiB  VmHWM %6.1f MiB%s"
                % (t, n / self.a.sample, pct(lat, 99) * 1000, (lat[-1] if lat else 0) * 1000, errs,
                   rss / 1024, hwm / 1024, "" if db is None else "  db %5.1f MiB + WAL %4.1f MiB" % (db[0] / 1048576, db[1] / 1048576)))

    # -- run and report -------------------------------------------------------------------------

    async def run(self):
        a = self.a
        await self.setup()
        n_workers = max(1, a.conns - a.sse - 1)
        log("soak: %d s, %d connections = %d request workers + %d SSE followers + 1 deploy keeper; "
            "mix pages:reads:writes:webhooks = %g:%g:%g:%g"
            % (a.secs, n_workers + a.sse + 1, n_workers, a.sse, a.w_pages, a.w_reads, a.w_writes, a.w_webhooks))
        p0 = self.proc()
        cpu0 = p0[2] if p0 else 0.0
        t_cpu0 = os.times()
        start = time.monotonic()
        self.deadline = start + a.secs
        self.st = Stats()  # what the set-up did is not measured
        samples = []
        sampler = asyncio.ensure_future(self.sampler(samples, start))
        keeper = asyncio.ensure_future(self.keeper())
        followers = [asyncio.ensure_future(self.follower(j)) for j in range(a.sse)]
        await asyncio.gather(*(self.worker(i) for i in range(n_workers)))
        elapsed = time.monotonic() - start
        self.stopping = True
        for t in followers:
            t.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
        await asyncio.gather(keeper, return_exceptions=True)
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        p1 = self.proc()
        if p1:
            samples.append((time.monotonic() - start, p1[0], p1[1]))
        t_cpu1 = os.times()
        server_cpu = ((p1[2] if p1 else cpu0) - cpu0) / elapsed
        client_cpu = ((t_cpu1.user - t_cpu0.user) + (t_cpu1.system - t_cpu0.system)) / elapsed
        # Cancel the last deploy so that the server stops promptly; read its own latency metrics.
        c = Conn(self.host, self.port)
        self.server_metrics = b""
        try:
            await self.call(c, "POST", "/api/v1/deploys/%d/cancel" % self.deploy_id, a.write_token, expect=())
            _, _, self.server_metrics = await self.call(c, "GET", "/metrics", expect=())
        except Exception:
            pass
        c.close()
        return self.report(elapsed, samples, server_cpu, client_cpu)

    def report(self, elapsed, samples, server_cpu, client_cpu):
        a, st = self.a, self.st
        title = "soak on %s: %.0f s, %d connections" % (a.db, elapsed, a.conns)
        log("")
        log("== %s ==" % title)
        log("| requests | count | req/s | p50 ms | p99 ms | max ms | errors | > 5 s | p50 ms first → last third of the run |")
        log("|---|---|---|---|---|---|---|---|---|")
        all_lat = array.array("f")
        tot_err = tot_slow = 0
        for k, label in KINDS:
            v = sorted(st.lat[k])
            all_lat.extend(st.lat[k])
            tot_err += st.errors[k]
            tot_slow += st.slow[k]
            early = sorted(d for d, t in zip(st.lat[k], st.at[k]) if t < elapsed / 3)
            late = sorted(d for d, t in zip(st.lat[k], st.at[k]) if t >= elapsed * 2 / 3)
            log("| %s | %d | %.1f | %.1f | %.1f | %.1f | %d | %d | %.1f → %.1f |" % (
                label, len(v), len(v) / elapsed, pct(v, 50) * 1000, pct(v, 99) * 1000,
                (v[-1] if v else 0) * 1000, st.errors[k], st.slow[k], pct(early, 50) * 1000, pct(late, 50) * 1000))
        v = sorted(all_lat)
        n1 = sum(1 for k, _ in KINDS for t in st.at[k] if t < elapsed / 3)
        n3 = sum(1 for k, _ in KINDS for t in st.at[k] if t >= elapsed * 2 / 3)
        log("| **all** | %d | %.1f | %.1f | %.1f | %.1f | %d | %d | %.0f → %.0f req/s |" % (
            len(v), len(v) / elapsed, pct(v, 50) * 1000, pct(v, 99) * 1000, (v[-1] if v else 0) * 1000,
            tot_err, tot_slow, n1 / (elapsed / 3), n3 / (elapsed / 3)))
        log("SSE: %d streams opened, %d ended with `end`, %d events (%d log lines), %d deploys followed"
            % (st.sse_streams, st.sse_ended, st.sse_events, st.sse_lines, self.deploy_generation))
        log("CPU: berth serve %.2f cores, this load generator %.2f cores (of %d); load average at the end %.1f"
            % (server_cpu, client_cpu, os.cpu_count() or 0, os.getloadavg()[0]))
        for n in st.notes[:10]:
            log("note: " + n)
        if st.err_detail:
            log("errors by endpoint:")
            for (k, ep, _), (n, ex) in sorted(st.err_detail.items(), key=lambda x: -x[1][0]):
                log("  %6d  %s  e.g. %s" % (n, ep, ex))
        if st.slow_detail:
            log("requests over 5 s by endpoint:")
            for (k, ep), (n, mx) in sorted(st.slow_detail.items(), key=lambda x: -x[1][0]):
                log("  %6d  %s  (max %.1f s)" % (n, ep, mx))

        # Where the time went, as the server measured it (GET /metrics, the whole run).
        sums, counts = {}, {}
        for line in self.server_metrics.decode("utf-8", "replace").splitlines():
            m = re.match(r'berth_http_request_duration_seconds_(sum|count)\{route="([^"]*)"\} ([0-9.e+-]+)', line)
            if m:
                (sums if m.group(1) == "sum" else counts)[m.group(2)] = float(m.group(3))
        top = sorted(((sums[r] / counts[r], r, counts[r]) for r in sums if counts.get(r)), reverse=True)[:8]
        if top:
            log("server-side mean latency by route (GET /metrics), slowest first: " + "; ".join(
                "%s %.1f ms (%d)" % (r, avg * 1000, n) for avg, r, n in top))

        # RSS: after the warm-up, the last third's average against the first third's.
        warm = a.warmup if a.warmup >= 0 else min(60.0, max(20.0, a.secs / 10.0))
        log("VmRSS samples (MiB, every %g s; warm-up %g s excluded): %s" % (
            a.sample, warm, " ".join("%.1f%s" % (r / 1024, "*" if t < warm else "") for t, r, _ in samples)))
        kept = [r for t, r, _ in samples if t >= warm]
        rss_ok, rss_text = False, "too few samples"
        first = last = mx = 0.0
        if len(kept) >= 3:
            third = max(1, len(kept) // 3)
            first = sum(kept[:third]) / third / 1024
            last = sum(kept[-third:]) / third / 1024
            growth = last - first
            rss_ok = growth <= max(0.10 * first, a.rss_slack_mib)
            rss_text = "%.1f → %.1f MiB (%+.1f MiB, %+.1f%%)" % (first, last, growth, 100.0 * growth / first)
        if samples:
            mx = max(r for _, r, _ in samples) / 1024
        hwm = samples[-1][2] / 1024 if samples else 0
        log("VmRSS: first %.1f MiB, last %.1f MiB, max %.1f MiB (VmHWM %.1f MiB)" % (
            kept[0] / 1024 if kept else 0, kept[-1] / 1024 if kept else 0, mx, hwm))
        log("")
        log("| %s | value | target | met |" % a.db)
        log("|---|---|---|---|")
        yes = lambda ok: "yes" if ok else "NO"
        log("| requests (all kinds), throughput | %d, %.0f/s | report | - |" % (len(v), len(v) / elapsed))
        log("| errors (connection, timeout, 5xx, unexpected status or content, broken SSE) | %d | 0 | %s |"
            % (tot_err, yes(tot_err == 0)))
        log("| requests over 5 s | %d | 0 | %s |" % (tot_slow, yes(tot_slow == 0)))
        log("| max latency | %.0f ms | report | - |" % ((v[-1] if v else 0) * 1000))
        log("| VmRSS, avg of last third vs first third after warm-up | %s | <= +10%% or +%g MiB | %s |"
            % (rss_text, a.rss_slack_mib, yes(rss_ok)))
        gone = any("is gone" in n for n in st.notes)
        if gone:
            log("| berth serve still running | no | yes | NO |")
        ok = tot_err == 0 and tot_slow == 0 and rss_ok and not gone and len(v) > 0
        log("soak on %s: %s" % (a.db, "PASSED" if ok else "FAILED"))
        return 0 if ok else 1


class _Silent(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True, help="berth serve's pid (for VmRSS)")
    ap.add_argument("--db", default="sqlite", help="a label for the report")
    ap.add_argument("--data-dir", default="", help="berth's data dir (reports the SQLite file size)")
    ap.add_argument("--user", required=True)
    ap.add_argument("--secs", type=float, default=600)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--sse", type=int, default=8, help="SSE followers (part of --conns)")
    ap.add_argument("--rotate", type=float, default=0, help="seconds between deploy rotations (0: secs/5, 20..120)")
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--rss-slack-mib", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=-1,
                    help="seconds of RSS samples not judged (default: a tenth of --secs, 20 to 60)")
    ap.add_argument("--mix", default="pages=40,reads=35,writes=15,webhooks=10")
    a = ap.parse_args()
    # Secrets come by environment (argv is readable by every local user).
    try:
        a.password = os.environ["SOAK_PASSWORD"]
        a.write_token = os.environ["SOAK_WRITE_TOKEN"]  # an instance admin's token, scope write
        a.read_token = os.environ["SOAK_READ_TOKEN"]  # the same admin's, scope read
    except KeyError as e:
        raise SystemExit("set %s in the environment (scripts/soak.sh does)" % e)
    mix = dict(kv.split("=") for kv in a.mix.split(","))
    a.w_pages, a.w_reads = float(mix.get("pages", 0)), float(mix.get("reads", 0))
    a.w_writes, a.w_webhooks = float(mix.get("writes", 0)), float(mix.get("webhooks", 0))
    if a.rotate <= 0:
        a.rotate = min(120.0, max(20.0, a.secs / 5))
    a.sse = max(0, min(a.sse, a.conns - 2))
    try:
        rc = asyncio.run(Soak(a).run())
    except SystemExit as e:
        if isinstance(e.code, str):
            print("error: " + e.code, file=sys.stderr)
            sys.exit(2)
        raise
    sys.exit(rc)


if __name__ == "__main__":
    main()

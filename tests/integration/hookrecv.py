#!/usr/bin/python3
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
"""A webhook receiver for tests/integration/webhooks.sh and
contrib/bench-hook.sh.

  hookrecv.py serve PORT SECRET_FILE DIR
      Listen on 127.0.0.1:PORT. Every POST's X-Porthole-Signature is
      checked against HMAC-SHA256(secret, body), the secret read from
      SECRET_FILE at each request. A good one: each event of the JSON
      array body goes to DIR/events.jsonl as one line
      {"recv_ms": ..., "delivery": ..., "event": {...}}, and the answer
      is 200. A bad one: a line in DIR/bad.log and 401. Every request
      is also kept as DIR/req-PID-N.body with its signature in
      DIR/req-PID-N.sig, for the checker's own test.
  hookrecv.py verify SECRET_FILE BODY_FILE SIG_FILE
      Exit 0 if the signature verifies, 1 if not: the same check.
"""

import hashlib
import hmac
import http.server
import json
import os
import sys
import time


def verify(secret, body, sig):
    """Whether sig is "sha256=" and the hex HMAC-SHA256 of body."""
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want.encode(), (sig or "").encode())


def read_secret(path):
    with open(path, "rb") as f:
        return f.read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    nreq = 0

    def log_message(self, fmt, *args):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        d = self.server.dir
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        sig = self.headers.get("X-Porthole-Signature")
        delivery = self.headers.get("X-Porthole-Delivery")
        Handler.nreq += 1
        base = os.path.join(d, "req-%d-%d" % (os.getpid(), Handler.nreq))
        with open(base + ".body", "wb") as f:
            f.write(body)
        with open(base + ".sig", "w") as f:
            f.write(sig or "")
        if not verify(read_secret(self.server.secret_file), body, sig):
            with open(os.path.join(d, "bad.log"), "a") as f:
                f.write("request %d: bad signature %r\n" % (Handler.nreq, sig))
            self.answer(401)
            return
        now = int(time.time() * 1000)
        with open(os.path.join(d, "events.jsonl"), "a") as f:
            for ev in json.loads(body):
                f.write(json.dumps({"recv_ms": now, "delivery": delivery,
                                    "event": ev}) + "\n")
        self.answer(200)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
        srv.secret_file = sys.argv[3]
        srv.dir = sys.argv[4]
        print("listening", flush=True)
        srv.serve_forever()
    elif len(sys.argv) == 5 and sys.argv[1] == "verify":
        with open(sys.argv[3], "rb") as f:
            body = f.read()
        with open(sys.argv[4]) as f:
            sig = f.read().strip()
        sys.exit(0 if verify(read_secret(sys.argv[2]), body, sig) else 1)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()

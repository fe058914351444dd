#!/usr/bin/python3
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
#
# apicheck.py OPENAPI RECORDS: validate every answer the API gave in a
# test against the schema /openapi.json gives for its route and status.
#
# OPENAPI is the description as the server served it. RECORDS has one
# line per request, "METHOD PATH STATUS BODYFILE" (PATH without the
# query). Each body must be JSON matching the schema of the response of
# that status of the path template that matches PATH (/reserved_addrs/
# {id} matches /reserved_addrs/ra_…); a status the description does not
# list for the route, or a route it does not have, is a failure too.
# 204 answers must be empty. Prints one line per failure and a summary;
# exits 1 if anything failed.

import json
import re
import sys

from jsonschema import Draft202012Validator, RefResolver


def template_re(template):
    parts = []
    for seg in template.strip("/").split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(seg))
    return re.compile("^/" + "/".join(parts) + "$")


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    resolver = RefResolver.from_schema(doc)
    routes = [(template_re(t), t, item) for t, item in doc["paths"].items()]
    # A literal segment wins over a parameter (/events/stream, /{id}).
    routes.sort(key=lambda r: r[1].count("{"))
    failures = 0
    checked = 0
    seen = set()
    with open(sys.argv[2]) as f:
        records = [line.split() for line in f if line.strip()]
    for method, path, status, bodyfile in records:
        where = "%s %s -> %s" % (method, path, status)
        match = None
        for rx, template, item in routes:
            if rx.match(path):
                match = (template, item)
                break
        # A path the API does not have is 404, a method a path does not
        # have 405: both answered with the shared error response.
        if match is None and status == "404":
            match = ("(none)", {})
        if match is None:
            print("FAIL %s: no route in /openapi.json" % where)
            failures += 1
            continue
        template, item = match
        op = item.get(method.lower())
        if op is None:
            if status in ("404", "405"):
                resp = doc["components"]["responses"]["E" + status]
            else:
                print("FAIL %s: %s has no %s" % (where, template, method))
                failures += 1
                continue
        else:
            resp = op["responses"].get(status)
        if resp is None:
            print("FAIL %s: status not described for %s %s"
                  % (where, method, template))
            failures += 1
            continue
        if "$ref" in resp:
            _, resp = resolver.resolve(resp["$ref"])
        with open(bodyfile, "rb") as f:
            raw = f.read()
        content = resp.get("content")
        if content is None:
            if raw.strip():
                print("FAIL %s: a body where none is described" % where)
                failures += 1
            checked += 1
            seen.add((method, template, status))
            continue
        media = content.get("application/json")
        if media is None:
            checked += 1
            seen.add((method, template, status))
            continue
        try:
            body = json.loads(raw)
        except ValueError as e:
            print("FAIL %s: not JSON: %s" % (where, e))
            failures += 1
            continue
        validator = Draft202012Validator(media["schema"], resolver=resolver,
                                         format_checker=None)
        errors = sorted(validator.iter_errors(body), key=lambda e: e.path)
        if errors:
            for e in errors[:3]:
                print("FAIL %s: %s at %s" % (where, e.message,
                                             "/".join(map(str, e.path))))
            failures += 1
            continue
        checked += 1
        seen.add((method, template, status))
    print("apicheck: %d answers valid against /openapi.json, %d failed; "
          "%d distinct (method, route, status)" % (checked, failures,
                                                   len(seen)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Loads NDJSON files of FHIR resources into a FHIR server through its API (bench/fhir).

    python3 load_peer.py BASE JOBS FILE.ndjson...

Each file is sent in batch Bundles of PUT entries (the resource's own id), JOBS Bundles at
once, in the order of the files (Organizations before the PractitionerRoles that point at
them). Fails on the first answer that is not 2xx, or on an entry refused. Prints a count
per type at the end. Standard library only.
"""

import concurrent.futures
import json
import sys
import urllib.error
import urllib.request

BATCH = 500


def bundles(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            entries.append({
                "resource": r,
                "request": {"method": "PUT", "url": "%s/%s" % (r["resourceType"], r["id"])},
            })
            if len(entries) == BATCH:
                yield entries
                entries = []
    if entries:
        yield entries


def post(base, entries):
    body = json.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries}).encode()
    req = urllib.request.Request(base + "/", data=body, method="POST", headers={
        "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as e:
        raise SystemExit("HTTP %s: %s" % (e.code, e.read()[:500].decode(errors="replace")))
    for e in answer.get("entry", []):
        status = e.get("response", {}).get("status", "")
        if not status[:1] == "2":
            raise SystemExit("entry refused: %s" % json.dumps(e)[:500])
    return len(entries)


def main():
    base, jobs, files = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3:]
    counts = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for path in files:
            kind = path.rsplit("/", 1)[-1].split(".")[0]
            pending = set()
            n = 0
            for b in bundles(path):
                pending.add(pool.submit(post, base, b))
                if len(pending) >= jobs * 2:
                    done, pending = concurrent.futures.wait(
                        pending, return_when=concurrent.futures.FIRST_COMPLETED)
                    n += sum(f.result() for f in done)
            n += sum(f.result() for f in concurrent.futures.as_completed(pending))
            counts[kind] = n
            print("%s: %d" % (kind, n), flush=True)
    print(", ".join("%d %s" % (n, k) for k, n in counts.items()))


if __name__ == "__main__":
    main()

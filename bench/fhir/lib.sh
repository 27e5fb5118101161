# bench/fhir/lib.sh — what bench/fhir/run and bench/fhir/compare share: one wrk line against
# a server and its summary (requests/s, p50, p99, errors, the server's CPU per request).
# Sourced; needs HERE (this folder), THREADS, CONNECTIONS and DURATION.

# CPU clock ticks (user + system) process $1 has used so far, from /proc.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# wrk_line PID URL PATHS OUT: DURATION seconds of wrk (THREADS threads, CONNECTIONS
# connections, bench/fhir/paths.lua walking the PATHS file) against URL, its report in OUT;
# prints the clock ticks server PID used meanwhile (its CPU per request is much less moved
# by the machine's load than the latencies).
wrk_line() {
    local before after
    before="$(cpu_ticks "$1")"
    PATHS="$3" THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        --timeout 30s -s "$HERE/paths.lua" "$2" > "$4" 2>&1 || true
    after="$(cpu_ticks "$1")"
    echo "$((after - before))"
}

# wrk_summary OUT TICKS LABEL…: one tab-separated line, the LABELs then req/s, p50 ms,
# p99 ms, failed requests (non-2xx and timeouts) and the server's CPU ms per request.
wrk_summary() {
    python3 - "$@" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, ticks, labels, hz = sys.argv[1], float(sys.argv[2]), sys.argv[3:-1], float(sys.argv[-1])
text = open(out).read()
total = re.search(r'(\d+) requests in', text)
n = int(total.group(1)) if total else 0
cpu = ticks / hz * 1000 / n if n else float('nan')
def ms(label):
    m = re.search(r'^\s*' + label + r'\s+([\d.]+)(us|ms|s)\b', text, re.M)
    if not m: return float('nan')
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == 'us' else v * 1000 if u == 's' else v
rps = re.search(r'Requests/sec:\s+([\d.]+)', text)
bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', text)
errors = re.search(r'Socket errors:.*timeout (\d+)', text)
print("\t".join(labels + ["%.0f" % (float(rps.group(1)) if rps else float('nan')),
                 "%.1f" % ms('50%'), "%.1f" % ms('99%'),
                 str(int(bad.group(1) if bad else 0) + int(errors.group(1) if errors else 0)),
                 "%.2f" % cpu]))
PY
}

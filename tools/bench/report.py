#!/usr/bin/env python3
"""Turns the result lines of tools/bench/run.sh into the table of docs/performance.md.

Usage: tools/bench/report.py RESULTS_FILE

Each input line is a kind followed by key=value pairs (values may be double-quoted):
  hsm op=decrypt threads=2 ops_per_s=...             raw HSM baseline (bench/hsm_baseline.cc)
  row name=kmsd_wrap rps=... p50_us=... rss_kib=...  one wrk measurement (tools/bench/request.lua)
  startup deks=... ms=...                            engine start-up (bench/engine_client.cc)
  idle rss_kib=...                                   1,000 idle connections
  rotation deks=... median_ms=...                    tools/bench/rotation.sh
  machine nproc=... cpu="..." ...
Prints a Markdown table: every result, its baseline, the ratio, the target and PASS or MISS.
"""
import shlex
import sys


def parse(path):
    lines = {}
    for text in open(path):
        parts = shlex.split(text)
        if not parts:
            continue
        fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        lines.setdefault(parts[0], []).append(fields)
    return lines


def ms(us):
    return f"{int(us) / 1000:.2f}"


def cpu_total(r):
    """CPU time per request of server and load generator together, 0 when not measured."""
    return float(r.get("server_cpu_us", 0)) + float(r.get("wrk_cpu_us", 0))


def cpu_text(r):
    return f"{r['server_cpu_us']} + {r['wrk_cpu_us']}" if "server_cpu_us" in r else ""


def verdict(ok):
    return "PASS" if ok else "**MISS**"


def main(path):
    data = parse(path)
    rows = {r["name"]: r for r in data.get("row", [])}
    hsm = data.get("hsm", [])
    out = []

    def add(name, result, latency, rss, baseline, ratio, target, ok, load, cpu="", cpu_ratio="",
            cpu_ok=None):
        verdicts = " / ".join(verdict(v) for v in (ok, cpu_ok) if v is not None)
        out.append(f"| {name} | {result} | {latency} | {rss} | {cpu} | {baseline} | {ratio} | "
                   f"{cpu_ratio} | {target} | {verdicts} | {load} |")

    for h in hsm:
        add(f"raw HSM {h['op']}, {h['threads']} thread(s), in-process", f"{float(h['ops_per_s']):,.0f} ops/s",
            f"{h['p50_us']} / {h['p99_us']} µs", "", "(baseline)", "", "", None, "",
            cpu=f"{h.get('cpu_us_per_op', '')}")
    hsm_decrypt = max((float(h["ops_per_s"]) for h in hsm if h["op"] == "decrypt"), default=0)
    hsm_decrypt_cpu = min((float(h["cpu_us_per_op"]) for h in hsm
                           if h["op"] == "decrypt" and "cpu_us_per_op" in h), default=0)

    nginx_runs = [float(rows[n]["rps"]) for n in ("nginx_keepalive", "nginx_keepalive_after") if n in rows]
    # The higher of the two nginx runs (before and after the kmsd rows): the stricter baseline.
    nginx_ka = max(nginx_runs, default=0)
    for name in ("nginx_keepalive", "nginx_keepalive_after", "nginx_handshake"):
        if name in rows:
            r = rows[name]
            add(f"nginx static, {name.split('_', 1)[1].replace('_', ' ')}, {r['connections']} conns",
                f"{float(r['rps']):,.0f} req/s", f"{ms(r['p50_us'])} / {ms(r['p99_us'])} / {ms(r['p999_us'])} ms",
                "", "(baseline)", "", "", None, r["load"], cpu=cpu_text(r))
    # The cheaper of the two nginx runs in CPU per request: again the stricter baseline.
    nginx_ka_cpu = min((cpu_total(rows[n]) for n in ("nginx_keepalive", "nginx_keepalive_after")
                        if n in rows and cpu_total(rows[n])), default=0)

    def ratio_row(name, label, baseline, baseline_label, target, minimum, p99_limit_us=None, per_request=1,
                  baseline_cpu=0):
        if name not in rows:
            return
        r = rows[name]
        rate = float(r["rps"]) * per_request
        ratio = rate / baseline if baseline else 0
        ok = None
        if minimum is not None:
            ok = ratio >= minimum and (p99_limit_us is None or int(r["p99_us"]) <= p99_limit_us)
            ok = ok and int(r["non2xx"]) == 0 and int(r["errors"]) == 0
        unit = "DEKs/s" if per_request > 1 else "req/s"
        errors = "" if int(r["non2xx"]) == 0 and int(r["errors"]) == 0 else \
            f" ({r['non2xx']} non-2xx, {r['errors']} errors)"
        cpu_ratio, cpu_ok = "", None
        if baseline_cpu and cpu_total(r):
            cpu_ratio_value = baseline_cpu / (cpu_total(r) / per_request)
            cpu_ratio = f"{cpu_ratio_value:.0%}"
            if minimum is not None:
                cpu_ok = cpu_ratio_value >= minimum
        add(f"{label}, {r['connections']} conns", f"{rate:,.0f} {unit}{errors}",
            f"{ms(r['p50_us'])} / {ms(r['p99_us'])} / {ms(r['p999_us'])} ms",
            f"{int(r['rss_kib']) / 1024:.0f} MiB", baseline_label, f"{ratio:.0%}", target, ok, r["load"],
            cpu=cpu_text(r), cpu_ratio=cpu_ratio, cpu_ok=cpu_ok)

    nginx_label = f"nginx keep-alive {nginx_ka:,.0f}/s"
    ratio_row("kmsd_healthz", "kmsd GET /healthz (no auth, no worker)", nginx_ka, nginx_label, "", None, baseline_cpu=nginx_ka_cpu)
    ratio_row("kmsd_wrap", "wrap", nginx_ka, nginx_label, "≥ 50%, p99 ≤ 5 ms", 0.5, 5000, baseline_cpu=nginx_ka_cpu)
    ratio_row("kmsd_unwrap", "unwrap", nginx_ka, nginx_label, "≥ 50%, p99 ≤ 5 ms", 0.5, 5000, baseline_cpu=nginx_ka_cpu)
    ratio_row("kmsd_generate-data-key", "generate data key", nginx_ka, nginx_label, "", None, baseline_cpu=nginx_ka_cpu)
    ratio_row("kmsd_rewrap", "rewrap (v1 → v2)", nginx_ka, nginx_label, "", None, baseline_cpu=nginx_ka_cpu)
    ratio_row("kmsd_poll_304", "bundle poll answered 304", nginx_ka, nginx_label, "≥ 70%", 0.7, baseline_cpu=nginx_ka_cpu)
    hsm_label = f"raw HSM decrypt {hsm_decrypt:,.0f}/s"
    ratio_row("kmsd_batch_unwrap_100", "batch unwrap of 100", hsm_decrypt, hsm_label, "", None,
              per_request=100, baseline_cpu=hsm_decrypt_cpu)
    ratio_row("kmsd_batch_unwrap_1000", "batch unwrap of 1000", hsm_decrypt, hsm_label, "≥ 70%", 0.7,
              per_request=1000, baseline_cpu=hsm_decrypt_cpu)
    if "nginx_handshake" in rows:
        hs = float(rows["nginx_handshake"]["rps"])
        ratio_row("kmsd_handshake", "full TLS 1.3 handshakes (GET /healthz, new connection each)", hs,
                  f"nginx handshakes {hs:,.0f}/s", "≥ 80%", 0.8,
                  baseline_cpu=cpu_total(rows["nginx_handshake"]))

    for s in data.get("startup", []):
        cpu, cpu_ratio, cpu_ok = "", "", None
        if "server_cpu_ms" in s:
            # Both cores busy with nothing else: the start-up takes at least half the CPU time.
            projected = (float(s["server_cpu_ms"]) + float(s["client_cpu_ms"])) / 2
            cpu = f"{s['server_cpu_ms']} + {s['client_cpu_ms']} ms in all"
            cpu_ratio, cpu_ok = f"≈ {projected:,.0f} ms on 2 idle cores", projected <= 1000
        add(f"engine start-up, {s['deks']} DEKs, {s['connections']} mTLS conns (attempt {s['attempt']})",
            f"{float(s['ms']):,.0f} ms", "", "", "", f"{float(s['deks_per_s']):,.0f} DEKs/s",
            "≤ 1000 ms", float(s["ms"]) <= 1000, s["load"], cpu=cpu, cpu_ratio=cpu_ratio, cpu_ok=cpu_ok)
    for i in data.get("idle", []):
        rss_mib = int(i["rss_kib"]) / 1024
        add(f"RSS with {i['connections']} idle mTLS connections", f"{rss_mib:.0f} MiB", "",
            f"{int(i['rss_before_kib']) / 1024:.0f} MiB before", "", "", "≤ 100 MiB", rss_mib <= 100, i["load"])
    rotations = {int(r["deks"]): r for r in data.get("rotation", [])}
    if len(rotations) == 2:
        small, large = (rotations[k] for k in sorted(rotations))
        ratio = float(large["median_ms"]) / float(small["median_ms"])
        add(f"rotation with {sorted(rotations)[1]:,} DEKs vs with {sorted(rotations)[0]:,}",
            f"{large['median_ms']} ms vs {small['median_ms']} ms (median)",
            f"max {large['max_ms']} / {small['max_ms']} ms", "", "rotation with 10 DEKs", f"{ratio:.2f}×",
            "≤ 2×", ratio <= 2, "")

    print("| measurement | result | latency p50 / p99 / p99.9 | kmsd RSS | CPU µs per request: server + wrk "
          "| baseline | ratio (rate) | ratio (CPU) | target | verdict (rate / CPU) | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(out))
    for kind in ("nginx_session_reuse", "kmsd", "machine"):
        for fields in data.get(kind, []):
            print(f"\n{kind}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main(sys.argv[1])

"""The terminal tables and the JSON document of a run (and the comparison with an earlier one)."""

from __future__ import annotations

from .common import summarize

# (key, label, unit, decimals)
FIGURES = [
    ("storage_tps", "1 storage limit: hand-written refund transactions", "tx/s", 0),
    ("storage_cpu_ms", "  client CPU per transaction", "ms", 2),
    ("echo_rps", "2 HTTP floor: validated echo", "req/s", 0),
    ("http_refunds_rps", "3 refunds over HTTP", "refunds/s", 0),
    ("http_p50_ms", "  p50 latency", "ms", 1),
    ("http_p99_ms", "  p99 latency", "ms", 1),
    ("http_errors", "  errors (must be 0)", "", 0),
    ("http_server_cpu_ms", "  server CPU per refund", "ms", 2),
    ("inproc_refunds_rps", "4 refunds in process (no HTTP)", "refunds/s", 0),
    ("inproc_cpu_ms", "  client CPU per refund", "ms", 2),
    ("growth_p50_small_ms", "5 growth: p50 with the smaller database", "ms", 1),
    ("growth_p50_big_ms", "  p50 with the bigger database", "ms", 1),
    ("growth_p99_small_ms", "  p99 with the smaller database", "ms", 1),
    ("growth_p99_big_ms", "  p99 with the bigger database", "ms", 1),
    ("growth_errors", "  errors (must be 0)", "", 0),
    ("single_client_rps", "6 uncontended: one client alone", "refunds/s", 0),
    ("single_client_p99_ms", "  p99 latency", "ms", 1),
    ("uncontended_rps", "  the clients on distinct invoices", "refunds/s", 0),
    ("uncontended_p99_ms", "  p99 latency", "ms", 1),
    ("contended_rps", "  contended: the clients on the same few invoices", "refunds/s", 0),
    ("contended_p99_ms", "  p99 latency", "ms", 1),
    ("contention_errors", "  errors (must be 0)", "", 0),
    ("over_refunded_units", "  over-refunded units, last-units burst (must be 0)", "units", 0),
    ("memory_rss_mib_per_worker", "7 server memory, worst worker", "MiB", 1),
    ("memory_refunds", "  after this many refunds", "refunds", 0),
    ("peer_ours_cycles_per_s", "8 ours: invoice + credit note cycles", "cycles/s", 1),
    ("peer_theirs_cycles_per_s", "  python-accounting: same cycles", "cycles/s", 1),
    ("peer_ours_notes_only_per_s", "  ours: the credit-note step alone", "notes/s", 1),
    ("peer_theirs_notes_only_per_s", "  python-accounting: the credit-note step alone", "notes/s", 1),
]

# (label, engines it applies to, ratio key, comparison, goal)
TARGETS = [
    ("refunds over HTTP / storage limit (SQLite, same durability)", ("sqlite",), "ratio_http_storage", ">=", 0.5),
    ("refunds over HTTP / validated echo (same stack, same workers)", ("sqlite", "postgres"), "ratio_http_echo", ">=",
     0.25),
    ("refunds over HTTP / storage limit (PostgreSQL, same concurrency)", ("postgres",), "ratio_http_storage", ">=",
     0.5),
    ("p50 with the big database / p50 with the small one", ("sqlite", "postgres"), "growth_ratio_p50", "<=", 1.25),
    ("p99 under contention / uncontended (one client) p99", ("sqlite", "postgres"), "contention_p99_ratio", "<=",
     5.0),
    ("server memory after the refunds, per worker (MiB)", ("sqlite", "postgres"), "memory_rss_mib_per_worker", "<=",
     200.0),
    ("ours / python-accounting, credit notes per second", ("sqlite",), "peer_ratio", ">=", 20.0),
]
EXTRA_RATIOS = [("ratio_inproc_storage", "refunds in process / storage limit"),
                ("contention_p99_ratio_vs_spread", "contended p99 / p99 on distinct invoices")]


def _fmt(value, decimals: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"


def summarize_engine(result: dict) -> dict:
    """{figure: summary} from every scenario's per-repetition figures."""
    out = {}
    for scenario in result.get("scenarios", {}).values():
        for key, values in (scenario.get("figures") or {}).items():
            out[key] = summarize(values)
    return out


SCENARIO_OF = {"ratio_http_storage": "throughput", "ratio_http_echo": "throughput", "growth_ratio_p50": "growth",
               "contention_p99_ratio": "contention", "memory_rss_mib_per_worker": "memory", "peer_ratio": "peer"}


def targets(doc: dict) -> list[dict]:
    rows = []
    for label, engines, key, op, goal in TARGETS:
        for engine in engines:
            eng = doc["engines"].get(engine)
            if not eng or SCENARIO_OF[key] not in eng.get("scenarios", {}):
                continue  # not run (--only, or the engine was skipped)
            s = eng["summary"].get(key)
            note = _target_note(doc, engine, key)
            if not s or s["median"] is None:
                reason = _skip_reason(eng, key)
                rows.append({"target": label, "engine": engine, "goal": f"{op} {goal:g}", "median": None,
                             "min": None, "max": None, "met": None, "note": reason or note})
                continue
            met = s["median"] >= goal if op == ">=" else s["median"] <= goal
            if key == "contention_p99_ratio":
                over = eng["summary"].get("over_refunded_units", {}).get("max")
                errors = eng["summary"].get("contention_errors", {}).get("max")
                check = eng["scenarios"].get("contention", {}).get("details", {}).get("check", {}).get("ok")
                met = met and over == 0 and errors == 0 and check is True
                note = (note + "; " if note else "") + (f"over-refunded units {over:g}, errors {errors:g}, "
                                                        f"salesrefund check {'ok' if check else check}")
            rows.append({"target": label, "engine": engine, "goal": f"{op} {goal:g}", "median": s["median"],
                         "min": s["min"], "max": s["max"], "met": met, "note": note})
    return rows


def _skip_reason(eng: dict, key: str) -> str | None:
    for name, scenario in eng.get("scenarios", {}).items():
        if scenario.get("skipped"):
            if key.startswith("peer") and name == "peer":
                return f"skipped: {scenario['skipped']}"
    return None


def _target_note(doc: dict, engine: str, key: str) -> str:
    cfg = doc["config"]
    if key == "growth_ratio_p50":
        small, big = cfg["growth_base_effective"], cfg["growth_size"]
        tag = "" if (small, big) == (10_000, 1_000_000) else " (not the target's 10 k / 1 M)"
        return f"{big:,} vs {small:,} stored refunds{tag}"
    if key == "memory_rss_mib_per_worker":
        reached = doc["engines"][engine]["summary"].get("memory_refunds", {}).get("median")
        tag = "" if reached and reached >= 100_000 else " (not the target's 100 k)"
        return f"after {int(reached or 0):,} refunds{tag}"
    if key in ("ratio_http_storage", "ratio_http_echo"):
        return f"{cfg['workers']} workers, {cfg['connections']} connections"
    if key == "contention_p99_ratio":
        return f"{cfg['contention_clients']} clients on {cfg['hot_invoices']} invoices vs 1 client"
    return ""


def render(doc: dict) -> str:
    engines = [e for e in ("sqlite", "postgres") if e in doc["engines"]]
    lines = []
    c = doc["conditions"]
    lines.append(f"salesrefund benchmarks  {c['when_utc']}  {c['cpus']} CPUs ({c.get('cpu_model') or '?'}), "
                 f"{c.get('memory_gib')} GiB, load {c.get('loadavg_at_start')} at start, "
                 f"{c.get('loadavg_at_end')} at end")
    cfg = doc["config"]
    lines.append(f"mode {'smoke' if cfg['smoke'] else 'full'}; {cfg['runs']} run(s) of {cfg['duration']} s; "
                 f"{cfg['workers']} workers (server: {cfg.get('server', 'salesrefund')}); {cfg['connections']} connections; "
                 f"load generator {doc['loadgen']}; "
                 f"git {c.get('git_commit')} (+{c.get('git_dirty_files')} changed files)")
    if c.get("note"):
        lines.append(f"note: {c['note']}")
    for engine in engines:
        for name, scenario in doc["engines"][engine].get("scenarios", {}).items():
            if scenario.get("skipped"):
                lines.append(f"{engine} {name}: skipped: {scenario['skipped']}")
            if scenario.get("error"):
                lines.append(f"{engine} {name}: FAILED: {scenario['error']}")
    lines.append("")
    width = max(len(label) for _, label, _, _ in FIGURES) + 2
    head = f"{'figure':<{width}}{'unit':<11}" + "".join(f"{e + ' median [min - max]':<34}" for e in engines)
    lines += [head, "-" * len(head)]
    for key, label, unit, decimals in FIGURES:
        cells = []
        present = False
        for engine in engines:
            s = doc["engines"][engine]["summary"].get(key)
            if s and s["median"] is not None:
                present = True
                cells.append(f"{_fmt(s['median'], decimals)} [{_fmt(s['min'], decimals)} - {_fmt(s['max'], decimals)}]")
            else:
                cells.append("-")
        if present:
            lines.append(f"{label:<{width}}{unit:<11}" + "".join(f"{cell:<34}" for cell in cells))
    for key, label in EXTRA_RATIOS:
        cells = []
        for engine in engines:
            s = doc["engines"][engine]["summary"].get(key)
            cells.append(f"{_fmt(s['median'], 2)} [{_fmt(s['min'], 2)} - {_fmt(s['max'], 2)}]" if s and s["n"] else "-")
        if any(cell != "-" for cell in cells):
            lines.append(f"{label:<{width}}{'ratio':<11}" + "".join(f"{cell:<34}" for cell in cells))
    lines.append("")
    lines.append("targets (ratios per run, median [min - max]):")
    tw = max(len(r["target"]) for r in doc["targets"]) + 2 if doc["targets"] else 40
    for r in doc["targets"]:
        verdict = {True: "met", False: "NOT met", None: "-"}[r["met"]]
        value = f"{_fmt(r['median'], 2)} [{_fmt(r['min'], 2)} - {_fmt(r['max'], 2)}]" if r["median"] is not None else "-"
        lines.append(f"  {r['target']:<{tw}}{r['engine']:<10}{r['goal']:<9}{value:<26}{verdict:<9}{r['note'] or ''}")
    for engine in engines:
        tp = doc["engines"][engine].get("scenarios", {}).get("throughput", {}).get("details", {})
        if tp:
            sva = tp.get("stored_vs_acknowledged", {})
            lines.append(f"{engine}: write set per refund: {tp.get('write_set', {}).get('engine')}")
            drift = tp.get("write_set", {}).get("baseline_differs")
            lines.append(f"{engine}: baseline writes the same rows: {'yes' if not drift else 'NO: ' + '; '.join(drift)}; "
                         f"stored {sva.get('stored')} vs acknowledged {sva.get('acknowledged')} refunds; "
                         f"salesrefund check {tp.get('check')}")
        ct = doc["engines"][engine].get("scenarios", {}).get("contention", {}).get("details", {})
        if ct:
            last = [run["last_units"] for run in ct.get("runs", [])]
            lines.append(f"{engine}: contention last-units bursts {last}; salesrefund check {ct.get('check')}")
    return "\n".join(lines)


def compare(doc: dict, previous: dict) -> str:
    lines = ["", f"compared with {previous.get('conditions', {}).get('when_utc')} (median now / before):"]
    for engine in doc["engines"]:
        before = previous.get("engines", {}).get(engine, {}).get("summary", {})
        for key, label, _unit, decimals in FIGURES:
            now = doc["engines"][engine]["summary"].get(key, {}).get("median")
            then = before.get(key, {}).get("median")
            if now is None or then is None:
                continue
            change = f"{(now - then) / then * 100:+.0f} %" if then else ""
            lines.append(f"  {engine:<9}{label.strip():<55}{_fmt(now, decimals):>12} / {_fmt(then, decimals):<12}{change}")
    return "\n".join(lines)

"""The benchmarks' --quick runs still run and report every figure (so a benchmark cannot rot unseen)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUN_FIGURES = ("events", "seconds", "events_per_s", "us_per_event", "cpu_us_per_event", "p50_ms", "p95_ms",
               "queries_per_event", "statements_per_event")


def _figures(run, extra=()):
    for name in RUN_FIGURES + tuple(extra):
        value = run[name]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0, (name, value)
    assert run["events"] > 0 and run["events_per_s"] > 0 and run["queries_per_event"] > 0


def test_scale_quick_reports_every_figure(tmp_path):
    out = tmp_path / "scale.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick", "--db", "sqlite", "--json", str(out),
         "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(a) receiver alone" in result.stdout and "(b) realistic catalog" in result.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["machine"]["cores"]
    sqlite = report["databases"]["sqlite"]

    sizes = sqlite["receiver"]["sizes"]
    assert [row["credentials"] for row in sizes] == report["config"]["sizes"]
    for row in sizes:
        _figures(row["receiver"], ("us_vs_smallest", "cpu_vs_smallest", "queries_vs_smallest", "evaluations_queued"))
        _figures(row["naive_inline"])
        assert row["naive_vs_receiver"] > 0
        # The receiver alone is a handful of queries whatever the catalog.
        assert row["receiver"]["queries_per_event"] <= 5
    assert sizes[0]["receiver"]["us_vs_smallest"] == 1.0
    assert sizes[-1]["receiver"]["queries_per_event"] == sizes[0]["receiver"]["queries_per_event"]

    throughput = sqlite["throughput"]
    _figures(throughput["indexed"], ("awards", "signing_tasks_queued"))
    _figures(throughput["naive"], ("awards",))
    assert throughput["speedup"] > 0
    batched = throughput["batched"]
    for name in ("events_per_s", "cpu_us_per_event", "queries_per_event", "learners_evaluated", "evaluate_seconds"):
        assert batched[name] > 0, name
    assert throughput["batched_vs_indexed"] > 0
    stages = {stage["stage"].strip(): stage for stage in throughput["indexed"]["stages"]}
    assert stages["receiver: record_fact"]["calls_per_event"] == 1
    assert stages["load_learners"]["queries_per_event"] > 0
    catalog = throughput["catalog"]
    for name in ("courses", "credentials", "stacks", "learners", "active_cohort", "facts", "progress", "awards"):
        assert catalog[name] > 0, name
    assert sum(throughput["event_mix"].values()) == throughput["indexed"]["events"]
    assert throughput["setup"]["from_cache"] is False
    assert not list((tmp_path / "cache").glob("*")), "--quick must not write the cache"


@pytest.mark.integration
def test_burst_quick_loses_nothing_through_a_real_worker(tmp_path):
    """benchmarks/burst.py --quick: LMS processes, a Celery worker on Redis, MariaDB; every effect checked."""
    from tests.integration.conftest import unavailable  # pylint: disable=import-outside-toplevel  (integration only)

    try:
        import MySQLdb  # pylint: disable=import-outside-toplevel  (a missing driver: services unavailable)
        import redis  # pylint: disable=import-outside-toplevel  (a missing client: services unavailable)

        MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", connect_timeout=5).close()
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=5).ping()
    except Exception as exc:  # pylint: disable=broad-except  (whatever fails, the services are unavailable)
        unavailable(f"MariaDB and Redis on 127.0.0.1 ({type(exc).__name__}: {exc})")
    out = tmp_path / "burst.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "burst.py"), "--quick", "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "(d) burst through a real Celery worker" in result.stdout
    report = json.loads(out.read_text())
    burst, baseline = report["burst"], report["baseline"]
    assert burst["losses"] == {} and baseline["losses"] == {}
    check = burst["check"]
    assert check["events_checked"] == report["config"]["events"] == report["setup"]["events"]
    assert check["facts_stored"] == check["facts_expected"] > 0
    assert check["awards"] == check["awards_expected"] > 0
    assert check["deliveries_delivered"] == check["deliveries_expected"] == check["upstream_badges"] > 0
    assert burst["max_queued"] > 0  # the events came faster than the worker took them: a burst
    for name in ("events_per_s", "lms_events_per_s", "lms_cpu_ms_per_event", "worker_cpu_ms_per_event",
                 "mariadb_cpu_ms_per_event", "seconds", "send_seconds"):
        assert isinstance(burst[name], (int, float)) and burst[name] > 0, name
    assert baseline["events_per_s"] > 0 and baseline["check"]["awards"] > 0


def test_external_verify_reports_every_size(tmp_path):
    out = tmp_path / "external.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "external_verify.py"), "--sizes", "2,20", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [row["objects"] for row in rows] == [9, 27]
    assert all(row["seconds"] > 0 and math.isfinite(row["vs_smallest"]) for row in rows)


def test_signing_reports_every_figure_beside_bare_ed25519(tmp_path):
    out = tmp_path / "signing.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "signing.py"), "--count", "40", "--rounds", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    for name in ("sign", "verify", "sign_first", "sign_full", "sign_pyld"):
        row = report[name]
        assert row["per_cpu_second"] > 0 and row["bare_ed25519_per_cpu_second"] > 0 and row["ratio"] > 0, name
    assert report["sign_vs_pyld"] > 0


def test_event_throughput_prints_the_anchor_formula_and_the_cursor_floor(tmp_path):
    out = tmp_path / "event_throughput.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "event_throughput.py"), "--sizes", "10,100", "--events", "40",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "anchor 5K+34" in result.stdout and "floor" in result.stdout
    report = json.loads(out.read_text())
    assert report["machine"]["cores"]
    for row in report["sizes"]:
        assert row["anchor_queries_per_event"] == 5 * row["credentials"] + 34
        for strategy in ("indexed", "naive"):
            assert row[strategy]["events_per_s"] > 0 and row[strategy]["statements_per_event"] > 0
        assert row["cursor_floor"]["us_per_event"] > 0 and row["cursor_floor"]["writes_per_event"] > 0


def test_receiver_reports_the_cpu_per_event_beside_the_old_path_the_floor_and_the_enqueue(tmp_path):
    out = tmp_path / "receiver.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "receiver.py"), "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "old ORM ÷ receiver" in result.stdout and "floor (cursor)" in result.stdout
    sqlite = json.loads(out.read_text())["databases"]["sqlite"]
    for variant in ("receiver", "old_orm", "floor", "enqueue"):
        row = sqlite[variant]
        assert row["events"] > 0 and row["cpu_us_per_event"] > 0 and math.isfinite(row["us_per_event"]), variant
    # Two data statements per event, whatever happened to it; the old path read before it wrote.
    assert sqlite["receiver"]["queries_per_event"] == 2
    assert sqlite["old_orm"]["queries_per_event"] > 2
    assert sqlite["outcomes"]["receiver"] == sqlite["outcomes"]["old_orm"]
    assert set(sqlite["outcomes"]["receiver"]) == {"applied", "unchanged", "stale", "duplicate"}
    assert all(ratio > 0 for ratio in sqlite["ratios"].values())


def test_micro_batches_decide_as_one_learner_a_task_and_cost_less(tmp_path):
    out = tmp_path / "micro_batches.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "micro_batches.py"), "--quick", "--db", "sqlite",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "sqlite: outcomes identical" in result.stdout
    (run,) = json.loads(out.read_text())["runs"]
    one, batched = run["one_at_a_time"], run["batched"]
    assert run["identical"] and one["digest"] == batched["digest"] and not run["differences"]
    assert one["awards"] > 0 and one["progress_rows"] > 0 and one["unevaluated"] == batched["unevaluated"] == 0
    assert one["events"] == batched["events"] and one["tasks"] == batched["tasks"] > 0
    # Batched, almost every task finds its facts taken by an earlier batch; one learner a task, far fewer.
    assert batched["tasks_skipped"] > one["tasks_skipped"]
    assert batched["statements"] < one["statements"]

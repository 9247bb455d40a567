"""A province batch on RQ: chunks of units queued, optional local workers, progress from the manifest.

`flask report province --workers N` starts N burst workers (SimpleWorker: one process each,
so the app and WeasyPrint stay warm across chunks; burst: they exit when the queue is empty)
and waits; with --workers 0 the workers already listening on REPORT_QUEUE do the work.
Whatever stops the batch (a worker killed, the CLI interrupted, a timeout), the units
finished so far stay finished: the same command resumes (batch.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app

from survey.reports import batch
from survey.reports.jobs import render_units

ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.3


def _spawn(n: int, queue: str, redis_url: str, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (log_dir / f".worker-{i + 1}.log").open("ab")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "worker", queue, "--url", redis_url, "--burst",
             "--worker-class", "rq.worker.SimpleWorker"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()))
        log.close()  # the child holds its own descriptor
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_queued(redis_url: str, db_url: str, period: str, output: Path, todo: list[str], size: int,
               workers: int, timeout: int, progress: batch.Progress, fmt: str = "pdf", lang: str = "vi") -> None:
    from redis import Redis
    from rq import Queue

    name = current_app.config["REPORT_QUEUE"]
    queue = Queue(name, connection=Redis.from_url(redis_url))
    jobs = [queue.enqueue(render_units, db_url, period, str(output), part, fmt, lang,
                          job_timeout=max(600, 60 * len(part)), result_ttl=3600, failure_ttl=86400)
            for part in batch.chunks(todo, size)]
    click.echo(f"Đã đưa {len(todo)} báo cáo ({len(jobs)} việc, {size} đơn vị mỗi việc) vào hàng đợi "
               f"'{name}'" + (f"; chạy {workers} worker." if workers else " (cần `rq worker` đang chạy)."))
    procs = _spawn(workers, name, redis_url, output) if workers else []
    deadline = time.monotonic() + timeout
    pending = {job.id: job for job in jobs}
    try:
        while pending or not progress.finished:
            progress.poll()
            for job_id, job in list(pending.items()):
                status = job.get_status(refresh=True)
                if status == "failed":
                    result = job.latest_result()
                    reason = result.exc_string.strip().splitlines()[-1] if result and result.exc_string else ""
                    raise click.ClickException(f"Việc {job_id} lỗi: {reason}. Chạy lại lệnh để tiếp tục.")
                if status == "finished":
                    del pending[job_id]
            if not pending:
                progress.poll()
                if not progress.finished:  # a chunk finished but its units are not whole on disk
                    raise click.ClickException(f"{len(progress.todo)} báo cáo chưa ghi được. Chạy lại lệnh.")
                break
            if procs and all(p.poll() is not None for p in procs):
                raise click.ClickException(
                    f"Các worker đã dừng khi còn {len(progress.todo)} báo cáo. Chạy lại lệnh để tiếp tục.")
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"Hết thời gian chờ: {len(progress.todo)} báo cáo chưa xong. Chạy lại lệnh để tiếp tục.")
            time.sleep(POLL_S)
    finally:
        _stop(procs)

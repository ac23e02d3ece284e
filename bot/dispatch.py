"""Work after the ack: the Slack listeners only enqueue a Job; workers do the answering.

Acks must reach Slack within 3 seconds whatever the work, and a Python thread that holds
the GIL to scan a message, read a 20 MB log or talk to the database slows every other
thread of its process, the ones acking requests included. So in the running bot the work
happens in worker processes (`ProcessDispatcher`), each with its own Web API client, state
store and a few threads for the Web API's latency; the process that serves Slack's
requests only verifies, acks and enqueues.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.settings import Settings

WORKER_THREADS = 8  # per worker process: replies wait on the Web API, not on the CPU
MONITOR_SECONDS = 1.0
PARENT_CHECK_SECONDS = 1.0
WORKER_NICENESS = 19
log = logging.getLogger("ftpcode")


@dataclass(frozen=True, slots=True)
class Job:
    """One piece of work: what Slack sent, and the little of Bolt's context it needs."""

    kind: str  # a key of bot.listeners.HANDLERS: "message", "mention", "command", ...
    body: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)  # bot_user_id, bot_id


class Dispatcher(Protocol):
    def submit(self, job: Job) -> None: ...

    def close(self) -> None: ...


class Worker:
    """What runs jobs: the handlers with this process's own client and store."""

    def __init__(self, settings: Settings) -> None:
        from bot.app import web_client
        from bot.listeners import Deps
        from bot.state import Store

        self.deps = Deps(settings=settings, store=Store())
        self.client = web_client(settings)

    def run(self, job: Job) -> None:
        """Run one job; an exception is logged, never raised (the next job goes on)."""
        from bot.listeners import HANDLERS, load_handlers

        load_handlers()
        try:
            HANDLERS[job.kind](job, self.deps, self.client)
        except Exception as exc:
            log.error("%s job failed: %s: %s", job.kind, type(exc).__name__, exc)

    def close(self) -> None:
        self.deps.store.close()


def _yield_cpu_to_acks(priority: str) -> None:
    """Acks are what Slack times; answers can wait a few milliseconds for a busy CPU.

    "idle" (Linux's SCHED_IDLE) runs a worker only when nothing of normal priority wants
    the CPU, so an ack never waits behind an answer; on a host that other programs keep
    busy, answers then slow down the most. "low" is the lowest niceness, "normal" leaves
    the worker as it is.
    """
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass
    if priority in ("idle", "low"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def _worker_main(settings: Settings, jobs: multiprocessing.Queue[Job | None]) -> None:
    """A worker process: take jobs until told to stop, run each on a thread."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    _yield_cpu_to_acks(settings.worker_priority)
    worker = Worker(settings)
    pool = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="ftpcode-job")
    parent = multiprocessing.parent_process()
    try:
        while True:
            try:
                job = jobs.get(timeout=PARENT_CHECK_SECONDS)
            except queue.Empty:
                if parent is not None and not parent.is_alive():
                    break  # the serving process is gone: nothing more will come
                continue
            if job is None:
                break
            pool.submit(worker.run, job)
    except KeyboardInterrupt:
        pass
    finally:
        pool.shutdown(wait=True)
        worker.close()


class ProcessDispatcher:
    """Jobs run in `processes` worker processes; a worker that dies is replaced."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._settings = settings
        self._jobs: multiprocessing.Queue[Job | None] = self._context.Queue()
        self._workers = [self._start() for _ in range(max(1, processes))]
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="ftpcode-workers", daemon=True)
        self._monitor.start()

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = self._context.Process(
            target=_worker_main, args=(self._settings, self._jobs), name="ftpcode-worker"
        )
        process.start()
        return process

    def _watch(self) -> None:
        while not self._stop.wait(MONITOR_SECONDS):
            for index, process in enumerate(self._workers):
                if not process.is_alive() and not self._stop.is_set():
                    log.error(
                        "worker %s exited with %s; starting another", process.pid, process.exitcode
                    )
                    self._workers[index] = self._start()

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        self._stop.set()
        for _ in self._workers:
            self._jobs.put(None)
        for process in self._workers:
            process.join(10)
            if process.is_alive():
                process.terminate()
        self._jobs.close()

"""Run the app for ``qabot serve``: waitress in one process or several, draining on shutdown.

Why waitress, several processes of it, and these settings (docs/deploy.md says more):

* waitress reads each request in full on its event loop before a worker thread sees it, so an
  idle or slow client costs a socket, not a thread. Its defaults let about 100 idle sockets
  lock everyone else out (``connection_limit`` 100, idle sockets kept 120 s);
  :data:`CONNECTION_LIMIT` and :data:`CHANNEL_TIMEOUT` raise the one and shorten the other.
  gunicorn's default sync worker, the other pure-Python server the Flask deployment docs name,
  gives a connection a whole process until its request has arrived, so a few slow clients stall
  it unless a buffering proxy stands in front; gunicorn does not run on Windows either.
* A Python process answers on one core at a time (the GIL), so ``workers=N`` forks N processes
  after the index is loaded, as gunicorn's ``--preload`` does: they share the index's arrays
  copy-on-write and accept from one listening socket. Without ``os.fork`` (Windows) one
  process serves.

Shutdown, on SIGTERM or SIGINT, in every process: stop accepting (connections already waiting
to be accepted are taken first), answer every request received or being received, with
``Connection: close``, close idle keep-alive connections, and exit 0 once nothing is in flight
or the grace period (:data:`DEFAULT_GRACE`) is over, whichever comes first. With several
workers the parent passes the signal on, waits for them, and replaces a worker that dies
while serving.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.task import WSGITask

__all__ = [
    "CHANNEL_TIMEOUT",
    "CONNECTION_LIMIT",
    "DEFAULT_GRACE",
    "Server",
    "default_workers",
]

#: Seconds a shutting-down process keeps answering the requests it has received.
DEFAULT_GRACE = 10.0
#: Open connections per process before it stops accepting (waitress's default is 100).
CONNECTION_LIMIT = 1000
#: Seconds an idle or stalled connection is kept (waitress's default is 120).
CHANNEL_TIMEOUT = 30
#: select() cannot watch file descriptors above 1023; poll() can (Windows has no poll()).
_USE_POLL = hasattr(select, "poll")
#: A worker that dies this soon after it started is a broken setup, not bad luck: no restart.
_MIN_WORKER_LIFE = 2.0

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
logger = logging.getLogger("qabot.serving")


def default_workers() -> int:
    """The CPUs this process may run on (the container's share, not the host's), 1 without fork."""
    if not hasattr(os, "fork"):
        return 1
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class Server:
    """A WSGI app served by waitress on a socket bound at construction.

    Binding here means a busy port or an unknown host fails (``OSError``) before any worker
    thread or process starts. :meth:`run` serves until SIGTERM or SIGINT, then drains as the
    module docstring says. ``workers`` above 1 forks that many processes, so build the app
    (and load the index) before, and start no thread in this process before :meth:`run`.
    ``configure`` is called with each process's waitress socket map once its server exists
    (``qabot.server.harden`` sets its channel class there); ``waitress_options`` go to
    ``waitress.create_server``.
    """

    def __init__(self, app: WSGIApp, *, host: str = "127.0.0.1", port: int = 8000,
                 threads: int = 4, workers: int = 1, grace: float = DEFAULT_GRACE,
                 connection_limit: int = CONNECTION_LIMIT,
                 channel_timeout: int = CHANNEL_TIMEOUT,
                 configure: Callable[[dict[int, Any]], None] | None = None,
                 **waitress_options: Any) -> None:
        if workers < 1 or threads < 1 or grace < 0:
            raise ValueError(f"need workers >= 1, threads >= 1 and grace >= 0, got "
                             f"workers={workers}, threads={threads}, grace={grace}")
        if workers > 1 and not hasattr(os, "fork"):
            raise ValueError("several workers need os.fork (Linux, macOS); use workers=1")
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        self._socket = socket.create_server(address, family=family, backlog=1024)
        self._socket.setblocking(False)
        self.app = app
        self.workers = workers
        self.grace = grace
        self.configure = configure
        self._options = {"threads": threads, "connection_limit": connection_limit,
                         "channel_timeout": channel_timeout, **waitress_options}

    @property
    def url(self) -> str:
        """The URL to open, with the real port (when port 0 asked for any free one)."""
        host, port = self._socket.getsockname()[:2]
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT, drain, close the socket; the exit status to use.

        0 after a clean stop; 1 when a worker died right after starting (a broken setup).
        Call it from the main thread: that is where Python delivers signals.
        """
        _raise_open_files_limit(self._options["connection_limit"] + 64)
        try:
            if self.workers == 1:
                _Worker(self).run()
                return 0
            return _Supervisor(self).run()
        finally:
            self.close()

    def close(self) -> None:
        """Close the listening socket (a server that never ran, or one that has stopped)."""
        self._socket.close()


# ----------------------------------------------------------------------------- one process


class _Task(WSGITask):
    """waitress's task, with two changes.

    * Once the server drains, each response says ``Connection: close``, so the client does
      not send its next request on a connection about to close.
    * The head of a response is sent with the first part of its body, in one piece. waitress
      sends them apart, so a process killed between the two left its client, or a proxy that
      then cannot retry elsewhere, with a head and no body (seen behind nginx, 1 request in
      1,200, when a replica was killed).
    """

    def build_response_header(self) -> bytes:
        if getattr(self.channel.server, "qabot_draining", False):
            self.set_close_on_finish()
        return super().build_response_header()

    def write(self, data: bytes) -> None:
        if self.wrote_header or not data:
            super().write(data)
            return
        channel = self.channel
        collector = _Collector(channel)
        self.channel = collector  # type: ignore[assignment]
        try:
            super().write(data)
        finally:
            self.channel = channel
        channel.write_soon(b"".join(collector.parts))


class _Collector:
    """Stands in for a channel while a task writes: keeps what it sends, forwards the rest."""

    def __init__(self, channel: HTTPChannel) -> None:
        self._channel = channel
        self.parts: list[bytes] = []

    def write_soon(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


class _Worker:
    """One process's waitress server on the shared socket, and its drain on a signal."""

    def __init__(self, server: Server) -> None:
        self._map: dict[int, Any] = {}
        self._grace = server.grace
        self._server = waitress.create_server(server.app, map=self._map,
                                              sockets=[server._socket], ident="qabot",
                                              asyncore_use_poll=_USE_POLL, **server._options)
        if server.configure is not None:
            server.configure(self._map)
        # Keep whatever channel class `configure` chose, with this module's task on top.
        base = self._server.channel_class
        self._server.channel_class = type("_Channel", (base,), {"task_class": _Task})
        self._server.qabot_draining = False
        self._stopping = False

    def run(self) -> None:
        _one_blas_thread()
        previous = {signum: signal.signal(signum, self._on_signal)
                    for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            with _signals_unblocked():
                while not self._stopping:
                    wasyncore.loop(timeout=1.0, map=self._map, use_poll=_USE_POLL, count=1)
                self._drain()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
            wasyncore.close_all(self._map)

    def _on_signal(self, signum: int, frame: object) -> None:
        if not self._stopping:
            self._stopping = True
            self._server.pull_trigger()  # wake the event loop now, not at its next timeout

    def _drain(self) -> None:
        """Accept what is waiting, stop listening, answer what is in flight, then return."""
        server = self._server
        server.qabot_draining = True
        limit = server.adj.connection_limit
        while len(server.active_channels) < limit and _ready(server.socket):
            server.handle_accept()
        wasyncore.dispatcher.close(server)  # this process's copy of the listening socket
        deadline = time.monotonic() + self._grace
        while True:
            busy = 0
            for channel in list(server.active_channels.values()):
                if (channel.requests or channel.total_outbufs_len or channel.request is not None
                        or _unread(channel.socket)):
                    busy += 1  # a request being read, answered or sent, or bytes of one waiting
                elif not channel.will_close:
                    channel.will_close = True  # idle keep-alive: closed on the next pass
            if not busy:
                break
            if time.monotonic() >= deadline:
                logger.warning("grace period of %g s over with %d request(s) still in flight; "
                               "closing them", self._grace, busy)
                break
            wasyncore.loop(timeout=0.05, map=self._map, use_poll=_USE_POLL, count=1)
        # One more pass closes the idle connections marked above.
        wasyncore.loop(timeout=0, map=self._map, use_poll=_USE_POLL, count=1)


def _one_blas_thread() -> None:
    """Limit BLAS/OpenMP to one thread in this process: its requests are the parallelism,
    and N workers each running a core-sized BLAS pool would only oversubscribe the cores."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(1)


def _ready(sock: socket.socket) -> bool:
    """Whether ``sock`` can be read (or accepted from) now."""
    if not _USE_POLL:
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _unread(sock: socket.socket | None) -> bool:
    """Whether bytes have arrived on ``sock`` that the event loop has not read yet."""
    if sock is None:
        return False
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False  # reset or closed: nothing more will come


@contextlib.contextmanager
def _signals_unblocked() -> Any:
    """Deliver SIGTERM/SIGINT again (a forked worker starts with them blocked, see _spawn)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    yield


def _raise_open_files_limit(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` (never above the hard limit)."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# ----------------------------------------------------------------------------- several


class _Supervisor:
    """The parent of ``workers`` forked processes: start, replace, signal and reap them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.children: dict[int, float] = {}  # pid -> when it started
        self.signals: list[int] = []
        self.status = 0

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        previous_wakeup = signal.set_wakeup_fd(wake_w)
        # Everything built so far (the index, the app) outlives the workers: frozen, the
        # workers' garbage collections never write to it, so its pages stay shared instead
        # of being copied into each worker as it runs (the Python docs' advice for fork).
        gc.collect()
        gc.freeze()
        try:
            for _ in range(self.server.workers):
                self._spawn(wake_r, wake_w)
            while not self._stop_requested():
                select.select([wake_r], [], [], 1.0)
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                self._reap(restart=(wake_r, wake_w))
            self._stop_all()
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(wake_r)
            os.close(wake_w)
        return self.status

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _stop_requested(self) -> bool:
        return self.status != 0 or any(s != signal.SIGCHLD for s in self.signals)

    def _spawn(self, wake_r: int, wake_w: int) -> None:
        # Block the stop signals across fork: a signal that arrives before the child has its
        # own handlers then waits for them instead of running the parent's.
        stop = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_r)
                os.close(wake_w)
                _Worker(self.server).run()
                code = 0
            except BaseException:  # noqa: BLE001 - a worker must never return into the parent
                logger.exception("worker %d failed", os.getpid())
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop)
        self.children[pid] = time.monotonic()

    def _reap(self, restart: tuple[int, int] | None) -> None:
        """Collect exited workers; replace each that died while serving, when ``restart``."""
        while self.children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            started = self.children.pop(pid, None)
            if started is None:
                continue
            how = _describe_exit(wait_status)
            if restart is None:
                if how != "exit status 0":
                    logger.warning("worker %d ended with %s", pid, how)
                    self.status = self.status or 1
                continue
            if time.monotonic() - started < _MIN_WORKER_LIFE:
                logger.error("worker %d ended with %s right after it started; stopping", pid, how)
                self.status = 1
                return
            logger.warning("worker %d ended with %s; starting another", pid, how)
            self._spawn(*restart)

    def _stop_all(self) -> None:
        """Pass the stop on, close the parent's copy of the socket, wait for every worker."""
        self.server.close()
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.server.grace + 5
        while self.children and time.monotonic() < deadline:
            self._reap(restart=None)
            time.sleep(0.02)
        for pid in list(self.children):
            logger.error("worker %d did not stop within the grace period; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self.children:
            self._reap(restart=None)
            time.sleep(0.01)


def _describe_exit(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"signal {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(wait_status)}"

"""The output folder of a run: held by one run at a time, never overwritten by accident.

    folder = OutputFolder("bn_heat")
    folder.check_writable()                  # slidesim run --check
    folder.claim(restart=False, overwrite=False)   # before the first write; raises OutputError
    ...
    folder.release()                         # at the end (the lock also dies with the process)

A run holds ``.slidesim.lock`` in its folder with an exclusive ``flock`` for as long as it
writes; a second run into the same folder stops at once with the holder's pid, host and start
time. The operating system drops the lock when the holder exits, however it exits (SIGKILL
included), so a stale lock cannot block a folder. (``flock`` works on local disks and on most
cluster file systems; where it is not supported the lock is skipped with a note.)

A folder that holds a run (its checkpoint, trajectory or thermo file) is only written again by
``--restart`` (which continues it) or ``--overwrite`` (which first removes that run's files);
otherwise the run stops with a message that says which of the two to use.
"""

import datetime
import errno
import glob
import os
import socket
import sys
import tempfile

LOCK_NAME = ".slidesim.lock"

#: the files one run writes in its folder (glob patterns)
RUN_FILES = ("checkpoint.npz", "checkpoint.npz.prev", "thermo.csv", "thermo.r*.csv", "traj.nc",
             "traj.r*.nc", "traj*.lammpsdump", "events.json", "log.txt", "minimize_*.txt",
             "minimize_*.extxyz")

#: files whose presence means the folder holds a run
EVIDENCE = ("checkpoint.npz", "checkpoint.npz.prev", "traj.nc", "thermo.csv")


def output_problem(folder):
    """Why the output folder ``folder`` cannot be written (None if it can): a path under a
    regular file, an existing file, a folder where files cannot be made (read-only, /proc).
    Probes with a file made and removed in the deepest existing folder on the path."""
    folder = os.path.abspath(folder)
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return ("cannot be created: it is a file, not a folder" if existing == folder else
                f"cannot be created: {existing} on its path is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".slidesim-probe-"):
            pass
    except OSError as err:
        return f"cannot be written ({existing}: {err.strerror or err})"
    return None


class OutputError(RuntimeError):
    """The output folder cannot be used as asked; the message says why and what to do."""


class OutputFolder:
    """The folder ``path`` a run writes into (created when claimed)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._lock = None

    # ---- checks ---------------------------------------------------------------------------
    def check_writable(self):
        """OutputError unless the folder exists as a writable directory or can be created."""
        problem = output_problem(self.path)
        if problem:
            raise OutputError(f"output folder {self.path} {problem}. Set 'output' in the deck "
                              "to a folder you can write")

    def previous_run(self):
        """A description of the run the folder holds, or None when it holds none."""
        found = [name for name in EVIDENCE if os.path.exists(os.path.join(self.path, name))]
        if not found:
            return None
        checkpoint = os.path.join(self.path, "checkpoint.npz")
        if os.path.exists(checkpoint):
            try:
                from slidesim.io.checkpoint import run_progress

                progress = run_progress(checkpoint)
                return f"a run (checkpoint at step {progress.step}, {progress.time:g} ps)"
            except Exception:  # an unreadable checkpoint is still a run's file
                pass
        return f"a run ({', '.join(found)})"

    def run_files(self):
        """The paths of every file a run writes that exist in the folder."""
        names = []
        for pattern in RUN_FILES:
            names += glob.glob(os.path.join(glob.escape(self.path), pattern))
        return sorted(set(names))

    def remove_leftovers(self):
        """Remove temporary files a killed run can leave (a checkpoint or a rewritten thermo or
        trajectory file it was writing when it died); the files they were to replace are intact."""
        for pattern in (".checkpoint.*.tmp", "checkpoint.npz.prev.tmp", "events.json.tmp",
                        ".thermo.*.csv", ".truncate.*.nc", ".slidesim-probe-*"):
            for name in glob.glob(os.path.join(glob.escape(self.path), pattern)):
                try:
                    os.remove(name)
                except OSError:
                    pass

    # ---- claiming ---------------------------------------------------------------------------
    def claim(self, restart=False, overwrite=False, check_only=False):
        """Make the folder this run's: create it, lock it, and refuse a folder that holds
        another run unless ``restart`` (continuing it) or ``overwrite`` (its files are removed).
        ``check_only``: the checks without creating, locking or removing anything."""
        self.check_writable()
        if check_only:
            self._check_holder()
        else:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as err:
                raise OutputError(f"output folder {self.path} cannot be created ({err.strerror})."
                                  " Set 'output' in the deck to a folder you can write") from None
            self._take_lock()
        if restart:
            return
        previous = self.previous_run()
        if previous is None:
            return
        if not overwrite:
            self.release()
            raise OutputError(
                f"output folder {self.path} already holds {previous}. Continue it with "
                f"--restart {os.path.join(self.path, 'checkpoint.npz')}, replace it with "
                "--overwrite, or set 'output' in the deck to another folder")
        if not check_only:
            for name in self.run_files():
                os.remove(name)

    def _check_holder(self):
        """OutputError if another run holds the folder now (without taking the lock)."""
        if not os.path.isdir(self.path):
            return
        self._take_lock()
        self.release()

    def _take_lock(self):
        import fcntl

        path = os.path.join(self.path, LOCK_NAME)
        handle = open(path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise OutputError(f"output folder {self.path} is in use by another slidesim run "
                                  f"({holder}). Wait for it to end, or set 'output' in the deck to "
                                  "another folder") from None
            # no flock on this file system: run unlocked rather than not at all
            print(f"slidesim: note: cannot lock {path} ({err.strerror}); make sure no other run "
                  "writes into this folder", file=sys.stderr)
            handle.close()
            return
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n")
        handle.flush()
        self._lock = handle

    def release(self):
        """Drop the lock (the lock file stays; it holds no state)."""
        if self._lock is not None:
            self._lock.close()  # closing the file drops the flock
            self._lock = None

    @property
    def locked(self):
        return self._lock is not None

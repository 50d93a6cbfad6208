"""Where sweep tasks run: a Dask client on a local cluster, or on an existing scheduler.

Workers get one thread each and ``NUMBA_NUM_THREADS=1``: a sweep's parallelism is its tasks, and
numba threads on top of them would only compete for the same cores.
"""

import contextlib
import os

#: environment of the worker processes a local cluster starts
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise RuntimeError("slidesim sweep needs dask.distributed: pip install "
                           "'slidesim[dist]' (or pip install 'dask[distributed]')") from None
    return distributed


@contextlib.contextmanager
def sweep_client(workers=None, scheduler=None):
    """A ``distributed.Client``: connected to ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``) if given, else to a new LocalCluster of ``workers`` single-threaded
    worker processes (default: one per core). The local cluster is shut down on exit."""
    distributed = _import_distributed()
    if scheduler is not None and workers is not None:
        raise ValueError("give either --workers (a local cluster) or --scheduler (an existing "
                         "cluster), not both")
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler}: {error}. Start "
                               "one (docs/sweeps.md) or run without --scheduler for a local "
                               "cluster") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"--workers {workers}: give at least 1")
    # no dashboard; the scheduler's status server on a free local port, so that a second sweep
    # on the same machine does not warn that port 8787 is taken
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False},
                                       env=dict(WORKER_ENV), silence_logs=40)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()

"""Submitting the paper-settings shards to a scheduler through submitit: one job per missing shard, as one job
array (`python -m cibtools.paper_settings submit`).

- `slurm`: a Slurm job array (`sbatch` must be on the PATH), with the CPUs, GPUs, time limit and partition
  given; `--parallel` caps how many array tasks run at once.
- `local`: the same jobs as processes on this machine, at most `--parallel` at a time (submit waits for them).

Each job runs `paper_settings.run_shard` for its shard, which resumes from the shard's last saved epoch,
refuses to run a shard another worker holds, and writes its rows only when it has finished; a job that was
killed is resubmitted by submitting again. Logs go to `<rows folder>/logs/<job id>/`, and
`<rows folder>/logs/<shard>.job` names the job (and its log folder) that last ran each shard.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

EXECUTORS = ("auto", "slurm", "local")


def run_job(shard_name: str, threads: int, device: str | None, run_kwargs: dict) -> str:
    """What one job does: `threads` torch threads, then the shard (a line saying what happened)."""
    import torch

    from . import paper_settings

    torch.set_num_threads(threads)
    shard = paper_settings.shards_named([shard_name])[0]
    try:
        rows = paper_settings.run_shard(shard, device=device, **run_kwargs)
    except paper_settings.ShardBusy as busy:
        return f"{busy}; this job did nothing"
    return f"{shard_name}: {'rows present, nothing to do' if rows is None else f'{len(rows)} rows'}"


def make_executor(kind: str, folder: Path, cpus: int = 1, gpus: int = 0, hours: float = 4.0,
                  partition: str | None = None, parallel: int = 2):
    """A submitit executor of `kind` (`auto`: Slurm where `sbatch` exists, else local) writing logs under `folder`."""
    import submitit

    if kind not in EXECUTORS:
        raise ValueError(f"Unknown executor {kind!r}. Valid: {', '.join(EXECUTORS)}.")
    for name, value, low in (("cpus", cpus, 1), ("gpus", gpus, 0), ("parallel", parallel, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"--{name} must be an integer >= {low}, got {value!r}.")
    if not (isinstance(hours, (int, float)) and 0 < hours <= 24 * 14):
        raise ValueError(f"--hours must be a number of hours in (0, 336], got {hours!r}.")
    if kind == "auto":
        kind = "slurm" if shutil.which("sbatch") else "local"
    if kind == "slurm" and not shutil.which("sbatch"):
        raise ValueError("--executor slurm needs Slurm's `sbatch` on the PATH; use --executor local on this machine.")
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=kind)
    params = dict(timeout_min=int(hours * 60), cpus_per_task=cpus, name="cibtools-shard")
    if gpus:
        params["gpus_per_node"] = gpus
    if kind == "slurm":
        params["slurm_array_parallelism"] = parallel
        if partition:
            params["slurm_partition"] = partition
    elif partition:
        raise ValueError("--partition is a Slurm setting: it has no meaning with --executor local.")
    executor.update_parameters(**params)
    return executor


def submit(shards: list, executor, threads: int = 1, device: str | None = None, run_kwargs: dict | None = None,
           parallel: int = 2, wait: bool | None = None) -> list:
    """Submit one job per shard (one job array on Slurm), record which job runs each shard, and return the
    jobs. A local executor runs at most `parallel` at once, so `submit` waits for them there (`wait`)."""
    run_kwargs = dict(run_kwargs or {})
    folder = Path(str(executor.folder)).parent
    folder.mkdir(parents=True, exist_ok=True)
    local = executor.cluster != "slurm"
    wait = local if wait is None else wait
    jobs, pending = [], list(shards)
    while pending:
        batch = pending[:parallel] if local else pending
        pending = pending[len(batch):]
        with executor.batch():
            new = [executor.submit(run_job, s.name, threads, device, run_kwargs) for s in batch]
        for shard, job in zip(batch, new):
            (folder / f"{shard.name}.job").write_text(f"{job.job_id}\n{folder / str(job.job_id)}\n")
            print(f"{shard.name}: job {job.job_id}, logs in {folder / str(job.job_id)}", flush=True)
        jobs += new
        if local and (pending or wait):
            for job in new:
                _wait(job)
    return jobs


def _wait(job, poll_s: float = 1.0) -> None:
    """Wait for a job and print its result line, or the job's error (the shard's state is kept for a resume)."""
    while not job.done():
        time.sleep(poll_s)
    try:
        print(job.result(), flush=True)
    except Exception as err:  # noqa: BLE001 - the job's own error, reported with where its log is
        print(f"job {job.job_id} failed: {str(err).splitlines()[-1] if str(err) else type(err).__name__} "
              f"(log: {job.paths.stderr}); submit again to resume it.", flush=True)

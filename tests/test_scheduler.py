"""`paper_settings submit` through submitit's local executor (issue 25): tiny shards as jobs, two at once,
one killed and resubmitted, which resumes and writes its rows once."""
import signal
import time

import pytest
import torch

from cibtools import paper_settings as ps, scheduler

pytest.importorskip("submitit")
TINY = dict(epochs=400, train_limit=200, test_limit=8)  # long enough (over 10 s) that a kill lands mid-training


@pytest.fixture
def sigint_stops_jobs():
    """submitit's `cancel` sends SIGINT. A process started in the background by a shell ignores SIGINT and its
    children inherit that, so a cancelled job would run on to its end (seen when `make test` ran with `&`). A
    child of a process that handles SIGINT starts with the default action, as from a terminal."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _epochs_saved(cache, shard):
    state = cache / "paper_settings" / f"{shard.name}-{shard.config(TINY['epochs'], TINY['train_limit']).key()}.state.pt"
    return len(torch.load(state, weights_only=True)["history"]) if state.exists() else 0


@pytest.mark.slow
def test_local_jobs_run_two_at_once_and_a_killed_one_resumes(tmp_path, monkeypatch, sigint_stops_jobs):
    monkeypatch.setenv("CIB_CACHE_DIR", str(tmp_path / "cache"))
    rows_dir = tmp_path / "rows"
    first, second = ps.shards_named(["baseline-authors-mnist-s0", "baseline-signed-mnist-s0"])
    executor = scheduler.make_executor("local", rows_dir / "logs", hours=0.2, parallel=2)
    jobs = scheduler.submit([first, second], executor, run_kwargs=dict(rows_dir=rows_dir, **TINY), parallel=2,
                            wait=False)
    assert len(jobs) == 2 and all(not j.done() for j in jobs)  # both started, neither waited for
    deadline = time.time() + 600  # a loaded machine (other training jobs on its cores) needs minutes to get there
    while _epochs_saved(tmp_path / "cache", second) < 1 and time.time() < deadline:
        time.sleep(0.05)
    assert _epochs_saved(tmp_path / "cache", second) >= 1, "the job saved no epoch in 10 minutes"
    jobs[1].cancel()  # as `scancel` would: the job stops between two saved epochs
    while not jobs[1].done():
        time.sleep(0.2)
    killed_at = _epochs_saved(tmp_path / "cache", second)
    assert 1 <= killed_at < TINY["epochs"] and second.name not in ps.done_shards(rows_dir)
    jobs[0].result()
    assert (rows_dir / "logs" / f"{second.name}.job").read_text().split()[0] == str(jobs[1].job_id)
    (again,) = scheduler.submit([second], executor, run_kwargs=dict(rows_dir=rows_dir, **TINY), parallel=2)
    assert "rows" in again.result()
    assert ps.done_shards(rows_dir) == {first.name, second.name}


def test_make_executor_refuses_what_it_cannot_honour(tmp_path, monkeypatch):
    monkeypatch.setattr(scheduler.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="sbatch"):
        scheduler.make_executor("slurm", tmp_path)
    with pytest.raises(ValueError, match="partition"):
        scheduler.make_executor("local", tmp_path, partition="gpu")
    with pytest.raises(ValueError, match="--cpus"):
        scheduler.make_executor("local", tmp_path, cpus=0)
    with pytest.raises(ValueError, match="Unknown executor"):
        scheduler.make_executor("kubernetes", tmp_path)
    assert scheduler.make_executor("auto", tmp_path).cluster == "local"  # no sbatch here: local processes


def test_submit_command_skips_finished_shards_and_needs_a_folder_for_tiny_runs(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--dir"):
        ps.main(["submit", "baseline-authors-mnist-s0", "--epochs", "1"])

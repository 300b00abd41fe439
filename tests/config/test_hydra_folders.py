"""Run folders never collide: runs are named to the microsecond, sweep jobs by their job number, and every
job's failure is recorded by the Hydra callback."""

from pathlib import Path

from omegaconf import OmegaConf

from attention_nmt.tracking.failures import RecordFailures

HYDRA = OmegaConf.to_container(
    OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "hydra" / "default.yaml"), resolve=False
)


def test_run_and_sweep_folders_carry_microseconds_and_the_job_number():
    assert "%f" in HYDRA["run"]["dir"] and "%f" in HYDRA["sweep"]["dir"]
    assert HYDRA["sweep"]["subdir"].startswith("${hydra.job.num}_")  # unique within a sweep, even for parallel jobs


def test_failures_are_recorded_by_the_hydra_callback():
    assert HYDRA["callbacks"]["record_failures"]["_target_"] == f"{RecordFailures.__module__}.{RecordFailures.__name__}"

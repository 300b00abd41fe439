"""What a run tells the outside world: the W&B logger, failure records for sweeps, W&B sweep files."""

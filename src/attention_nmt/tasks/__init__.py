"""The tasks a user runs: train (fit, then the test pass), evaluate a checkpoint, and their typed configs."""

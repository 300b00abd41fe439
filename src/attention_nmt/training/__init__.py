"""Lightning training: the LightningModule, the Trainer, the optimiser, checkpoints, resuming and DDP."""

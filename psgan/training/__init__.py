"""Training: the progressive schedule, WGAN-GP losses, the training loop, and the run around it (run folder,
lock, resume)."""

"""PSGAN: the pose-conditioned progressive GAN trainer, its generation and evaluation (docs/training.md)."""

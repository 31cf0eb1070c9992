"""datagen: synthetic pose-conditioned character data from rigged avatars (dataset format v1)."""
__version__ = "0.1.0"

"""Evaluation of trained models: the metric registry (PCK, FID/KID, diversity), the keypoint detector behind
PCK, the report, and pose consistency of driven sequences."""

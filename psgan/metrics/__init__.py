"""Evaluation metrics, one short module each: pose consistency (:mod:`.pck`), image quality
(:mod:`.fid`: FID and KID), and sample diversity (:mod:`.diversity`). docs/evaluation.md defines each."""

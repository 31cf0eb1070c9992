"""Evaluation metrics, one short module each: pose consistency (:mod:`.pck`), image quality
(:mod:`.fid`: FID and KID), and sample diversity (:mod:`.diversity`), and the registry that
`psgan eval --metrics` picks them from (:mod:`.registry`). docs/evaluation.md defines each."""

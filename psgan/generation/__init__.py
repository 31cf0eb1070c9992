"""Generation from a trained model: sample grids, videos and interpolations, and driving it with outside
motion (OpenPose sequences, BVH clips)."""

"""Test helpers shared by the test packages: synthetic datasets, Blender rigs made in the test, tiny training
runs, stick-figure data, and the one-line-error checks (imported as ``from helpers.x import y``)."""

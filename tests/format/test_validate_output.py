"""`datagen validate` says one line: no progress bar left behind when its output is not a terminal."""
from click.testing import CliRunner

from helpers.synthetic import write_synthetic
from datagen.cli import main


def test_validate_prints_one_line(tmp_path):
    data = write_synthetic(tmp_path / "d.h5", n=6)
    r = CliRunner().invoke(main, ["validate", str(data)])
    assert r.exit_code == 0, r.output
    assert r.output == f"{data}: valid pose-dataset v1, 6 rows\n"

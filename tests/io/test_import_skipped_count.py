"""An import whose rows are all skipped (an empty image folder) names the first few skipped files, counts
the rest in one line, then ends with its one error line."""
import logging

from click.testing import CliRunner

from helpers.openpose_files import TABLE
from datagen.cli import main
from datagen.io.importers import SKIPPED_SHOWN


def test_empty_image_folder_counts_its_warnings(tmp_path, caplog):
    (tmp_path / "img").mkdir()
    rows = len(TABLE.read_text().splitlines()) - 1
    assert rows > SKIPPED_SHOWN + 5
    with caplog.at_level(logging.WARNING):
        r = CliRunner().invoke(main, ["import-deepfashion", "--csv", str(TABLE), "--images", str(tmp_path / "img"),
                                      "-o", str(tmp_path / "f.h5"), "--workers", "1"])
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: ")
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    named = [w for w in warnings if w.startswith("skipped ") and "more source files" not in w]
    assert len(named) == SKIPPED_SHOWN
    counted = [w for w in warnings if "more source files (the summary counts them by reason)" in w]
    assert len(counted) == 1 and SKIPPED_SHOWN + int(counted[0].split()[1]) <= rows
    assert not (tmp_path / "f.h5").exists()

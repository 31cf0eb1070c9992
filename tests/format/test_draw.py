"""Sheets for people (datagen.format.draw): labelled grids and text bands."""
import numpy as np

from datagen.format.draw import grid, labelled_grid, text_band


def test_labelled_grid_keeps_the_tiles_and_labels_every_row_and_column():
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(6)]
    plain = grid(tiles, cols=3)
    sheet = labelled_grid(tiles, 3, ["pose", "seed 0"], ["row 0", "row 5", "row 9"], label_width=60)
    head = sheet.shape[0] - plain.shape[0]
    assert head >= 12 and sheet.shape[1] == plain.shape[1] + 60
    assert np.array_equal(sheet[head:, 60:], plain)                 # the tiles themselves untouched
    for r in range(2):
        y = head + 2 + 66 * r
        assert (sheet[y:y + 64, :60] < 128).any()                   # a label beside each row
    for c in range(3):
        x = 60 + 2 + 66 * c
        assert (sheet[:head, x:x + 64] < 128).any()                 # and above each column
    assert (sheet[:head, :60] == 255).all()                          # the corner stays blank


def test_text_band_cuts_what_does_not_fit():
    wide, narrow = text_band("seed 12345", 200, 14), text_band("seed 12345", 20, 14)
    assert wide.shape == (14, 200, 3) and narrow.shape == (14, 20, 3)
    assert (wide < 128).any() and (narrow[:, -2:] == 255).all()

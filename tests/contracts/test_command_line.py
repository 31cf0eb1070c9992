"""How every command of both command lines ends (README, "Exit codes"; datagen.format.command_line): one
`Error:` line, 1 for a job that could not be done, 2 for a usage error without the usage block, 130 and
`Aborted!` for Ctrl-C, and finite floats only."""
from __future__ import annotations

import errno

import pytest
from click.testing import CliRunner

import datagen.inspect.info as info_module
import psgan.training.run as run_module
from datagen.cli import main as datagen_main
from psgan.cli import main as psgan_main

CLIS = {"datagen": datagen_main, "psgan": psgan_main}


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("cli, args, patch", [
    ("datagen", ["info", "{data}"], (info_module, "dataset_summary")),
    ("psgan", ["train", "{data}", "-o", "{tmp}/run"], (run_module, "train")),
])
def test_ctrl_c_exits_130_with_one_line(cli, args, patch, rendered_file, tmp_path, monkeypatch):
    monkeypatch.setattr(*patch, _interrupt)
    r = CliRunner().invoke(CLIS[cli], [a.format(data=rendered_file, tmp=tmp_path) for a in args])
    assert r.exit_code == 130, r.output
    assert r.output.strip().splitlines()[-1] == "Aborted!" and "Traceback" not in r.output


@pytest.mark.parametrize("cli, args, option", [
    ("datagen", ["render", "--azimuth", "nan"], "--azimuth"),
    ("datagen", ["preview", "{data}", "--n", "x"], "--n"),
    ("psgan", ["train", "{data}", "--kimg-per-phase", "inf"], "--kimg-per-phase"),
    ("psgan", ["generate", "{data}", "--poses", "{data}", "-o", "{tmp}/a.gif", "--fps", "nan"], "--fps"),
])
def test_usage_errors_are_one_line_and_exit_2(cli, args, option, rendered_file, tmp_path):
    r = CliRunner().invoke(CLIS[cli], [a.format(data=rendered_file, tmp=tmp_path) for a in args])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: Invalid value for '{option}'"), r.output
    assert list(tmp_path.iterdir()) == [rendered_file]


def test_an_os_error_is_one_line_naming_the_path(rendered_file, monkeypatch):
    def unreadable(path):
        raise OSError(errno.EIO, "Input/output error", str(path))
    monkeypatch.setattr(info_module, "dataset_summary", unreadable)
    r = CliRunner().invoke(datagen_main, ["info", str(rendered_file)])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [f"Error: {rendered_file}: input/output error"]


def test_finite_option_help_names_its_range():
    from datagen.format.command_line import Finite

    assert Finite()._describe_range() == "finite" and Finite(-89, 89)._describe_range() == "-89<=x<=89"

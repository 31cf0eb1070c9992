"""Costume and clip names: case-insensitive, and "did you mean" for a typo (no Blender)."""
import pytest

from datagen.render.names import match_names

CLIPS = ["Idle", "Walk", "Run", "Wave", "walk_slow"]


def test_exact_and_case_insensitive_names_in_rig_order():
    assert match_names(CLIPS, ["wave", "IDLE"], "clip", "rig.glb") == ["Idle", "Wave"]
    assert match_names(CLIPS, ["walk_slow", "Walk"], "clip", "rig.glb") == ["Walk", "walk_slow"]


def test_a_typo_gets_did_you_mean():
    with pytest.raises(ValueError) as e:
        match_names(CLIPS, ["Wlak", "Run"], "clip", "rig.glb")
    assert str(e.value).startswith("rig.glb: no clip named 'Wlak'; 'Wlak': did you mean 'Walk'")
    assert "(the rig has: Idle, Walk, Run, Wave, walk_slow)" in str(e.value)


def test_an_ambiguous_case_is_not_guessed():
    with pytest.raises(ValueError, match="no costume named 'red'"):
        match_names(["Red", "RED"], ["red"], "costume", "avatar.blend")
    with pytest.raises(ValueError, match=r"named 'zzz' \(the rig has"):     # nothing close: no hint
        match_names(["Red"], ["zzz"], "costume", "avatar.blend")

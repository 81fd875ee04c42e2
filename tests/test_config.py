"""Configuration: defaults, TOML round trip, overrides, and clear refusals."""
from __future__ import annotations

import subprocess
import sys

import pytest

import simulator as S
from simulator.config import ConfigError, parse_override


def test_every_key_has_a_default_and_round_trips():
    cfg = S.load_config()
    again = S.load_config(__import__("tomllib").loads(cfg.to_toml()))
    assert again == cfg


def test_set_overrides_parse_toml_values():
    cfg = S.load_config(None, ["dynamics.kind=hop", "dynamics.gamma1=1e-4", "run.probes=all", "lattice.L=8",
                               "run.tau.points=5"])
    assert cfg["dynamics"]["kind"] == "hop" and cfg["dynamics"]["gamma1"] == 1e-4
    assert cfg["run"]["probes"] == "all" and cfg["lattice"]["L"] == 8 and cfg["run"]["tau"]["points"] == 5
    assert parse_override("couplings.cutoff=auto") == ("couplings.cutoff", "auto")


@pytest.mark.parametrize("raw,needles", [
    ({"lattice": {"d": 4}}, ["lattice.d", "4", "[1, 3]"]),
    ({"lattice": {"size": 3}}, ["lattice.size", "d, L, boundary, levels"]),
    ({"couplings": {"form": "gauss"}}, ["couplings.form", "'gauss'", "'exp', 'power'"]),
    ({"dynamics": {"gamma1": -1.0}}, ["dynamics.gamma1", "-1.0", "[0"]),
    ({"dynamics": {"bath": {"side": "top"}}}, ["dynamics.bath.side", "'top'", "'left'"]),
    ({"run": {"probes": "some"}}, ["run.probes", "'some'", "'all'"]),
    ({"run": {"tau": {"min": 10.0, "max": 1.0}}}, ["run.tau.max", "run.tau.min"]),
    ({"couplings": {"cutoff": "far"}}, ["couplings.cutoff", "'far'", "'auto'"]),
    ({"dynamics": {"kind": "hop", "filling": 0.0}}, ["dynamics.filling", "levels"]),
    ({"nonsense": {}}, ["nonsense", "lattice"]),
    ({"sweep": {"dynamics.gamma1": 0.1}}, ["sweep.dynamics.gamma1", "list"]),
    ({"sweep": {"dynamics.gamma2": [0.1]}}, ["dynamics.gamma2"]),
])
def test_bad_values_are_refused_with_key_value_and_allowed(raw, needles):
    with pytest.raises(ConfigError) as exc:
        S.load_config(raw)
    for n in needles:
        assert n in str(exc.value), (n, str(exc.value))


def test_probes_more_than_levels_refused():
    with pytest.raises(ConfigError, match="run.probes"):
        S.build_model(S.load_config({"lattice": {"L": 2, "levels": 2}, "run": {"probes": 5}}))


def test_cli_reports_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[couplings]\nform = 'cubic'\n")
    res = subprocess.run([sys.executable, "-m", "dotkmc.cli", "run", str(bad)], capture_output=True, text=True)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "couplings.form = 'cubic'" in res.stderr and "'exp', 'power'" in res.stderr
    res = subprocess.run([sys.executable, "-m", "dotkmc.cli", "run", str(tmp_path / "missing.toml")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "missing.toml" in res.stderr
    res = subprocess.run([sys.executable, "-m", "dotkmc.cli", "run", str(bad), "--set", "lattice.L"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "table.key=value" in res.stderr


@pytest.mark.slow
def test_cli_help_everywhere():
    for cmd in ([], ["run"], ["resume"], ["analyze"], ["plot"], ["config"], ["meanfield"],
                ["sweep"], ["selfconsistent"]):
        res = subprocess.run([sys.executable, "-m", "dotkmc.cli", *cmd, "--help"], capture_output=True, text=True)
        assert res.returncode == 0 and "usage:" in res.stdout, (cmd, res.stderr)

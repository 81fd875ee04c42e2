"""The ``meanfield`` sub-command: add_parser/run contract and the stand-alone module."""
import argparse
import subprocess
import sys
from pathlib import Path

from analysis.meanfield import cli

ROOT = Path(__file__).resolve().parents[1]


def _parser():
    p = argparse.ArgumentParser(prog="dotkmc")
    sub = p.add_subparsers(dest="command")
    cli.add_parser(sub)
    return p


def test_add_parser_and_solve(capsys):
    args = _parser().parse_args(["meanfield", "solve", "--gamma", "1", "--delta-m", "1e4", "--K", "7.389",
                                 "--Xi", "0.6", "--N", "10", "--d", "1", "--z", "2"])
    assert args.func is cli.run
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Eq. (19) corrected" in out and "stable" in out and "eq22_right" in out


def test_bad_parameter_exit_code_2(capsys):
    args = _parser().parse_args(["meanfield", "solve", "--gamma", "-1"])
    assert cli.run(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "gamma" in err and "Traceback" not in err
    args = _parser().parse_args(["meanfield", "solve", "--Xi", "0.3", "--law", "eq16"])
    assert cli.run(args) == 2
    assert "Xi*log(K)" in capsys.readouterr().err


def test_figures_subset(tmp_path, capsys):
    args = _parser().parse_args(["meanfield", "figures", "--outdir", str(tmp_path), "--only", "4", "6"])
    assert cli.run(args) == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["fig4_gamma2_vs_XilogK.png", "fig6_gamma_n.png"]
    args = _parser().parse_args(["meanfield", "figures", "--outdir", str(tmp_path), "--only", "12"])
    assert cli.run(args) == 2


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "analysis.meanfield.cli", "solve", "--Xi", "1.0", "--d", "2"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Gamma_1" in r.stdout
    r = subprocess.run([sys.executable, "-m", "analysis.meanfield.cli", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "figures" in r.stdout

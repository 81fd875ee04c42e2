"""The analysis commands end to end on tiny results: ``dotkmc analyze`` (runs, a bath
chain, a sweep), ``dotkmc plot``, ``dotkmc selfconsistent --critical`` and the closure
studies; each run's model is built once; the bath is read from the configuration;
the import graph of analysis/ stays shallow."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simulator as S
from analysis.bath import bath_mask, configured_gamma1
from analysis.closure import Measurement, fixed_mask
from analysis.estimates import median_with_error
from analysis.studies import closure_study as cs
from dotkmc import cli
from simulator.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
FAST_RUN = {"t_max": "auto", "flips": 300.0, "tau": {"points": 12}, "checkpoint_every": 0.0}


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_to(path: Path, raw: dict) -> Path:
    S.run(S.load_config(raw), output=path, progress=False)
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("results")
    flip = run_to(d / "flip.nc", {"lattice": {"d": 1, "L": 16, "levels": 2},
                                  "dynamics": {"gamma1": 1e-2},
                                  "run": {**FAST_RUN, "seed": 7, "probes": 6, "trajectory": {"probes": 1}}})
    hop = run_to(d / "hop.nc", {"lattice": {"d": 1, "L": 12, "levels": 3},
                                "dynamics": {"kind": "hop", "gamma1": 1e-2},
                                "run": {**FAST_RUN, "seed": 8, "probes": 4, "trajectory": {"probes": 0}}})
    bath = run_to(d / "bath.nc", {"lattice": {"d": 1, "L": 12, "levels": 2, "boundary": "open"},
                                  "couplings": {"cutoff": 5.0},
                                  "dynamics": {"gamma1": 1e-3, "bath": {"side": "left", "width": 2, "gamma1": 1e-1}},
                                  "run": {**FAST_RUN, "seed": 4, "probes": "all", "trajectory": {"probes": 0}}})
    sweep = d / "sweep.nc"
    run_sweep(S.load_config({"lattice": {"d": 1, "L": 16, "levels": 2},
                             "run": {**FAST_RUN, "probes": 4, "trajectory": {"probes": 1}},
                             "sweep": {"dynamics.gamma1": [1e-2, 3e-2], "realizations": 2}}),
              sweep, workers=0, progress=False)
    return {"flip": flip, "hop": hop, "bath": bath, "sweep": sweep}


@pytest.fixture
def count_models(monkeypatch) -> list:
    """Every call of simulator.model_from_dataset, by the probe_index it was given."""
    calls = []
    real = S.model_from_dataset

    def counting(ds):
        calls.append(tuple(ds["probe_index"].values.tolist()))
        return real(ds)

    monkeypatch.setattr(S, "model_from_dataset", counting)
    return calls


def value(text: str, label: str) -> tuple[float, float]:
    """(value, error) of a line of the summary table (error NaN if the line has none)."""
    line = next(s for s in text.splitlines() if s.startswith(label))
    nums = line[44:].split()
    return float(nums[0]), float(nums[1]) if len(nums) > 1 else np.nan


def test_analyze_runs_print_the_datasets_linewidths_and_build_each_model_once(results, tmp_path, capsys,
                                                                               count_models):
    paths = [results["flip"], results["hop"], results["bath"]]
    assert cli.main(["analyze", *map(str, paths), "--figures", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert len(count_models) == 3 and len(set(count_models)) == 3     # exactly once per run dataset
    blocks = out.split("== ")[1:]
    assert [b.splitlines()[0] for b in blocks] == [str(p) for p in paths]
    for path, block in zip(paths, blocks):
        ds = xr.load_dataset(path)
        med, err = value(block, "typical Gamma2, echo (median over probes)")
        want, want_err = median_with_error(ds["gamma2_echo"].values)
        assert med == pytest.approx(want, rel=1e-4) and err == pytest.approx(want_err, rel=0.05)
        assert value(block, "Gamma2 of the probe-averaged echo")[0] == pytest.approx(
            float(ds["gamma2_echo_of_mean"]), rel=1e-4)
        assert value(block, "typical Gamma2*, Ramsey")[0] == pytest.approx(
            float(np.nanmedian(ds["gamma2_ramsey"].values)), rel=1e-4)
        # the exact product of the same couplings, within 4 bootstrap errors of the measurement
        exact, _ = value(block, "typical Gamma2, exact product")
        assert abs(exact - med) < 4 * err, (path.name, exact, med, err)
        m = re.search(r"echo   vs exact: (\d+) points, mean z\^2 = ([\d.]+)", block)
        assert m and int(m.group(1)) == ds["echo"].size and float(m.group(2)) < 3.0
    assert "figure: " in blocks[2] and is_png(tmp_path / "figs" / "bath_profile.png")
    assert "figure: " not in blocks[0] + blocks[1]       # no bath, no profile


@pytest.mark.slow
def test_analyze_sweep_writes_its_figures_and_builds_each_member_model_once(results, tmp_path, capsys,
                                                                            count_models):
    figs = tmp_path / "figs"
    assert cli.main(["analyze", str(results["sweep"]), "--figures", str(figs)]) == 0
    out = capsys.readouterr().out
    assert len(count_models) == 4                         # 2 points x 2 realizations, one model each
    table = [s for s in out.splitlines() if s.strip().startswith(("0.01", "0.03"))]
    assert len(table) == 2 and all(" flip " in s for s in table)
    for name in ("sweep_gamma2_distribution.png", "sweep_echo.png", "sweep_trajectory.png", "gamma2_scaling.png"):
        assert f"figure: {figs / name}" in out and is_png(figs / name)


def test_analyze_without_exact_skips_it(results, capsys):
    assert cli.main(["analyze", str(results["flip"]), "--no-exact"]) == 0
    out = capsys.readouterr().out
    assert "typical Gamma2, echo" in out and "exact" not in out


@pytest.mark.slow
def test_plot_run_and_sweep(results, tmp_path, capsys):
    assert cli.main(["plot", str(results["flip"]), "-o", str(tmp_path / "run.png")]) == 0
    assert cli.main(["plot", str(results["sweep"]), "-o", str(tmp_path / "sweep.png")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "run.png"), str(tmp_path / "sweep.png")]
    assert is_png(tmp_path / "run.png") and is_png(tmp_path / "sweep.png")


CRITICAL = """
[lattice]
d = 1
L = 6
boundary = "open"
levels = 2
[couplings]
cutoff = 6.0
[dynamics]
gamma1 = 1e-6
[run]
probes = "all"
seed = 5001
tau = { points = 12 }
trajectory = { probes = 0 }
checkpoint_every = 0.0
[selfconsistent]
pin = "ends"
mode = "profile"
flips = 100.0
[sweep]
"lattice.L" = [5, 6]
"""


def test_selfconsistent_critical_on_a_tiny_pinned_chain(tmp_path, capsys):
    toml = tmp_path / "crit.toml"
    toml.write_text(CRITICAL)
    assert cli.main(["selfconsistent", str(toml), "--critical", "--iterations", "4", "-o", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out.splitlines()
    head = next(i for i, s in enumerate(out) if s.split()[:2] == ["L", "free"])
    rows = [s.split() for s in out[head + 1: head + 3]]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(5, 3), (6, 4)]        # pinned ends: L - 2 free dots
    for r in rows:
        rho, critical = float(r[2]), float(r[4])
        assert rho > 0 and critical == pytest.approx(1.0 / rho, rel=1e-4)
        assert float(r[5]) > 0                                                 # the mean-field chain's value
    assert is_png(tmp_path / "c" / "critical.png")


N_TR = 4


def eq12(config, g1, k):
    """Stand-in for the simulation (as in tests/test_closure.py): Gamma2 = n Gamma1 log(gamma/(n Gamma1))."""
    out = np.zeros_like(g1)
    pos = g1 > 0
    out[pos] = N_TR * g1[pos] * np.log(1.0 / (N_TR * g1[pos]))
    return Measurement(out, 1e-4 * out)


def test_fixed_point_study_runs_end_to_end(tmp_path):
    c = S.load_config({"lattice": {"d": 1, "L": 8, "levels": 4}, "dynamics": {"gamma1": 1e-3},
                       "selfconsistent": {"delta_m": 20.0, "K": 4.0, "damping": 1.0, "max_iterations": 200,
                                          "tolerance": 1.0},
                       "sweep": {"selfconsistent.Xi": [0.5, 0.6]}})
    rows = cs.fixed_point_study(c, tmp_path, measure=eq12)
    assert [r["label"] for r in rows] == ["Xi=0.5", "Xi=0.6"]
    exact = 1.0 / N_TR * np.exp(-20.0 / N_TR)      # Eq. 17 with the stand-in: log(gamma/(n G1)) = delta_m/(gamma n)
    for r in rows:
        assert r["status"] == "converged" and r["law"] == "17"
        assert r["gamma1"] == pytest.approx(exact, rel=5e-4)
        assert (tmp_path / r["label"] / "history.nc").is_file()
    assert is_png(cs.plot_fixed_points(rows, tmp_path / "fixed_points.png"))


def test_bath_chain_study_holds_a_bath_as_fast_as_the_chain(tmp_path):
    """bath.gamma1 equal to dynamics.gamma1: the bath dot is still a bath (held fixed),
    which a mask guessed from the rates would miss; the study runs and plots."""
    L = 10
    x = np.arange(L)
    A = N_TR * np.exp(-np.abs(x[:, None] - x[None, :]))

    def linear(config, g1, k):
        g2 = A @ g1
        return Measurement(g2, 1e-4 * g2)

    c = S.load_config({"lattice": {"d": 1, "L": L, "levels": N_TR, "boundary": "open"},
                       "dynamics": {"gamma1": 1e-3, "bath": {"side": "left", "width": 1, "gamma1": 1e-3}},
                       "selfconsistent": {"mode": "profile", "delta_m": 50.0, "Xi": 0.5, "K": 4.0, "damping": 1.0,
                                          "max_iterations": 200, "tolerance": 1.0}})
    fixed, values = fixed_mask(c)
    assert fixed.tolist() == [True] + [False] * (L - 1) and values[0] == 1e-3
    hists, dirs, cmp = cs.bath_chain_study(c, tmp_path, measure=linear)
    h = hists[0]
    assert h.attrs["status"] == "converged" and np.all(h["gamma1_next"].values[:, 0] == 1e-3)
    M = A / 50.0
    want = np.linalg.solve(np.eye(L - 1) - M[1:, 1:], M[1:, 0] * 1e-3)
    np.testing.assert_allclose(h["gamma1_next"].values[-1][1:], want, rtol=2e-3)
    assert cmp["x"].tolist() == list(range(1, L)) and cmp["mf_gamma2"].shape == (L - 1,)
    assert is_png(cs.plot_bath_chain(cmp, tmp_path / "bath_profile.png"))


@pytest.mark.parametrize("side", ["none", "left", "right", "both", "all"])
def test_bath_mask_is_the_simulators_rate_profile(side):
    c = S.load_config({"lattice": {"d": 2, "L": 6},
                       "dynamics": {"gamma1": 1e-3, "bath": {"side": side, "width": 2, "gamma1": 0.5}}})
    rates = S.build_model(c).gamma1
    np.testing.assert_array_equal(configured_gamma1(c), rates)
    np.testing.assert_array_equal(bath_mask(c), rates == 0.5)


# ---------------------------------------------------------------------------
# the import graph of analysis/
# ---------------------------------------------------------------------------
def project_imports(package: str = "analysis") -> dict[str, set[str]]:
    """Module -> the project modules it imports (module level or inside functions;
    imports under ``if TYPE_CHECKING:`` are for annotations only and left out)."""
    mods = {}
    for f in (ROOT / package).rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {}
    for name, f in mods.items():
        pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()

        def visit(node):
            for ch in ast.iter_child_nodes(node):
                if isinstance(ch, ast.If) and "TYPE_CHECKING" in ast.unparse(ch.test):
                    continue
                if isinstance(ch, ast.Import):
                    found.update(a.name for a in ch.names if a.name in mods)
                elif isinstance(ch, ast.ImportFrom):
                    base = ch.module or ""
                    if ch.level:
                        up = pkg.split(".")[: len(pkg.split(".")) - ch.level + 1]
                        base = ".".join(up + ([ch.module] if ch.module else []))
                    for a in ch.names:
                        sub = f"{base}.{a.name}"
                        if sub in mods:
                            found.add(sub)
                        elif base in mods:
                            found.add(base)
                visit(ch)

        visit(ast.parse(f.read_text()))
        found.discard(name)
        graph[name] = found
    return graph


def import_depths(graph: dict[str, set[str]]) -> dict[str, int]:
    """Longest chain of project imports below each module; a cycle fails."""
    depth: dict[str, int] = {}

    def walk(m, stack):
        assert m not in stack, f"import cycle: {' -> '.join(stack + (m,))}"
        if m not in depth:
            depth[m] = max((1 + walk(n, stack + (m,)) for n in graph[m]), default=0)
        return depth[m]

    for m in graph:
        walk(m, ())
    return depth


def test_the_analysis_import_graph_is_shallow():
    graph = project_imports()
    assert {"analysis.result", "analysis.studies.scan", "analysis.exact.fock"} <= set(graph)
    depth = import_depths(graph)
    assert max(depth.values()) <= 4, sorted(depth.items(), key=lambda kv: -kv[1])[:5]
    # the checker sees chains: the studies sit on the plots, which sit on the exact references
    assert depth["analysis.studies.scan"] >= 3 and depth["analysis.compare"] == 2

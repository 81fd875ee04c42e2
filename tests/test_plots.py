"""The exact stationary distribution of a level energy (analysis/stationary.py) and the
figures of a run and of a sweep (analysis/plots.py, ``dotkmc plot``)."""
from __future__ import annotations

import itertools
import warnings
from math import comb

import numpy as np
import pytest
import xarray as xr
from scipy.linalg import expm
from scipy.stats import chi2

import simulator as S
from analysis import exact
from analysis import stationary as st
from analysis.plots import plot_run, plot_sweep, quicklook_figure, sweep_figure
from dotkmc import cli
from simulator import sweep as SW


# ---------------------------------------------------------------------------
# brute force: every configuration of every coupled level
# ---------------------------------------------------------------------------
def flip_row(K: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"level": np.arange(1, K + 1), "dot": np.arange(1, K + 1) // 4, "U": rng.normal(size=K),
            "gamma1": rng.uniform(0.01, 0.1, K)}


def brute_flip(row: dict) -> tuple[np.ndarray, np.ndarray]:
    U = row["U"]
    occ = np.array(list(itertools.product((0, 1), repeat=U.size)), dtype=float)
    return (occ - 0.5) @ U, np.full(occ.shape[0], 0.5 ** U.size)


def hop_row(M: int, n_dots: int, probe_level: int, seed: int, drop: int = 1) -> dict:
    """Probe on dot 0; couplings to the other levels of dot 0 and to dots 1.., with a
    few levels left uncoupled (``drop`` per neighbouring dot)."""
    rng = np.random.default_rng(seed)
    level, dot = [], []
    for J in range(n_dots):
        for b in range(M):
            if (J == 0 and b == probe_level) or (J > 0 and b < drop):
                continue
            level.append(J * M + b)
            dot.append(J)
    level, dot = np.array(level), np.array(dot)
    rate = rng.uniform(0.01, 0.1, n_dots)           # Gamma1 of each dot
    return {"level": level, "dot": dot, "U": rng.normal(size=level.size), "gamma1": rate[dot],
            "probe_dot": 0, "probe_level": probe_level}


def brute_hop(row: dict, M: int, n: int, condition_on_probe: bool = True):
    """Atoms of X over all configurations. The own dot is enumerated the way the
    physics reads: the probe is occupied with probability n/M, and the other M - 1
    levels then hold n - 1 particles (else n), uniformly. ``condition_on_probe=False``
    is the tempting mistake (the other levels always hold n) used as a wrong
    alternative below."""
    nu = n / M
    alpha = row["probe_level"]
    per_dot = []
    for J in np.unique(row["dot"]):
        u = np.zeros(M)
        sel = row["dot"] == J
        u[row["level"][sel] % M] = row["U"][sel]
        atoms = []
        if J == row["probe_dot"]:
            others = [b for b in range(M) if b != alpha]
            cases = ((1, n / M), (0, 1 - n / M)) if condition_on_probe else ((0, 1.0),)
            for s, w in cases:
                k = n - s
                if not 0 <= k <= M - 1:
                    continue
                for occ in itertools.combinations(others, k):
                    atoms.append((sum(u[b] for b in occ) - nu * u.sum(), w / comb(M - 1, k)))
        else:
            for occ in itertools.combinations(range(M), n):
                atoms.append((sum(u[b] for b in occ) - nu * u.sum(), 1 / comb(M, n)))
        per_dot.append(atoms)
    values, probs = [], []
    for combo in itertools.product(*per_dot):
        values.append(sum(a for a, _ in combo))
        probs.append(np.prod([p for _, p in combo]))
    return np.array(values), np.array(probs)


def binned(values, probs, edges):
    return np.histogram(values, edges, weights=probs)[0]


# ---------------------------------------------------------------------------
@pytest.mark.parametrize("K", [1, 6, 9])
def test_flip_distribution_matches_enumeration(K):
    row = flip_row(K, seed=K)
    v, p = brute_flip(row)
    edges, prob = st.stationary_distribution(row, "flip", 4, None, bins=17)
    assert np.max(np.abs(prob - binned(v, p, edges))) < 1e-12
    # arbitrary edges, including ones beyond the support
    edges = np.linspace(v.min() - 1.0, v.max() + 0.3, 23)
    prob, err = st.stationary_bins(row, "flip", 4, None, edges)
    assert np.all(err == 0) and np.max(np.abs(prob - binned(v, p, edges))) < 1e-12
    mean, var = st.shift_moments(row, "flip", 4)
    assert mean == 0 and abs(np.sum(p * v)) < 1e-12
    assert var == pytest.approx(np.sum(p * v ** 2), rel=1e-12, abs=1e-15)
    assert var == pytest.approx(np.sum(row["U"] ** 2) / 4, rel=1e-12)


@pytest.mark.parametrize("M, n, n_dots, alpha", [(3, 1, 2, 0), (4, 2, 3, 1), (4, 1, 3, 3), (4, 3, 2, 2)])
def test_hop_distribution_matches_enumeration(M, n, n_dots, alpha):
    row = hop_row(M, n_dots, alpha, seed=10 * M + n)
    v, p = brute_hop(row, M, n)
    assert abs(p.sum() - 1) < 1e-12
    edges = np.linspace(v.min() - 0.2, v.max() + 0.2, 31)
    prob, err = st.stationary_bins(row, "hop", M, n, edges)
    assert np.all(err == 0) and np.max(np.abs(prob - binned(v, p, edges))) < 1e-12
    mean, var = st.shift_moments(row, "hop", M, n)
    assert mean == 0 and abs(np.sum(p * v)) < 1e-12
    assert var == pytest.approx(np.sum(p * v ** 2), rel=1e-12)
    # the conditioning on the probe's own occupation matters (unless n/M makes it trivial)
    w, q = brute_hop(row, M, n, condition_on_probe=False)
    assert np.max(np.abs(binned(w, q, edges) - prob)) > 0.01


def test_hop_two_levels_is_the_telegraph():
    """M = 2, n = 1: a neighbouring dot is a telegraph of amplitude |u0 - u1|/2."""
    row = {"level": np.array([2, 3]), "dot": np.array([1, 1]), "U": np.array([0.7, -0.4]),
           "gamma1": np.array([0.1, 0.1])}
    assert st.shift_moments(row, "hop", 2, 1)[1] == pytest.approx((0.7 + 0.4) ** 2 / 4, rel=1e-14)
    tele = {"level": np.array([2]), "dot": np.array([1]), "U": np.array([1.1]), "gamma1": np.array([0.1])}
    edges = np.linspace(-1, 1, 9)
    assert np.allclose(st.stationary_bins(row, "hop", 2, 1, edges)[0],
                       st.stationary_bins(tele, "flip", 2, None, edges)[0], atol=1e-15)
    assert st.correlation_time(row, "hop", 2, 1) == pytest.approx(st.correlation_time(tele, "flip", 2), rel=1e-14)


def test_grid_method_within_its_bound():
    """Forced onto the grid, the answer stays within its computed bound of the exact one,
    and the bound is small."""
    edges = np.linspace(-3, 3, 25)
    for K in (13, 18):              # 13 = 12 + 1: a group of a single level (negative U included)
        row = flip_row(K, seed=3)
        assert np.any(row["U"] < 0)
        exact_prob, err0 = st.stationary_bins(row, "flip", 4, None, edges)
        assert np.all(err0 == 0)
        for grid in (2 ** 12, 2 ** 16):
            prob, err = st.stationary_bins(row, "flip", 4, None, edges, exact_atoms=2 ** 10, grid=grid)
            assert np.all(np.abs(prob - exact_prob) <= err)
            assert err.max() < (0.05 if grid == 2 ** 12 else 3e-3)
    hop = hop_row(4, 5, 0, seed=4)
    edges = np.linspace(-3, 3, 13)
    exact_prob, _ = st.stationary_bins(hop, "hop", 4, 2, edges)
    prob, err = st.stationary_bins(hop, "hop", 4, 2, edges, exact_atoms=2 ** 8)
    assert np.all(np.abs(prob - exact_prob) <= err) and err.max() < 1e-4


def test_autocorrelation_against_generators():
    """<X(t)X(0)> from the closed form against the chains' generators (docs/exact.md)."""
    row = flip_row(7, seed=5)
    t = np.array([0.0, 3.0, 17.0, 60.0])
    assert np.allclose(st.shift_autocorrelation(t, row, "flip", 4),
                       exact.flip_frequency_autocorrelation(t, row["U"], row["gamma1"]), rtol=1e-12)
    M, n = 4, 1
    row = hop_row(M, 2, 2, seed=6)
    occ = exact.hop_configurations(M, n)
    total = np.zeros(t.size)
    for J in np.unique(row["dot"]):
        u = np.zeros(M)
        sel = row["dot"] == J
        u[row["level"][sel] % M] = row["U"][sel]
        h = occ @ u - n / M * u.sum()
        Q = exact.hop_generator(occ, row["gamma1"][sel][0])
        pi = np.full(occ.shape[0], 1 / occ.shape[0])
        total += [h @ expm(Q * s) @ (pi * h) for s in t]
    assert np.allclose(st.shift_autocorrelation(t, row, "hop", M, n), total, rtol=1e-10)
    rates = [M * row["gamma1"][row["dot"] == J][0] for J in np.unique(row["dot"])]
    assert min(rates) ** -1 >= st.correlation_time(row, "hop", M, n) >= max(rates) ** -1


# ---------------------------------------------------------------------------
# a simulated trajectory against the exact distribution
# ---------------------------------------------------------------------------
def tiny_run(kind: str, **extra) -> xr.Dataset:
    dyn = {"kind": kind, "gamma1": 0.05}
    if kind == "hop":
        dyn["filling"] = 1 / 3
    raw = {"lattice": {"d": 1, "L": 16, "levels": 3 if kind == "hop" else 2},
           "couplings": {"cutoff": 2.0},
           "dynamics": dyn,
           "run": {"t_max": 1e5, "probes": 2, "seed": 11, "checkpoint_every": 0.0,
                   "tau": {"points": 4, "min": 1.0, "max": 20.0},
                   "trajectory": {"probes": 1, "dt": 1.0}}}
    for k, v in extra.items():
        raw[k] = {**raw.get(k, {}), **v}
    return S.run(S.load_config(raw), progress=False)


def merged_bins(prob: np.ndarray, edges: np.ndarray, n: int, min_expected: float = 20.0):
    """Merge adjacent bins until each expects at least ``min_expected`` of ``n`` samples."""
    keep = [0]
    acc = 0.0
    for i, q in enumerate(prob):
        acc += q
        if acc * n >= min_expected:
            keep.append(i + 1)
            acc = 0.0
    if keep[-1] != prob.size:
        keep[-1] = prob.size
    return edges[keep]


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_simulated_histogram_matches_exact(kind):
    ds = tiny_run(kind)
    model = S.model_from_dataset(ds)
    p = int(ds["traj_probe_index"][0])
    row = model.probe_couplings(p)
    n_part = model.n_particles
    x = ds["energy"].values[0] - float(ds["static_energy"][p])
    # every function of the configuration relaxes at least at 2 Gamma1 (flip) or
    # M Gamma1 (hop): samples 6 relaxation times apart are independent to e^-6
    gap = (2.0 if kind == "flip" else model.M) * float(model.gamma1.min())
    stride = int(np.ceil(6.0 / gap / float(ds["time"][1] - ds["time"][0])))
    sample = x[::stride]
    assert sample.size > 1000
    fine = st.default_edges(row, kind, model.M, n_part, bins=60, samples=x)
    prob, err = st.stationary_bins(row, kind, model.M, n_part, fine)
    assert np.all(err == 0)                        # few atoms: enumerated exactly
    edges = merged_bins(prob, fine, sample.size)
    expected = st.stationary_bins(row, kind, model.M, n_part, edges)[0] * sample.size
    counts = np.histogram(sample, edges)[0]
    assert counts.sum() == sample.size
    stat = np.sum((counts - expected) ** 2 / expected)
    dof = edges.size - 2
    assert chi2.sf(stat, dof) > 1e-3, (stat, dof)
    # the test has power: a wrong distribution is rejected
    if kind == "flip":
        wrong = dict(row, U=1.3 * row["U"])
        q = st.stationary_bins(wrong, kind, model.M, n_part, edges)[0] * sample.size
    else:
        own = {**row, "probe_level": int(row["probe_level"]), "probe_dot": int(row["probe_dot"])}
        v, w = brute_hop(own, model.M, n_part, condition_on_probe=False)
        q = binned(v, w, edges) * sample.size
    q = np.maximum(q, 1e-3)
    assert chi2.sf(np.sum((counts - q) ** 2 / q), dof) < 1e-6


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------
def small_run(kind: str) -> xr.Dataset:
    dyn = {"kind": kind, "gamma1": 0.02} | ({"filling": 0.5} if kind == "hop" else {})
    raw = {"lattice": {"d": 1, "L": 16, "levels": 4 if kind == "hop" else 2},
           "dynamics": dyn,
           "run": {"t_max": 3000.0, "probes": 4, "seed": 3, "checkpoint_every": 0.0,
                   "trajectory": {"probes": 2}}}
    return S.run(S.load_config(raw), progress=False)


def check_labels(fig) -> None:
    for ax in fig.axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), ax


def is_png(path) -> bool:
    return path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


@pytest.mark.parametrize("kind", ["flip", "hop"])
def test_quicklook_figure(tmp_path, kind):
    ds = small_run(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = quicklook_figure(ds)
        check_labels(fig)
        assert len(fig.axes) == 5       # echo, Ramsey, trajectory, histogram, line shape
        line_ax = [ax for ax in fig.axes if "S(" in ax.get_ylabel()]
        assert len(line_ax) == 1
        assert "exact" in " ".join(t.get_text() for t in line_ax[0].get_legend().get_texts())
        decay = [ax for ax in fig.axes if "E_i" in ax.get_ylabel() or "R_i" in ax.get_ylabel()]
        assert len(decay) == 2
        texts = [" ".join(t.get_text() for t in ax.get_legend().get_texts()) for ax in decay]
        assert "simulation" in texts[0] and "exact" in texts[0] and "1/e" in texts[0]
        assert texts[1].count("probe") == 4
        assert "typical" in fig.get_suptitle() and r"\gamma" in fig.get_suptitle()
        for ax in fig.axes[2:]:
            assert ax.get_legend() is not None
        path = plot_run(ds, tmp_path / f"{kind}.png")
        # through the CLI, from the file
        nc = tmp_path / f"{kind}.nc"
        S.write_netcdf(ds, nc)
        assert cli.main(["plot", str(nc), "-o", str(tmp_path / "cli.png")]) == 0
    assert is_png(path) and is_png(tmp_path / "cli.png")


def test_coarse_sampling_window_is_stated():
    ds = small_run("flip")          # default trajectory.dt = t_max/2000 = 1.5 < tau_c = 25
    fig = quicklook_figure(ds, exact=False)
    assert "first 6" in fig.axes[2].get_title()
    ds = ds.isel(time=slice(None, None, 40))   # 60 >= tau_c
    fig = quicklook_figure(ds, exact=False)
    title = fig.axes[2].get_title()
    assert "first 100 samples" in title and "coarser" in title
    check_labels(fig)


@pytest.mark.slow
def test_sweep_figure_and_cli(tmp_path, capsys):
    raw = {"lattice": {"L": 16, "levels": 2},
           "run": {"t_max": 2000.0, "probes": 4, "seed": 7, "trajectory": {"probes": 1}},
           "sweep": {"dynamics.gamma1": [1e-1, 1e-2, 1e-3], "couplings.amplitude": ["gauss", "pm1"],
                     "realizations": 2}}
    out = tmp_path / "sweep.nc"
    ds = SW.run_sweep(S.load_config(raw), out, workers=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = sweep_figure(ds)
        check_labels(fig)
        (ax,) = fig.axes
        assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("dynamics.gamma1")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "gauss" in labels and "pm1" in labels
        # one line per value of the other key, through the medians of the pooled probes
        lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
        assert len(lines) == 2
        g = ds["gamma2_echo"].isel(couplings__amplitude=0).values.reshape(3, -1)
        assert np.allclose(lines[0].get_ydata(), [np.median(r[np.isfinite(r)]) for r in g])
        assert is_png(plot_sweep(ds, tmp_path / "a.png"))
        assert cli.main(["plot", str(out)]) == 0
    assert is_png(out.with_suffix(".png"))
    # a sweep over realizations only, and a categorical first key
    raw["sweep"] = {"couplings.amplitude": ["gauss", "pm1"], "realizations": 2}
    check_labels(sweep_figure(SW.run_sweep(S.load_config(raw), tmp_path / "b.nc", workers=0, progress=False)))
    raw["sweep"] = {"realizations": 3}
    check_labels(sweep_figure(SW.run_sweep(S.load_config(raw), tmp_path / "c.nc", workers=0, progress=False)))


def test_plot_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    assert cli.main(["plot", str(bad)]) == 2
    assert cli.main(["plot", str(tmp_path / "missing.nc")]) == 2
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", np.arange(3))}).to_netcdf(other)
    assert cli.main(["plot", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("dotkmc: error: ") for line in err)
    assert "not a readable netCDF file" in err[0] and "does not exist" in err[1] and "not a dotkmc result" in err[2]

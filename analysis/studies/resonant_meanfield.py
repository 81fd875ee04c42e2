"""Resonant dynamics against mean field, and a bath at one end (docs/resonant.md
sections 6 and 8).

Mean field (section 6). With flip dynamics and one level per dot, every level of
a resonant run (``dynamics.resonance_width = w``) is compared three ways:

(a) its measured own-transition rate ``gamma1_measured``;
(b) the exact mean rate over uniform configurations
    (:func:`analysis.resonant_exact.model_mean_rate`), which (a) must equal in the
    stationary state (z-scores);
(c) the mean-field rate, the rate law averaged over a Lorentzian line of
    half-width Gamma2 (the level's measured Gamma2) about its static energy
    (:func:`analysis.closure.resonant_mean_field_rate`).

Then the self-consistent loop of docs/selfconsistent.md closed with that law
(``selfconsistent.equation = "resonant"``: fixed per-dot rates, Gamma2 measured,
Gamma1 <- Gamma1 w (w + Gamma2)/(eps0^2 + (w + Gamma2)^2)) gives a mean-field
fixed point, level by level, to set against the resonant run.

The points of the study are the [sweep] lists of its configuration; unlike a
sweep, every point keeps the sample of run.seed (the same couplings, the same
uniform draws behind the static energies), so points differ only in the swept
values.

Bath at one end (section 8). A chain with ``bath.side = "left"`` run with
resonant rates: per-dot Gamma2 and ``gamma1_measured`` against the distance
from the bath, (A) with the rate bounds of a finished self-consistent
bath-chain loop (docs/selfconsistent.md section 4: its last Gamma1 profile,
on its own sample), so that the profiles are comparable dot by dot, and (B)
with the configuration's uniform bounds, with and without resonance.

    python -m analysis.studies.resonant_meanfield meanfield runs/resonant_meanfield.toml
    python -m analysis.studies.resonant_meanfield bath runs/resonant_bath_chain.toml \\
        --loop results/sc_bath_chain.loop/realization=0

Tables are printed and written (``table.txt``) with the figures under the
output folder (default ``results/<config stem>``); runs and loops already on
disk are reused.
"""
from __future__ import annotations

import argparse
import itertools
import math
import sys
import tomllib
from typing import Any
from pathlib import Path

import numpy as np
import xarray as xr

import simulator
from simulator.config import Config, ConfigError
from simulator.sweep import sweep_lists

from ..bath import distance_from_bath, position_means
from ..closure import resonant_mean_field_rate, run_loop
from ..estimates import censored_gamma2
from ..plots import save_figure
from ..resonant_exact import model_level_rows, model_mean_rate

# ---------------------------------------------------------------------------
# the mean-field rate law


def lorentzian_average_quadrature(gamma1: float, gamma2: float, eps0: float, w: float) -> float:
    """The resonant rate law Gamma1 w^2/(x^2 + w^2) averaged over a normalised
    Lorentzian of half-width ``gamma2`` centred on ``eps0``, by numerical
    quadrature (the independent check of :func:`analysis.closure.resonant_mean_field_rate`)."""
    from scipy.integrate import quad

    def f(x):
        return gamma1 * w * w / (x * x + w * w) * (gamma2 / math.pi) / ((x - eps0) ** 2 + gamma2 ** 2)

    # two peaks (x = 0 and x = eps0): split there so that quad sees each one
    lo, hi = min(0.0, eps0), max(0.0, eps0)
    parts = [quad(f, -np.inf, lo, limit=400, epsabs=0, epsrel=1e-12)[0],
             quad(f, hi, np.inf, limit=400, epsabs=0, epsrel=1e-12)[0]]
    if hi > lo:
        parts.append(quad(f, lo, hi, limit=400, epsabs=0, epsrel=1e-12,
                          points=[lo + (hi - lo) * t for t in (0.01, 0.1, 0.5, 0.9, 0.99)])[0])
    return float(sum(parts))


# ---------------------------------------------------------------------------
# study points


def study_points(config: Config) -> list[tuple[dict, Config]]:
    """(swept values, configuration) of every point: the [sweep] lists combined,
    each applied to the base configuration (so every point keeps run.seed's sample)."""
    lists, realizations = sweep_lists(config)
    if realizations != 1:
        raise ConfigError("sweep.realizations is not allowed in this study: every point uses the sample of run.seed")
    keys = list(lists)
    out = []
    for combo in itertools.product(*(lists[k] for k in keys)):
        values = dict(zip(keys, combo))
        out.append((values, config.with_values(values)))
    return out


def point_label(values: dict) -> str:
    return "_".join(f"{k.split('.')[-1]}={v}" for k, v in values.items()) or "base"


def run_cached(config: Config, path: Path, gamma1: np.ndarray | None = None) -> xr.Dataset:
    """The run of ``config`` (written to ``path``), or the one already there if its
    configuration is the same (per-dot ``gamma1`` included)."""
    if path.exists():
        ds = xr.load_dataset(path)
        same = ds.attrs.get("study_config") == config.to_toml()
        if same and gamma1 is not None:
            same = np.array_equal(ds["gamma1"].values, gamma1)
        if same:
            return ds
    ds = simulator.run(config, gamma1=gamma1, progress=False, threads=1)
    ds.attrs["study_config"] = config.to_toml()
    simulator.write_netcdf(ds, path)
    return ds


def _log_stats(r: np.ndarray) -> tuple[float, float, float]:
    """Median and 16th/84th percentiles of a log ratio (finite entries)."""
    r = r[np.isfinite(r)]
    if r.size == 0:
        return (np.nan, np.nan, np.nan)
    return (float(np.median(r)), float(np.percentile(r, 16)), float(np.percentile(r, 84)))


def meanfield_point(config: Config, outdir: Path, log=None) -> dict:
    """One point of the mean-field study: the resonant run, the three rates per
    level and the mean-field loop; returns per-level arrays and summary numbers."""
    outdir.mkdir(parents=True, exist_ok=True)
    w = config["dynamics"]["resonance_width"]
    g1_bound = config["dynamics"]["gamma1"]
    ds = run_cached(config, outdir / "resonant.nc")
    model = simulator.model_from_dataset(ds)
    levels = model.probes
    meas = ds["gamma1_measured"].values
    meas_err = ds["gamma1_measured_stderr"].values
    exact = np.array([model_mean_rate(model, int(l), w) for l in levels])
    g2 = censored_gamma2(ds)
    g2_err = ds["gamma2_echo_stderr"].values
    eps0 = ds["static_energy"].values
    mf = resonant_mean_field_rate(g1_bound, g2, eps0, w)
    # spread of the level's fluctuating energy over uniform configurations, (sum_j U_lj^2 / 4)^(1/2):
    # the width of the line that the rates actually see, against the Lorentzian's Gamma2
    rows = model_level_rows(model, levels)
    sigma = np.array([0.5 * np.sqrt(np.sum(rows[int(l)][1] ** 2)) for l in levels])
    z = (meas - exact) / meas_err
    hist = run_loop(config, outdir / "loop", log=log)
    dot = ds["probe_dot"].values
    fp_g1 = hist["gamma1"].values[-1][dot]          # the rates of the last iteration's run
    fp_g2 = hist["gamma2"].values[-1][dot]          # and the Gamma2 measured at them
    fp_g2_err = hist["gamma2_stderr"].values[-1][dot]
    with np.errstate(divide="ignore", invalid="ignore"):
        r_mf = np.log(mf / meas)
        r_ex = np.log(exact / meas)
        r_fp1 = np.log(fp_g1 / meas)
        r_fp2 = np.log(fp_g2 / g2)
    acc = float(ds["n_events"]) / float(ds["n_proposals"])
    bins = {}
    for lo, hi in SIGMA_BINS:
        m = (np.abs(eps0) >= lo * sigma) & (np.abs(eps0) < hi * sigma)
        bins[(lo, hi)] = (int(m.sum()),) + _log_stats(r_mf[m])
    return {"w": w, "W": config["couplings"]["static_width"], "levels": levels.size, "acceptance": acc,
            "eps0": eps0, "sigma": sigma, "by_sigma": bins, "meas": meas, "meas_err": meas_err, "exact": exact, "z": z,
            "gamma2": g2,
            "gamma2_err": g2_err, "mf": mf, "fp_gamma1": fp_g1, "fp_gamma2": fp_g2, "fp_gamma2_err": fp_g2_err,
            "status": hist.attrs["status"], "iterations": hist.sizes["iteration"],
            "chi2": float(np.mean(z[np.isfinite(z)] ** 2)), "max_z": float(np.nanmax(np.abs(z))),
            "median_rate": float(np.median(meas)), "median_rel_err": float(np.median(meas_err / meas)),
            "median_gamma2": float(np.median(g2)), "cv": float(np.nanmedian(ds["waiting_time_cv"].values)),
            "log_mf": _log_stats(r_mf), "log_exact": _log_stats(r_ex), "log_fp_gamma1": _log_stats(r_fp1),
            "log_fp_gamma2": _log_stats(r_fp2)}


SIGMA_BINS = ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, np.inf))


def _fmt_log(t: tuple[float, float, float]) -> str:
    if not np.isfinite(t[0]):
        return "-"
    return f"{t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]"


def meanfield_table(rows: list[dict]) -> str:
    head = (f"{'w':>7s}{'W':>6s}{'accept':>8s}{'Gamma1 meas':>12s}{'rel err':>8s}{'wt cv':>7s}{'Gamma2':>10s}"
            f"{'chi2/n':>8s}{'max|z|':>7s}{'ln(MF/meas) [16,84%]':>24s}{'loop':>16s}"
            f"{'ln(G1*/meas)':>24s}{'ln(G2*/G2 res)':>24s}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['w']:>7.3g}{r['W']:>6.3g}{r['acceptance']:>8.3f}{r['median_rate']:>12.4g}"
                     f"{r['median_rel_err']:>8.3f}{r['cv']:>7.2f}{r['median_gamma2']:>10.4g}{r['chi2']:>8.2f}"
                     f"{r['max_z']:>7.2f}{_fmt_log(r['log_mf']):>24s}{r['status'] + ' ' + str(r['iterations']):>16s}"
                     f"{_fmt_log(r['log_fp_gamma1']):>24s}{_fmt_log(r['log_fp_gamma2']):>24s}")
    lines.append("rates per level; ln ratios: median [16th, 84th percentile] over levels; "
                 "chi2/n, max|z|: measured against the exact mean rate (docs/resonant.md 2.2); "
                 "G1*, G2*: the mean-field loop's fixed point")
    lines.append("")
    lines.append("ln(MF rate / measured rate) by |eps0| / sigma (sigma: spread of the level's energy over "
                 "configurations); levels: median [16th, 84th percentile]")
    lines.append(f"{'w':>7s}{'W':>6s}{'sigma med':>10s}" + "".join(f"{f'{lo:g}-{hi:g}':>30s}" for lo, hi in SIGMA_BINS))
    for r in rows:
        cells = "".join(f"{str(b[0]) + ': ' + _fmt_log(b[1:]):>30s}" for b in r["by_sigma"].values())
        lines.append(f"{r['w']:>7.3g}{r['W']:>6.3g}{np.median(r['sigma']):>10.3f}{cells}")
    return "\n".join(lines)


def plot_meanfield(rows: list[dict], path: Path) -> Path:
    """Per level, against eps0/w: the mean-field rate (measured Gamma2) over the
    measured rate, and the loop's fixed-point Gamma1 and Gamma2 over the resonant run's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), sharex=True)
    for k, r in enumerate(rows):
        c = f"C{k}"
        x = np.abs(r["eps0"]) / r["sigma"]
        lab = f"w={r['w']:g}, W={r['W']:g}"
        axes[0].plot(x, r["mf"] / r["meas"], ".", color=c, ms=3, label=lab)
        axes[1].plot(x, r["fp_gamma1"] / r["meas"], ".", color=c, ms=3, label=lab)
        axes[2].plot(x, r["fp_gamma2"] / r["gamma2"], ".", color=c, ms=3, label=lab)
    titles = ("MF rate (measured $\\Gamma_2$) / measured $\\Gamma_1$",
              "loop fixed point $\\Gamma_1^*$ / measured $\\Gamma_1$",
              "loop fixed point $\\Gamma_2^*$ / resonant $\\Gamma_2$")
    for ax, t in zip(axes, titles):
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$|\varepsilon^0|/\sigma$ (static energy over the spread of the fluctuating one)")
        ax.set_title(t, fontsize=9)
    axes[0].legend(fontsize=7)
    return save_figure(fig, path)


def meanfield_study(config: Config, outdir: Path, log=None) -> list[dict]:
    """Every point of :func:`study_points`: :func:`meanfield_point` in ``outdir/<point>``."""
    if config["selfconsistent"]["equation"] != "resonant":
        raise ConfigError(f"selfconsistent.equation = {config['selfconsistent']['equation']!r}: the mean-field study "
                          f"closes the loop with the resonant law, selfconsistent.equation = 'resonant'")
    rows = []
    for values, cfg in study_points(config):
        if log:
            log(f"point {point_label(values)}")
        rows.append(meanfield_point(cfg, outdir / point_label(values), log=log))
    return rows


# ---------------------------------------------------------------------------
# bath at one end


def loop_sample(loop: Path) -> tuple[Config, xr.Dataset]:
    """The configuration (with its sample's run.seed) and history of a finished loop folder."""
    path = loop / "history.nc"
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: --loop must name one finished loop folder "
                          f"(e.g. results/sc_bath_chain.loop/realization=0)")
    hist = xr.load_dataset(path)
    return Config.from_dict(tomllib.loads(hist.attrs["config"])), hist


SAME_KEYS = ("lattice.d", "lattice.L", "lattice.boundary", "lattice.levels", "couplings.gamma", "couplings.xi",
             "couplings.form", "couplings.intra", "couplings.amplitude", "couplings.cutoff", "couplings.static_width",
             "dynamics.kind", "dynamics.bath.side", "dynamics.bath.width", "dynamics.bath.gamma1")


def _fit_shape(d: np.ndarray, g: np.ndarray, lo: int, hi: int) -> dict:
    """Least squares of ln g on d (exponential: decay length) and on ln d (power
    law: exponent) over lo <= d <= hi, with the rms residuals."""
    m = (d >= lo) & (d <= hi) & np.isfinite(g) & (g > 0)
    if m.sum() < 3:
        return {"length": np.nan, "exponent": np.nan, "rms_exp": np.nan, "rms_pow": np.nan}
    y = np.log(g[m])
    pe = np.polyfit(d[m], y, 1)
    pp = np.polyfit(np.log(d[m]), y, 1)
    return {"length": -1.0 / pe[0], "exponent": pp[0],
            "rms_exp": float(np.sqrt(np.mean((y - np.polyval(pe, d[m])) ** 2))),
            "rms_pow": float(np.sqrt(np.mean((y - np.polyval(pp, np.log(d[m]))) ** 2)))}


FIT_RANGES = ((8, 20), (20, 35), (35, 50), (8, 50))


def dot_profile(ds: xr.Dataset) -> dict[str, Any]:
    """Per-dot Gamma2 (censored, mean of the positive values over the dot's probes)
    and gamma1_measured along the bath axis, with their errors: the measured part
    of :func:`analysis.studies.scan.bath_profile`, without the exact and rule-sum
    references a resonant run does not have (and without its import depth)."""
    x = ds["probe_position"].values[:, 0]
    xs, g2, g2_err = position_means(x, censored_gamma2(ds), ds["gamma2_echo_stderr"].values, positive=True)
    _, g1, g1_err = position_means(x, ds["gamma1_measured"].values, ds["gamma1_measured_stderr"].values)
    return {"x": xs, "measured": g2, "measured_err": g2_err, "gamma1_measured": g1, "gamma1_measured_err": g1_err}


def bath_study(config: Config, loop: Path, outdir: Path, log=None) -> dict:
    """Section 8: resonant chains with a bath at the left end.

    (A) per w of the [sweep] lists: the bounds of the loop's last Gamma1 profile on
    the loop's own sample; its Gamma2 profile is the loop's last measurement.
    (B) per w: the configuration's uniform bounds; plus the same chain with fixed rates."""
    sc_cfg, hist = loop_sample(loop)
    for k in SAME_KEYS:
        if sc_cfg.get(k) != config.get(k):
            raise ConfigError(f"{k} = {config.get(k)!r} differs from the loop's {sc_cfg.get(k)!r}: "
                              f"the bath study compares the same chain")
    outdir.mkdir(parents=True, exist_ok=True)
    # with_values keeps no [sweep]: carry the lists over to the loop's sample
    base = Config(config.with_values({"run.seed": int(sc_cfg["run"]["seed"]), "run.stream": 0}).data, config.sweep)
    sc_g1 = hist["gamma1"].values[-1]
    sc_g2 = hist["gamma2"].values[-1]
    sc_g2_err = hist["gamma2_stderr"].values[-1]
    x_dots = np.arange(sc_g1.size) % config["lattice"]["L"]
    out = {"distance": distance_from_bath(config, x_dots), "sc_gamma1": sc_g1, "sc_gamma2": sc_g2,
           "sc_gamma2_err": sc_g2_err, "A": {}, "B": {}}
    # the loop's fixed-rate run at its last profile, repeated here with this run's settings
    runs = {("A", "none"): (base.with_values({"dynamics.resonance_width": "none"}), sc_g1),
            ("B", "none"): (base.with_values({"dynamics.resonance_width": "none"}), None)}
    for _values, cfg in study_points(base):
        w = cfg["dynamics"]["resonance_width"]
        runs[("A", w)] = (cfg, sc_g1)
        runs[("B", w)] = (cfg, None)
    for (case, w), (cfg, g1) in runs.items():
        if log:
            log(f"bath chain: case {case}, w = {w}")
        ds = run_cached(cfg, outdir / f"{case}_w={w}.nc", gamma1=g1)
        prof = dot_profile(ds)
        prof["bound"] = ds["gamma1"].values[prof["x"]]       # per dot, 1D: position = dot
        prof["acceptance"] = float(ds["n_events"]) / float(ds["n_proposals"])
        cv = ds["waiting_time_cv"].values
        prof["cv"] = float(np.median(cv[np.isfinite(cv)])) if np.isfinite(cv).any() else np.nan   # NaN: fixed rates
        prof["fits"] = {r: _fit_shape(distance_from_bath(cfg, prof["x"]).astype(float), prof["measured"], *r)
                        for r in FIT_RANGES}
        out[case][w] = prof
    out["sc_fits"] = {r: _fit_shape(out["distance"].astype(float), sc_g2, *r) for r in FIT_RANGES}
    return out


def bath_table(res: dict, show: tuple[int, ...] = (1, 2, 3, 5, 9, 17, 26, 36, 46, 60)) -> str:
    d = res["distance"]
    lines = []
    for case, title in (("A", "(A) bounds = the self-consistent loop's Gamma1 profile"),
                        ("B", "(B) uniform bounds")):
        ws = list(res[case])
        lines.append(title)
        head = f"{'dist':>5s}" + ("".join(f"{'SC loop G2':>20s}" for _ in [0]) if case == "A" else "")
        head += "".join(f"{'G2 w=' + str(w):>20s}{'G1meas/bound':>14s}" for w in ws)
        lines.append(head)
        for dist in show:
            hits = np.flatnonzero(d == dist)
            if hits.size == 0:
                continue
            i = int(hits[0])
            row = f"{dist:>5d}"
            if case == "A":
                row += f"{res['sc_gamma2'][i]:>10.3g} ± {res['sc_gamma2_err'][i]:<7.2g}"
            for w in ws:
                p = res[case][w]
                ratio = p["gamma1_measured"][i] / p["bound"][i]
                row += f"{p['measured'][i]:>10.3g} ± {p['measured_err'][i]:<7.2g}{ratio:>14.3f}"
            lines.append(row)
        lines.append("acceptance: " + ", ".join(f"w={w}: {res[case][w]['acceptance']:.3f} (waiting-time cv "
                                                 f"{res[case][w]['cv']:.2f})" for w in ws))
        if case == "A":
            # the fixed-rate rerun at the loop's profile must reproduce the loop's own measurement
            p = res["A"]["none"]
            i = p["x"]
            z = (p["measured"] - res["sc_gamma2"][i]) / np.hypot(p["measured_err"], res["sc_gamma2_err"][i])
            z = z[np.isfinite(z)]
            lines.append(f"fixed rates at the loop's profile against the loop's last measurement: "
                         f"mean z^2 = {np.mean(z ** 2):.2f}, max |z| = {np.max(np.abs(z)):.2f} over {z.size} dots")
        if case == "B":     # a flat tail: no falloff to fit
            lines.append("")
            continue
        lines.append("falloff of Gamma2 (decay length / power-law exponent; rms of ln G2 for exp / power):")
        fits = [("SC loop", res["sc_fits"])] + [(f"w={w}", res[case][w]["fits"]) for w in ws]
        for name, f in fits:
            parts = [f"{lo}-{hi}: {f[(lo, hi)]['length']:.1f} / {f[(lo, hi)]['exponent']:.2f}"
                     for lo, hi in FIT_RANGES[:3]]
            a = f[FIT_RANGES[3]]
            lines.append(f"  {name:>10s}  " + "; ".join(parts) + f"; 8-50 rms {a['rms_exp']:.2f} / {a['rms_pow']:.2f}")
        lines.append("")
    return "\n".join(lines)


def plot_bath(res: dict, path: Path) -> Path:
    """Gamma2 and the measured rate against the distance from the bath, log-log:
    (A) at the loop's bounds with the loop's own profile, (B) at uniform bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    d = res["distance"]
    sel = d > 0
    for col, case in enumerate(("A", "B")):
        ax, ax1 = axes[0, col], axes[1, col]
        if case == "A":
            ax.errorbar(d[sel], res["sc_gamma2"][sel], yerr=res["sc_gamma2_err"][sel], fmt="k-", lw=1.5,
                        label="self-consistent loop (Eq. 17), last iteration")
            ax1.plot(d[sel], res["sc_gamma1"][sel], "k-", lw=1.5, label="bound = loop's $\\Gamma_1$")
        for k, (w, p) in enumerate(res[case].items()):
            dist = d[p["x"]]
            s = dist > 0
            lab = "fixed rates" if w == "none" else f"resonant w={w}"
            ax.errorbar(dist[s], p["measured"][s], yerr=p["measured_err"][s], fmt="o", ms=3, color=f"C{k}", label=lab)
            ax1.errorbar(dist[s], p["gamma1_measured"][s], yerr=p["gamma1_measured_err"][s], fmt="o", ms=3,
                         color=f"C{k}", label=lab)
        for a in (ax, ax1):
            a.set_xscale("log")
            a.set_yscale("log")
            a.set_xlabel("distance from the bath (dots)")
            a.legend(fontsize=7)
        ax.set_ylabel(r"$\Gamma_2$ (mean over the dot's levels)")
        ax1.set_ylabel(r"measured $\Gamma_1$ per level")
        ax.set_title("(A) bounds: the self-consistent loop's profile" if case == "A" else "(B) uniform bounds",
                     fontsize=9)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.studies.resonant_meanfield",
                                description="resonant dynamics against mean field; a bath at one end "
                                            "(docs/resonant.md sections 6 and 8)")
    p.add_argument("study", choices=("meanfield", "bath"))
    p.add_argument("config", help="TOML configuration with [sweep] lists (e.g. dynamics.resonance_width)")
    p.add_argument("-o", "--output", help="output folder (default results/<config stem>)")
    p.add_argument("--loop", default="results/sc_bath_chain.loop/realization=0",
                   help="bath: a finished self-consistent bath-chain loop folder")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.output) if args.output else Path("results") / Path(args.config).stem
    try:
        cfg = simulator.load_config(args.config)
        log = None if args.quiet else print
        if args.study == "meanfield":
            rows = meanfield_study(cfg, out, log=log)
            text = meanfield_table(rows)
            fig = plot_meanfield(rows, out / "meanfield.png")
        else:
            res = bath_study(cfg, Path(args.loop), out, log=log)
            text = bath_table(res)
            fig = plot_bath(res, out / "bath_profile.png")
        tmp = out / ".table.txt.tmp"
        tmp.write_text(text + "\n")
        tmp.replace(out / "table.txt")
    except (ConfigError, simulator.RunError) as exc:
        print(f"resonant_meanfield: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:      # e.g. an output folder that cannot be written
        print(f"resonant_meanfield: error: cannot write under {str(out)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(text)
    print(f"table:  {out / 'table.txt'}")
    print(f"figure: {fig}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run configuration: a typed, validated TOML schema (README.md; `dotkmc config --schema` lists every key).

Every key has a default. A configuration is read from a TOML file, optionally
overridden by ``--set table.key=value`` strings, validated against the schema
below, and written back as TOML (the *resolved* configuration, stored in every
result so any run can be repeated).

Bad input never produces a traceback for the user: it raises
:class:`ConfigError` whose message names the key, the value and what is allowed.
"""
from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomli_w


class ConfigError(ValueError):
    """A configuration key is unknown or has a value that is not allowed."""


# The errors below concern runs rather than keys; they live here, with ConfigError,
# so that the command line can name them without loading numba (simulator.engine
# raises them; docs/reliability.md lists when).
class RunError(ValueError):
    """A run cannot start or continue: unwritable or busy output, too much work,
    a checkpoint that cannot be trusted. The message is one line for the user."""


class CheckpointError(RunError):
    """A checkpoint is missing, truncated, foreign, edited or from another release."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM (after writing its checkpoint, if it has one).

    ``signum`` is the signal; the command line exits with status 128 + signum.
    """

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.signum = int(signum)


# ---------------------------------------------------------------------------
# field validators: each returns the normalised value or raises ConfigError
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    default: Any
    check: Callable[[str, Any], Any]
    doc: str


def _fail(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{key} = {value!r} is not allowed: expected {allowed}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Callable:
    def check(key, v):
        given = v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool) or (lo is not None and v < lo) or (
            hi is not None and v > hi
        ):
            rng = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
            _fail(key, given, rng)
        return int(v)

    check.allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    return check


def number(lo: float | None = None, hi: float | None = None, lo_open=False, hi_open=False,
           special: tuple[str, ...] = ()) -> Callable:
    # an unbounded side is open: inf and nan are refused (every value must be finite)
    lo_s = "(" if lo_open or lo is None else "["
    hi_s = ")" if hi_open or hi is None else "]"
    desc = f"a finite number in {lo_s}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{hi_s}"
    if special:
        desc += " or one of " + ", ".join(repr(s) for s in special)

    def check(key, v):
        if isinstance(v, str) and v in special:
            return v
        if not _is_number(v) or not math.isfinite(v):
            _fail(key, v, desc)
        v = float(v)
        if lo is not None and (v < lo or (lo_open and v == lo)):
            _fail(key, v, desc)
        if hi is not None and (v > hi or (hi_open and v == hi)):
            _fail(key, v, desc)
        return v

    check.allowed = desc
    return check


def choice(*options: str) -> Callable:
    desc = "one of " + ", ".join(repr(o) for o in options)

    def check(key, v):
        if v not in options:
            _fail(key, v, desc)
        return v

    check.allowed = desc
    return check


def probes_field(key, v):
    if v == "all":
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        _fail(key, v, probes_field.allowed)
    return int(v)


probes_field.allowed = "an integer >= 1 or 'all'"


# lattice size limit (the state of 5e7 dots is several GB; simulator.model refuses more dots)
MAX_DOTS = 50_000_000

# run.seed is stored as a netCDF attribute, which holds at most a signed 64-bit integer
SEED_MAX = 2**63 - 1

SCHEMA: dict[str, dict[str, Any]] = {
    "lattice": {
        "d": Field(1, integer(1, 3), "lattice dimension"),
        "L": Field(64, integer(1, MAX_DOTS), "linear size (L^d dots; at most 5e7 dots)"),
        "boundary": Field("periodic", choice("periodic", "open"), "periodic (minimum image) or open"),
        "levels": Field(4, integer(1, 64), "single-particle levels M per dot"),
        "kind": Field("hypercubic", choice("hypercubic", "random"), "hypercubic: a dot on every site of the L^d lattice; random: round(density*L^d) dots uniform in the box [0, L)^d (docs/model.md §1)"),
        "density": Field(1.0, number(0, lo_open=True), "kind='random': dots per unit volume (lattice units)"),
    },
    "couplings": {
        "gamma": Field(1.0, number(0, lo_open=True), "coupling scale gamma (the unit)"),
        "xi": Field(1.0, number(0, lo_open=True), "decay length of form='exp' (lattice units)"),
        "form": Field("exp", choice("exp", "power", "dipolar"), "A(r) = gamma exp(-r/xi), gamma r^-alpha, or dipolar gamma (1 - 3 cos^2 theta)/r^3 (d = 3; theta to the z axis)"),
        "alpha": Field(3.0, number(0, lo_open=True), "power-law exponent of form='power'"),
        "intra": Field("gamma", number(0, special=("gamma",)), "same-dot amplitude A(0); 'gamma' = couplings.gamma"),
        "amplitude": Field("gauss", choice("gauss", "pm1"), "distribution of u_ij"),
        "cutoff": Field("auto", number(0, special=("auto",)), "coupling range r_c (lattice units) or 'auto'"),
        "cutoff_tol": Field(0.01, number(0, 1, lo_open=True, hi_open=True), "auto cutoff: A(r_c) <= cutoff_tol * Gamma2_est (hypercubic); tail bound of -ln E <= cutoff_tol (random; docs/model.md §1)"),
        "static_width": Field(0.0, number(0), "static energies uniform in [-W/2, W/2]"),
    },
    "dynamics": {
        "kind": Field("flip", choice("flip", "hop"), "flip (l-bits) or hop (Fock transitions in a dot)"),
        "gamma1": Field(1e-3, number(0), "transition rate Gamma1 of every transition (loguniform: the largest rate)"),
        "gamma1_distribution": Field("constant", choice("constant", "loguniform"), "constant: every dot has gamma1; loguniform: each dot's Gamma1 drawn with P(Gamma1) ~ 1/Gamma1 in [gamma1_min, gamma1] (docs/model.md section 1)"),
        "gamma1_min": Field("auto", number(0, lo_open=True, special=("auto",)), "loguniform: the smallest rate (auto: 1e-6 * gamma1)"),
        "filling": Field(0.5, number(0, 1), "hop: particles per dot = round(filling * levels)"),
        "resonance_width": Field("none", number(0, lo_open=True, special=("none",)), "resonant rates Gamma1 w^2/(dE^2 + w^2) of width w (docs/resonant.md; serial, gamma1 is the bound); 'none': the fixed rates Gamma1"),
        "bath": {
            "side": Field("none", choice("none", "left", "right", "both", "all"), "faces coupled to a bath (left/right: first axis; all: every face)"),
            "width": Field(1, integer(0), "dots within this distance of a bath face get bath.gamma1"),
            "gamma1": Field(0.1, number(0), "rate of dots in the bath region"),
        },
    },
    "run": {
        "t_max": Field(2.0e5, number(0, lo_open=True, special=("auto",)), "simulated time (units of 1/gamma); auto: run.flips / (smallest non-zero Gamma1), with loguniform rates run.flips / max(smallest Gamma1, Gamma2_est/20) (docs/model.md section 4)"),
        "flips": Field(2000.0, number(1), "with t_max = 'auto': mean number of transitions of the slowest level (loguniform: of a level at rate max(smallest Gamma1, Gamma2_est/20))"),
        "seed": Field(12345, integer(0, SEED_MAX), "master seed (stored as a 64-bit signed netCDF attribute)"),
        "stream": Field(0, integer(0, SEED_MAX), "dynamics history: another value gives an independent transition history on the same sample (couplings, energies, probes unchanged)"),
        "probes": Field(16, probes_field, "number of probe levels, or 'all'"),
        "batches": Field(32, integer(4, 100_000), "batches for the batch-means standard errors"),
        "checkpoint_every": Field(600.0, number(0), "wall-clock seconds between checkpoints (0 = never)"),
        "tau": {
            "min": Field("auto", number(0, lo_open=True, special=("auto",)), "smallest tau (auto: 0.05/Gamma2_est)"),
            "max": Field("auto", number(0, lo_open=True, special=("auto",)), "largest tau (auto: 20/Gamma2_est)"),
            "points": Field(32, integer(2, 1000), "log-spaced tau points"),
            "t0_spacing": Field("auto", number(0, special=("auto",)), "minimum spacing of window start times (0: every tau/2; auto: about one probe-sample per event)"),
        },
        "lineshape": {
            "points": Field(401, integer(3, 100_000), "points of the symmetric omega axis of the line shape (docs/model.md section 4, Line shape)"),
            "omega_max": Field("auto", number(0, lo_open=True, special=("auto",)), "omega axis [-omega_max, omega_max] (auto: 1/tau_min, the highest frequency the tau grid resolves)"),
            "tail": Field(0.05, number(0, 1, lo_open=True), "a line is NaN where |R(tau_max)| exceeds this (the Ramsey signal has not decayed; no truncation ringing)"),
        },
        "trajectory": {
            "probes": Field(1, integer(0), "probes whose energy trajectory is recorded"),
            "dt": Field("auto", number(0, lo_open=True, special=("auto",)), "trajectory sampling interval (auto: t_max/2000)"),
        },
    },
    "selfconsistent": {
        "delta_m": Field(1.0, number(0, lo_open=True), "many-body level spacing delta_m of a dot (Eqs. 13-17)"),
        "K": Field(4.0, number(1, lo_open=True), "Fock-space branching number K"),
        "Xi": Field(1.0, number(0, lo_open=True), "Fock-space localization length Xi"),
        "equation": Field("auto", choice("auto", "16", "17", "resonant"), "Gamma1 from Gamma2 by Eq. 16 or 17 (auto: by Xi log K), or 'resonant': the mean-field rate of dynamics.resonance_width, Gamma1 w(w+Gamma2)/(eps0^2 + (w+Gamma2)^2) (docs/selfconsistent.md)"),
        "damping": Field(0.5, number(0, 1, lo_open=True), "weight of the new Gamma1 in each update"),
        "max_iterations": Field(20, integer(1), "iteration limit"),
        "tolerance": Field(2.0, number(0, lo_open=True), "converged when |change| < tolerance * stderr"),
        "mode": Field("homogeneous", choice("homogeneous", "profile"), "one Gamma1 for all dots (typical Gamma2), or a per-dot profile"),
        "pin": Field("none", choice("none", "ends"), "ends: Gamma1 held at 0 on both faces of the first axis"),
        "gamma1_init": Field("auto", number(0, lo_open=True, special=("auto",)), "starting Gamma1 (auto: dynamics.gamma1)"),
        "flips": Field(2000.0, number(1), "run length per iteration, in flips of the slowest non-zero level"),
        "disorder": Field("auto", choice("auto", "fixed", "redraw"), "fixed: one sample, a new dynamics history (run.stream) each iteration; redraw: a new sample each iteration; auto: fixed for profile, redraw for homogeneous"),
        "floor": Field(1e-12, number(0, lo_open=True), "a profile whose largest Gamma1 falls below floor*gamma has collapsed (insulator)"),
    },
}

# [sweep] is free-form: dotted key -> list of values, plus realizations.
SWEEP_RESERVED = {"realizations"}
REALIZATIONS_MAX = 1_000_000


def _defaults(schema: dict) -> dict:
    out = {}
    for k, v in schema.items():
        out[k] = _defaults(v) if isinstance(v, dict) else copy.deepcopy(v.default)
    return out


def _validate_table(schema: dict, data: dict, prefix: str) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"[{prefix}] must be a table of keys, got {data!r}")
    out = {}
    for key in data:
        if key not in schema:
            allowed = ", ".join(schema)
            where = f"[{prefix}]" if prefix else "the top level"
            if not prefix:
                allowed += ", sweep"
            raise ConfigError(f"unknown key {prefix + '.' if prefix else ''}{key!s}: allowed keys in {where} are {allowed}")
    for key, spec in schema.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(spec, dict):
            out[key] = _validate_table(spec, data.get(key, {}), full)
        else:
            out[key] = spec.check(full, data[key]) if key in data else copy.deepcopy(spec.default)
    return out


def _field_at(dotted: str) -> Field | dict:
    node: Any = SCHEMA
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"unknown key {dotted!r}: no such key in the configuration schema")
        node = node[part]
    return node


class Config:
    """A validated run configuration (nested tables of plain values).

    Access values as ``cfg["lattice"]["L"]`` or ``cfg.get("lattice.L")``.
    Construct with :func:`load_config` or :meth:`Config.from_dict`.
    """

    def __init__(self, data: dict, sweep: dict | None = None):
        self.data = data
        self.sweep = sweep or {}

    # -- construction ------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict | None = None, overrides: list[str] | dict | None = None) -> "Config":
        raw = copy.deepcopy(raw or {})
        sweep = raw.pop("sweep", {})
        if isinstance(overrides, dict):
            for k, v in overrides.items():
                _set_dotted(raw, k, v)
        else:
            for item in overrides or []:
                key, value = parse_override(item)
                if key == "sweep":
                    raise ConfigError(f"--set {item!r}: expected sweep.KEY=[values] or sweep.realizations=N, "
                                      f"not the whole [sweep] table")
                if key.startswith("sweep."):
                    sweep[key[len("sweep."):]] = value
                else:
                    _set_dotted(raw, key, value)
        data = _validate_table(SCHEMA, raw, "")
        _cross_checks(data)
        return cls(data, _validate_sweep(sweep))

    def __getitem__(self, key):
        return self.data[key]

    def get(self, dotted: str):
        node = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def with_values(self, values: dict) -> "Config":
        """A new, validated Config with ``{"table.key": value}`` set."""
        raw = copy.deepcopy(self.data)
        for k, v in values.items():
            _set_dotted(raw, k, v)
        return Config.from_dict(raw)

    def to_dict(self) -> dict:
        out = copy.deepcopy(self.data)
        if self.sweep:
            out["sweep"] = copy.deepcopy(self.sweep)
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def __eq__(self, other):
        return isinstance(other, Config) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"Config({self.to_dict()!r})"


def _set_dotted(raw: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = raw
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {'.'.join(parts[:parts.index(p) + 1])} is a value, not a table")
    node[parts[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    """Parse ``table.key=value``; the value is read as a TOML value when it can be,
    else taken as a plain string (so ``--set dynamics.kind=hop`` works unquoted)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected table.key=value")
    key, text = item.split("=", 1)
    key = key.strip()
    text = text.strip()
    if not key or any(not part.strip() for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: expected table.key=value with a non-empty dotted key, "
                          f"e.g. dynamics.gamma1=1e-3")
    if not text:
        raise ConfigError(f"--set {item!r}: no value after '='; expected table.key=value")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return key, value


def flatten(tables: dict, prefix: str = "") -> dict[str, Any]:
    """Nested tables -> {"table.key": value} in table order (the leaves of the schema or of a config)."""
    flat: dict[str, Any] = {}
    for k, v in tables.items():
        full = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            flat.update(flatten(v, full))
        else:
            flat[full] = v
    return flat


def _validate_sweep(sweep: dict) -> dict:
    if not isinstance(sweep, dict):
        raise ConfigError(f"[sweep] must be a table, got {sweep!r}")
    flat = flatten(sweep)
    out: dict[str, Any] = {}
    for key, values in flat.items():
        if key == "realizations":
            out[key] = integer(1, REALIZATIONS_MAX)("sweep.realizations", values)
            continue
        spec = _field_at(key)
        if isinstance(spec, dict):
            raise ConfigError(f"sweep.{key} names a table, not a key")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep.{key} = {values!r} is not allowed: expected a non-empty list of values")
        out[key] = [spec.check(key, v) for v in values]
    return out


def _cross_checks(data: dict) -> None:
    run = data["run"]
    tau = run["tau"]
    if _is_number(tau["min"]) and _is_number(tau["max"]) and not tau["max"] > tau["min"]:
        raise ConfigError(f"run.tau.max = {tau['max']!r} is not allowed: expected a number > run.tau.min = {tau['min']!r}")
    if _is_number(tau["max"]) and _is_number(run["t_max"]) and tau["max"] > run["t_max"]:
        raise ConfigError(f"run.tau.max = {tau['max']!r} is not allowed: expected at most run.t_max = {run['t_max']!r}")
    lat, cpl = data["lattice"], data["couplings"]
    if cpl["form"] == "dipolar" and lat["d"] != 3:
        raise ConfigError(f"couplings.form = 'dipolar' is not allowed with lattice.d = {lat['d']!r}: "
                          f"dipolar couplings need lattice.d = 3")
    if lat["kind"] == "hypercubic" and lat["density"] != 1.0:
        raise ConfigError(f"lattice.density = {lat['density']!r} is not allowed with lattice.kind = 'hypercubic' "
                          f"(one dot per site): the density applies to lattice.kind = 'random' only")
    if lat["kind"] == "random" and data["dynamics"]["resonance_width"] != "none":
        raise ConfigError(f"dynamics.resonance_width = {data['dynamics']['resonance_width']!r} is not allowed with "
                          f"lattice.kind = 'random': resonant dynamics need lattice.kind = 'hypercubic' "
                          f"(or resonance_width = 'none')")
    dyn = data["dynamics"]
    sc = data["selfconsistent"]
    if sc["equation"] == "resonant":
        # the law is per level (its static energy) and runs fixed rates: one level per dot,
        # one sample, and a width to use (docs/selfconsistent.md, "Resonant rate law")
        if dyn["resonance_width"] == "none":
            raise ConfigError("selfconsistent.equation = 'resonant' needs dynamics.resonance_width = a number > 0 "
                              "(the width w of the rate law), got 'none'")
        if dyn["kind"] != "flip" or data["lattice"]["levels"] != 1:
            raise ConfigError(f"selfconsistent.equation = 'resonant' needs dynamics.kind = 'flip' with lattice.levels = 1 "
                              f"(a dot's rate is then its one level's), got kind = {dyn['kind']!r}, "
                              f"levels = {data['lattice']['levels']!r}")
        if sc["mode"] != "profile" or sc["disorder"] == "redraw":
            raise ConfigError(f"selfconsistent.equation = 'resonant' needs selfconsistent.mode = 'profile' and "
                              f"disorder 'auto' or 'fixed' (each dot's law uses its own static energy on one sample), "
                              f"got mode = {sc['mode']!r}, disorder = {sc['disorder']!r}")
    if dyn["gamma1_distribution"] == "loguniform":
        if not dyn["gamma1"] > 0:
            raise ConfigError(f"dynamics.gamma1 = {dyn['gamma1']!r} is not allowed with gamma1_distribution = "
                              f"'loguniform': expected a number > 0 (the largest rate)")
        if _is_number(dyn["gamma1_min"]) and dyn["gamma1_min"] > dyn["gamma1"]:
            raise ConfigError(f"dynamics.gamma1_min = {dyn['gamma1_min']!r} is not allowed: expected a number in "
                              f"(0, dynamics.gamma1 = {dyn['gamma1']!r}]")
    if dyn["kind"] == "hop":
        M = data["lattice"]["levels"]
        n = round(dyn["filling"] * M)
        if n == 0 or n == M:
            raise ConfigError(
                f"dynamics.filling = {dyn['filling']!r} is not allowed with lattice.levels = {M}: "
                f"hop dynamics needs 0 < round(filling*levels) < levels (got {n} particles)")


def load_config(source: str | Path | dict | None = None, overrides: list[str] | None = None) -> Config:
    """Read and validate a configuration.

    Parameters
    ----------
    source : path to a TOML file, a dict of tables, or None for all defaults.
    overrides : ``["table.key=value", ...]`` applied on top (``--set`` on the CLI).
    """
    if source is None:
        raw = {}
    elif isinstance(source, dict):
        raw = source
    else:
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"cannot read config file {str(path)!r}: not UTF-8 text (expected a TOML file)") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    return Config.from_dict(raw, overrides)


def describe_schema() -> str:
    """Human-readable list of every key, its default and what is allowed."""
    lines = [f"{full:28s} default {v.default!r:12}  {v.check.allowed}  -- {v.doc}"
             for full, v in flatten(SCHEMA).items()]
    lines += [
        "",
        "[sweep] (optional; used by 'dotkmc sweep' and 'dotkmc selfconsistent', refused by 'dotkmc run')",
        f"{'sweep.TABLE.KEY':28s} {'no default':20s}  a non-empty list of values, each allowed for TABLE.KEY above  "
        f"-- one member per value (cartesian product over the listed keys); run.seed cannot be swept",
        f"{'sweep.realizations':28s} default {1!r:12}  {integer(1, REALIZATIONS_MAX).allowed}  "
        f"-- independent realizations of every point (member seeds derived from run.seed)",
    ]
    return "\n".join(lines)

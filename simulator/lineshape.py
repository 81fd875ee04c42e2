"""The line shape: the spectrum of the measured Ramsey signal (docs/model.md §4, Line shape).

    S(omega) = (1/pi) Re int_0^inf R(tau) e^{-i omega tau} d tau

with R(0) = 1 and R the Ramsey signal of docs/model.md §4, whose phase is that of
eps - eps0: omega is measured from the static energy, and a level shifted by +Delta
puts its line at omega = +Delta (hence e^{-i omega tau}; the transform with e^{+i omega tau}
is this line mirrored, omega -> -omega). Because R(-tau) = conj R(tau), S is real,
int S d omega = R(0) = 1 over the whole axis, and S is even when R is real.

Quadrature: R is interpolated by the cubic spline (not-a-knot) through the nodes
0, tau_1 .. tau_K (the log-spaced grid of the run), and the product with
e^{-i omega tau} is integrated exactly in omega on 8 sub-segments of every segment
with R linear on each (a Filon rule: the trapezoid rule in tau for the smooth factor
R, with no aliasing from the oscillating factor). The spline is linear in R, so the
line stays linear in R. With linear interpolation between the grid points instead, the
line of a 24-point grid was off the exact one by 2-8 % of its peak; with the spline,
well under 1 % (tests/test_lineshape.py).

Truncation: past its decay R is noise around 0, and integrating that noise over the
long tail of the log grid (segments up to tau_max/5 long) would swamp the line. The
integral therefore stops at tau_cut, the first grid point after the last one where
|R| > ``tail`` + 3 sigma (sigma the standard error of Re R there; noise around 0
stays below it); R is 0 beyond it. Its size there is at most that level, so the cut
changes S by at most (1/pi) int_{tau_cut}^inf |R|, about (tail + 3 sigma)/(pi Gamma)
for an exponential tail: that fraction of the peak. A line whose |R(tau_K)| exceeds
the level has not decayed inside the grid: it is NaN rather than a truncated line
that rings.
The line is then divided by its trapezoid area on the stored omega axis.

Everything is linear in R before the normalisation, so to first order the error of
S is sum_k b_k(omega) dRe R_k (+ the imaginary part's, not estimated). The covariance
of R over tau is not measured (the windows of different tau share events), so only
the bound sum_k |b_k| sigma_k is given, which holds for any correlation
(sd of a sum <= sum of the sds).
"""
from __future__ import annotations

import numpy as np

#: below this |omega h| the segment integrals use their Taylor series (no cancellation)
_SERIES_BELOW = 0.25
_SERIES_TERMS = 14


def omega_axis(omega_max: float, points: int) -> np.ndarray:
    """The symmetric axis ``points`` values from -omega_max to omega_max (0 included when odd)."""
    return np.linspace(-omega_max, omega_max, int(points))


def _segment_kernels(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g0(z) = int_0^1 e^{zy} (1-y) dy and g1(z) = int_0^1 e^{zy} y dy for complex z."""
    z = np.asarray(z, dtype=complex)
    g0 = np.empty_like(z)
    g1 = np.empty_like(z)
    small = np.abs(z) < _SERIES_BELOW
    zs = z[small]
    # g0 = sum z^n/(n+2)!, g1 = sum z^n/(n! (n+2))
    t = np.ones_like(zs)          # z^n / n!
    s0 = np.zeros_like(zs)
    s1 = np.zeros_like(zs)
    for n in range(_SERIES_TERMS):
        s0 += t / ((n + 1) * (n + 2))
        s1 += t / (n + 2)
        t = t * zs / (n + 1)
    g0[small], g1[small] = s0, s1
    zl = z[~small]
    ez = np.exp(zl)
    g0[~small] = (ez - 1.0 - zl) / zl ** 2
    g1[~small] = (ez * (zl - 1.0) + 1.0) / zl ** 2
    return g0, g1


def filon_weights(nodes: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Complex weights W (omega, node) with sum_k W[:, k] R_k = int R_lin(tau) e^{-i omega tau} d tau.

    ``nodes`` increasing (the first is usually 0); R_lin is the piecewise-linear
    interpolant of the values R_k at the nodes, 0 outside [nodes[0], nodes[-1]].
    """
    nodes = np.asarray(nodes, dtype=float)
    omega = np.asarray(omega, dtype=float)
    a, h = nodes[:-1], np.diff(nodes)
    z = -1j * omega[:, None] * h[None, :]
    g0, g1 = _segment_kernels(z)
    phase = np.exp(-1j * omega[:, None] * a[None, :]) * h[None, :]
    W = np.zeros((omega.size, nodes.size), dtype=complex)
    W[:, :-1] += phase * g0       # the left node's hat on each segment
    W[:, 1:] += phase * g1        # the right node's
    return W


#: sub-segments per grid segment on which the spline of R is integrated
SPLINE_SUBDIVISIONS = 8


def spline_filon_weights(nodes: np.ndarray, omega: np.ndarray, sub: int = SPLINE_SUBDIVISIONS) -> np.ndarray:
    """Weights W (omega, node) of int R_s(tau) e^{-i omega tau} d tau over [nodes[0], nodes[-1]],
    R_s the cubic spline (not-a-knot) through the node values.

    The spline is linear in the node values, so W = F @ P with P the spline's values on
    ``sub`` points per segment for unit node vectors and F the exact-in-omega rule of
    :func:`filon_weights` on those points; the remaining error is the piecewise-linear
    interpolation of a smooth cubic on segments ``sub`` times shorter.
    """
    from scipy.interpolate import CubicSpline

    nodes = np.asarray(nodes, dtype=float)
    if nodes.size < 4:          # too few nodes for a cubic: linear
        return filon_weights(nodes, omega)
    frac = np.arange(sub) / sub
    fine = np.concatenate([(nodes[:-1, None] + frac[None, :] * np.diff(nodes)[:, None]).ravel(), nodes[-1:]])
    P = CubicSpline(nodes, np.eye(nodes.size), axis=0)(fine)       # (fine, node)
    return filon_weights(fine, omega) @ P


def area_weights(omega: np.ndarray) -> np.ndarray:
    """Trapezoid weights of the omega axis (sum a_j f_j = area)."""
    omega = np.asarray(omega, dtype=float)
    d = np.diff(omega)
    a = np.zeros(omega.size)
    a[:-1] += d / 2
    a[1:] += d / 2
    return a


def tail_cut(ramsey: np.ndarray, tail: float, stderr: np.ndarray | None = None) -> np.ndarray:
    """Index k_cut of tau_cut per signal: the first grid point after the last one with
    |R| > tail + 3 sigma (0 if none), or -1 where |R(tau_K)| exceeds it or R holds NaN
    (not decayed). sigma (``stderr``, the error of Re R; 0 when not given) keeps noise
    around 0 from counting as signal: |R| of pure noise exceeds 3 sigma in about 1e-4
    of the points for sigma per part."""
    R = np.asarray(ramsey, dtype=complex)
    level = tail + (0.0 if stderr is None else 3.0 * np.asarray(stderr, dtype=float))
    with np.errstate(invalid="ignore"):
        above = ~(np.abs(R) <= level)                 # NaN counts as above
    K = R.shape[-1]
    last = K - 1 - np.argmax(above[..., ::-1], axis=-1)
    cut = np.where(above.any(axis=-1), last + 1, 0)
    return np.where(cut >= K, -1, cut).astype(np.int64)


def line_shape(tau: np.ndarray, ramsey: np.ndarray, omega: np.ndarray, tail: float,
               ramsey_stderr: np.ndarray | None = None,
               cut: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised line S(omega) of Ramsey signals on the grid ``tau`` (R(0) = 1 prepended).

    Parameters
    ----------
    tau : (K,) increasing positive window lengths.
    ramsey : (..., K) complex Ramsey signals (Re + i Im).
    omega : (W,) the frequency axis.
    tail : the truncation level (:func:`tail_cut`, with ``ramsey_stderr``).
    ramsey_stderr : (..., K) standard errors of Re R (optional).
    cut : (...) explicit cut indices (e.g. a measured line's, to transform the exact
        signal on the same terms); default :func:`tail_cut` of ``ramsey``.

    Returns
    -------
    line : (..., W) S(omega) / its trapezoid area on ``omega``; NaN where the signal
        has not decayed (cut -1) or the area is not positive.
    bound : (..., W) sum_k |dS/dRe R_k| sigma_k, an upper bound of the standard
        deviation of ``line`` from the errors of Re R (NaN where ``line`` is, or when
        no errors are given). The imaginary part's error is not included.
    cut : (...) the cut index k_cut (tau_cut = tau[k_cut]; -1: no line).
    """
    tau = np.asarray(tau, dtype=float)
    R = np.asarray(ramsey, dtype=complex)
    lead = R.shape[:-1]
    R2 = R.reshape(-1, tau.size)
    sig = None if ramsey_stderr is None else np.asarray(ramsey_stderr, dtype=float).reshape(-1, tau.size)
    given = None if cut is None else np.broadcast_to(np.asarray(cut, dtype=np.int64), lead)
    cuts = (tail_cut(R2, tail, sig) if given is None else given).reshape(-1)
    nodes = np.concatenate([[0.0], tau])
    a = area_weights(omega)
    line = np.full((R2.shape[0], omega.size), np.nan)
    bound = np.full_like(line, np.nan)
    weights: dict[int, np.ndarray] = {}
    for n in range(R2.shape[0]):
        k = int(cuts[n])
        if k < 0:
            continue
        if k not in weights:        # node k+1 of the nodes is tau[k]
            weights[k] = spline_filon_weights(nodes[:k + 2], omega) / np.pi
        W = weights[k]
        full = np.concatenate([[1.0 + 0j], R2[n, :k + 1]])
        raw = (W @ full).real
        area = float(raw @ a)
        if not (np.isfinite(area) and area > 0):
            continue
        line[n] = raw / area
        if sig is not None:
            c = W.real[:, 1:]                          # dS_raw(omega)/dRe R_j, (W, k+1)
            b = (c - line[n][:, None] * (a @ c)[None, :]) / area
            bound[n] = np.abs(b) @ sig[n, :k + 1]
    return (line.reshape(lead + (omega.size,)), bound.reshape(lead + (omega.size,)),
            cuts.reshape(lead))


def lines_on_grid(ds, ramsey: np.ndarray, probes: np.ndarray, tail: float) -> np.ndarray:
    """Lines of the Ramsey signals ``ramsey`` (len(probes), tau), complex, of the run
    ``ds``'s ``probes``, by :func:`line_shape` on the run's tau grid and omega axis and
    cut where each probe's measured line is cut (NaN where it has none): what the
    measured ``lineshape`` would be without statistical noise (for exact signals).
    ``tail`` is the run's ``run.lineshape.tail``."""
    tau = ds["tau"].values
    cut_tau = ds["lineshape_tau_cut"].values[np.asarray(probes, dtype=int)]
    cut = np.where(np.isfinite(cut_tau), np.searchsorted(tau, np.nan_to_num(cut_tau)), -1)
    return line_shape(tau, ramsey, ds["omega"].values, tail, cut=cut)[0]

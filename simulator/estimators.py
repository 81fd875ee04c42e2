"""From accumulated sums to estimates: batch means and linewidths (docs/model.md §4)."""
from __future__ import annotations

import numpy as np

from .kernels.layout import ramsey_imag_sum, sd_sums, signal_sums, survival_sums, window_counts
from .physics import SurvivalLaw  # noqa: F401  (re-export: its home is simulator.physics)
from .telegraph import telegraph_terms


def _survival(law: SurvivalLaw, t: np.ndarray) -> np.ndarray:
    """P(no own change in a window of length t) at stationarity, shape (P, len(t))."""
    p = law.p_occupied[:, None]
    return p * np.exp(-law.rate_occupied[:, None] * t) + (1 - p) * np.exp(-law.rate_empty[:, None] * t)


def _triangular_geometric_sum(x: np.ndarray, K: np.ndarray) -> np.ndarray:
    """sum_{k=0}^{K-1} (K - k) x^k for 0 <= x <= 1, elementwise (0 where K <= 0)."""
    K = np.maximum(np.asarray(K, dtype=float), 0.0)
    x = np.asarray(x, dtype=float)
    one_minus = 1.0 - x
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        xk = np.exp(K * np.log(np.where(x > 0, x, 1.0)))
        xk = np.where(x > 0, xk, 0.0)
        closed = (K * one_minus - x * (1.0 - xk)) / one_minus ** 2
        # near x = 1 the closed form cancels: series in (1 - x)
        series = K * (K + 1) / 2 - one_minus * (K - 1) * K * (K + 1) / 6
        g = np.where(one_minus * np.maximum(K, 1.0) < 1e-4, series, closed)
    return np.where(K > 0, g, 0.0)


def survival_count_variance(law: SurvivalLaw, tau: np.ndarray, stride: np.ndarray,
                            n_windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and variance of the fraction of windows in which the probe's own
    occupation did not change, shape (P, K).

    Windows of length tau_k start every Delta_k = stride_k tau_k / 2 (docs/model.md
    §4), so windows m starts apart overlap when m Delta_k < tau_k (stride 1, m = 1).
    Overlapping windows both survive iff no own change happens in their union;
    disjoint windows separated by a gap g >= 0 both survive with probability
    s^2 + exp(-(r_occ + r_emp) g) p (1 - p) (e^{-r_occ tau} - e^{-r_emp tau})^2
    (the memory of the two-state chain; zero for flip, where r_occ = r_emp). The
    variance of the count of N windows is N s (1 - s) + 2 sum_m (N - m) cov_m.
    """
    tau = np.asarray(tau, dtype=float)
    stride = np.asarray(stride)
    n = np.asarray(n_windows, dtype=float)[None, :]
    s = _survival(law, tau)
    p = law.p_occupied[:, None]
    a1 = np.exp(-law.rate_occupied[:, None] * tau)
    a0 = np.exp(-law.rate_empty[:, None] * tau)
    memory = p * (1 - p) * (a1 - a0) ** 2
    total = n * s * (1.0 - s)
    overlap = (stride == 1)[None, :]
    cov1 = _survival(law, 1.5 * tau) - s ** 2
    total = total + np.where(overlap, 2.0 * np.maximum(n - 1, 0) * cov1, 0.0)
    # disjoint pairs, m >= m0 starts apart (gap m Delta - tau >= 0)
    rho = (law.rate_occupied + law.rate_empty)[:, None]
    delta = stride * tau / 2.0
    m0 = np.where(overlap, 2, 1)
    first_gap = m0 * delta - tau
    x = np.exp(-rho * delta)
    pairs = np.exp(-rho * first_gap) * _triangular_geometric_sum(x, n - m0)
    total = total + 2.0 * memory * pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(total, 0.0) / n ** 2
    return s, var


#: A neighbour is slow (its scatter between histories enters the Ramsey error bar) when it
#: switches fewer than this many times per batch, 2 Gamma_j t_b < SLOW_BATCH_FLIPS: there
#: batch means misses at least ~30 % of its variance (docs/model.md §4)
SLOW_BATCH_FLIPS = 3.0
#: Gauss-Legendre nodes per panel of the u integral of slow_neighbour_variance
_GL_NODES = 6


def _slow_quadrature(T: float, B: float, fastest: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes u and weights of (2B/T^2) int_0^T min(u, (T-u)/(B-1)) f(u) du.

    The kernel is the variance of the grand mean minus the expected batch-means
    variance of a process with correlation f (slow_neighbour_variance). Geometric
    panels on both sides of its kink u = T/B resolve decays up to the rate ``fastest``.
    """
    a = T / B
    # panels down to a 2^-n, below the fastest decay length (relative error ~1e-9)
    n = int(np.ceil(np.log2(max(fastest * a, 1.0)))) + 3
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    edges = np.concatenate(([0.0], 2.0 ** -np.arange(n, -1, -1.0)))    # 0, 2^-n, ..., 1/2, 1
    lo, hi = edges[:-1], edges[1:]
    t = (0.5 * (hi - lo)[:, None] * (x[None, :] + 1.0) + lo[:, None]).ravel()
    wt = (0.5 * (hi - lo)[:, None] * w[None, :]).ravel()
    u = np.concatenate((a * t, a + (T - a) * t))
    wu = np.concatenate((a * wt, (T - a) * wt))
    kernel = (2.0 * B / T ** 2) * np.minimum(u, (T - u) / (B - 1.0))
    return u, wu * kernel


def slow_neighbour_variance(tau: np.ndarray, rows, level_gamma: np.ndarray, gamma_self: np.ndarray,
                            span: float, batches: float,
                            slow_batch_flips: float = SLOW_BATCH_FLIPS) -> tuple[np.ndarray, np.ndarray]:
    """Variance of Re R that batch means misses: the scatter between histories of
    the quasi-static neighbours, flip dynamics with fixed rates (docs/model.md §4,
    Run length with a rate distribution), shape (P, K), and which probes have slow
    neighbours at all (P,) bool (zero variance elsewhere).

    Neighbour j shifts the probe by (U_j/2) s_j, s_j = +-1 a telegraph switching at
    Gamma_j out of each state. It is *slow* when it switches less than
    ``slow_batch_flips`` times per batch, 2 Gamma_j t_b < slow_batch_flips
    (t_b = span/batches). A slow neighbour is static within a window (Gamma_j tau << 1),
    so its factor in a window starting at t0 is c_j + i s_j(t0) sigma_j,
    c_j = cos(U_j tau/2), sigma_j = sin(U_j tau/2). Given the paths of the slow set,
    the estimate's mean is R_fast(tau) times the window average of
    prod_j (c_j + i s_j sigma_j) = sum_A prod_{j not in A} c_j prod_{j in A} (i sigma_j) s_A,
    with R_fast = e^{-Gamma_self tau} prod_{fast} D_j the exact product of the rest
    (real). The products s_A over subsets A are uncorrelated +-1 telegraphs with
    correlation rho_A(u) = prod_{j in A} e^{-2 Gamma_j u}; the real part takes the
    subsets of even size. The average over a span T of a process with correlation
    rho has variance V_T = (2/T^2) int_0^T (T-u) rho(u) du; batch means over B
    batches of length T/B estimates (V_{T/B} - V_T)/(B - 1) of it in expectation, so
    it misses

        V_T - (V_{T/B} - V_T)/(B - 1) = (2B/T^2) int_0^T min(u, (T-u)/(B-1)) rho(u) du

    (the whole of V_T for a frozen sign, rho = 1). Summed over the even subsets
    under the integral:

        var = R_fast^2 (2B/T^2) int min(u, (T-u)/(B-1)) g(u) du,
        g(u) = [prod_j (c_j^2 + sigma_j^2 rho_j) + prod_j (c_j^2 - sigma_j^2 rho_j)]/2 - prod_j c_j^2,

    rho_j = e^{-2 Gamma_j u}, evaluated on geometric Gauss-Legendre panels.

    Parameters
    ----------
    tau : (K,) delays.
    rows : the probes' coupling rows (:meth:`simulator.model.Model.coupling_rows`).
    level_gamma : (n_levels,) switching rate of every level (its dot's Gamma_1).
    gamma_self : (P,) the probe level's own rate (its survival e^{-Gamma_self tau}).
    span : the simulated time the windows cover.
    batches : the number of batches of that span (> 1).
    slow_batch_flips : the slow threshold on 2 Gamma_j t_b.
    """
    tau = np.asarray(tau, dtype=float)
    P = rows.ptr.size - 1
    var = np.zeros((P, tau.size))
    applied = np.zeros(P, dtype=bool)
    if not batches > 1.0 or not span > 0.0:
        return var, applied
    t_b = span / batches
    for p in range(P):
        sl = slice(rows.ptr[p], rows.ptr[p + 1])
        g = level_gamma[rows.level[sl]]
        U = rows.U[sl]
        slow = 2.0 * g * t_b < slow_batch_flips
        if not slow.any():
            continue
        applied[p] = True
        fast = ~slow
        d = telegraph_terms(tau[None, :], 0.5 * np.abs(U[fast])[:, None], g[fast][:, None])[0]
        r_fast = np.exp(-gamma_self[p] * tau) * np.prod(d, axis=0)                     # (K,)
        theta = 0.5 * U[slow][:, None] * tau[None, :]                                   # (S, K)
        c2, s2 = np.cos(theta) ** 2, np.sin(theta) ** 2
        gs = g[slow]
        u, w = _slow_quadrature(span, batches, 2.0 * gs.sum())
        rho = np.exp(-2.0 * gs[:, None] * u[None, :])[:, None, :]                       # (S, 1, nu)
        plus = np.prod(c2[:, :, None] + s2[:, :, None] * rho, axis=0)                   # (K, nu)
        minus = np.prod(c2[:, :, None] - s2[:, :, None] * rho, axis=0)
        even = 0.5 * (plus + minus) - np.prod(c2, axis=0)[:, None]
        var[p] = r_fast ** 2 * np.maximum(even @ w, 0.0)
    return var, applied


#: lags below this many window spacings are summed term by term in
#: flip_sd_estimator_variance; beyond it the summand is a smooth sum of exponentials
#: in the lag (every exponential faster than ~40/SD_DIRECT_LAGS is already negligible)
SD_DIRECT_LAGS = 64
#: Gauss-Legendre nodes per geometric panel of the tail of flip_sd_estimator_variance
_SD_GL_NODES = 8
#: neighbours per block of flip_sd_estimator_variance (bounds its memory)
_SD_BLOCK = 256


def _sd_lag_nodes(n_windows: np.ndarray, direct: int = SD_DIRECT_LAGS) -> tuple[np.ndarray, np.ndarray]:
    """Lags l (in window spacings) and weights w, shape (K, nodes), with
    sum_n w_n c(l_n) = N c(0) + 2 sum_{l=1}^{N-1} (N - l) c(l) for a covariance c that is
    a smooth sum of decaying exponentials in l beyond ``direct``.

    Lags 0..direct are summed term by term; the rest, sum_{l=direct}^{N-1} h(l) - h(direct)
    with h(l) = 2 (N - l) c(l), by the trapezoid form of Euler-Maclaurin,
    int_{direct}^{N-1} h dl + h(N-1)/2 - h(direct)/2 (the derivative term, ~beta^2/12
    of an exponential e^{-beta l} that is itself below e^{-beta direct}, is dropped: below
    1e-5 relative), the integral by Gauss-Legendre on geometric panels (each panel at
    most doubles the lag, so every exponential is resolved where it matters).
    """
    N = np.asarray(n_windows, dtype=float)
    K = N.size
    L0 = float(direct)
    lags = np.arange(direct + 1, dtype=float)
    wd = np.where(lags[None, :] < N[:, None], (N[:, None] - lags[None, :]) * np.where(lags == 0, 1.0, 2.0), 0.0)
    top = N - 1.0
    tail = top > L0
    n_pan = int(np.ceil(np.log2(max(float(np.max(top, initial=0.0)) / L0, 2.0))))
    x, w = np.polynomial.legendre.leggauss(_SD_GL_NODES)
    ratio = np.where(tail, np.maximum(top, L0) / L0, 1.0) ** (1.0 / n_pan)            # (K,) <= 2
    edges = L0 * ratio[:, None] ** np.arange(n_pan + 1)[None, :]                        # (K, n_pan + 1)
    edges[:, -1] = np.maximum(top, L0)
    lo, hi = edges[:, :-1, None], edges[:, 1:, None]
    lt = (0.5 * (hi - lo) * (x + 1.0) + lo).reshape(K, -1)
    wt = (0.5 * (hi - lo) * w).reshape(K, -1) * 2.0 * (N[:, None] - lt)
    wt = np.where(tail[:, None], wt, 0.0)
    # the trapezoid ends: h(N-1)/2 = (N - (N-1)) = 1 at lag N-1, -h(direct)/2 at lag direct
    wd[:, direct] -= np.where(tail, N - L0, 0.0)
    l_end = np.where(tail, top, 0.0)[:, None]
    w_end = np.where(tail, 1.0, 0.0)[:, None]
    lag = np.concatenate((np.broadcast_to(lags, (K, lags.size)), lt, l_end), axis=1)
    weight = np.concatenate((wd, wt, w_end), axis=1)
    return lag, weight


def flip_sd_estimator_variance(tau: np.ndarray, stride: np.ndarray, n_windows: np.ndarray, rows,
                               level_gamma: np.ndarray) -> np.ndarray:
    """Exact variance of the estimator ``sd_variance`` of a run, flip dynamics with
    fixed rates, shape (P, K) (docs/model.md §4, Spectral diffusion: the error).

    The estimate is the mean of D^2 over the run's N_k windows of length tau_k starting
    at m Delta_k, m = 0..N_k - 1, Delta_k = stride_k tau_k / 2 (simulator/schedule.py),
    from a stationary start. D = sum_j U_j Delta_j, Delta_j = n_j(t0 + tau) - n_j(t0),
    n_j in {0, 1} independent symmetric telegraphs switching at Gamma_j out of each
    state. Odd moments of one Delta_j vanish (n -> 1 - n), so the covariance of D^2 in
    two windows s apart is

        c(s) = sum_j U_j^4 [b_j(s) - 2 a_j(s)^2] + 2 (sum_j U_j^2 a_j(s))^2,

    a_j(s) = E[Delta_j(0) Delta_j(s)] = 2C(s) - C(s + tau) - C(|s - tau|),
    C(s) = e^{-2 Gamma_j |s|}/4, and b_j(s) = Cov(Delta_j^2(0), Delta_j^2(s)). Delta_j^2
    is the parity of the Poisson count (rate Gamma_j) of the flips in the window, and
    parities of disjoint segments are independent with E(-1)^count = e^{-2 Gamma t}, so
    b_j(s) = (e^{-4 Gamma_j s} - e^{-4 Gamma_j tau})/4 for s < tau and 0 beyond. Then

        var = [N c(0) + 2 sum_{l=1}^{N-1} (N - l) c(l Delta)] / N^2,

    the lag sum by :func:`_sd_lag_nodes`. Every window and every flip enters, however
    rare: nothing is estimated from the run.

    Parameters
    ----------
    tau, stride, n_windows : (K,) delays, window strides and windows averaged.
    rows : the probes' coupling rows (:meth:`simulator.model.Model.coupling_rows`).
    level_gamma : (n_levels,) switching rate of every level (its dot's Gamma_1).
    """
    tau = np.asarray(tau, dtype=float)
    delta = np.asarray(stride, dtype=float) * tau / 2.0
    N = np.asarray(n_windows, dtype=float)
    lag, weight = _sd_lag_nodes(N)
    s = lag * delta[:, None]                                                            # (K, n)
    t = tau[:, None]
    P = rows.ptr.size - 1
    out = np.zeros((P, tau.size))
    for p in range(P):
        lev = rows.level[rows.ptr[p]:rows.ptr[p + 1]]
        U2 = rows.U[rows.ptr[p]:rows.ptr[p + 1]] ** 2
        F = np.zeros(s.shape)
        diag = np.zeros(s.shape)
        for b0 in range(0, U2.size, _SD_BLOCK):
            g = level_gamma[lev[b0:b0 + _SD_BLOCK]][:, None, None]                       # (J, 1, 1)
            u2 = U2[b0:b0 + _SD_BLOCK][:, None, None]
            two = 2.0 * g
            em = np.expm1(-two * t)                                                     # e^{-2 G tau} - 1
            # s >= tau: -e^{-2Gs} sinh^2(G tau) = -e^{-2G(s-tau)} (1 - e^{-2G tau})^2 / 4
            a = -0.25 * np.exp(-two * np.maximum(s - t, 0.0)) * em ** 2
            # s < tau only at lags 0 and 1 (windows start at least tau/2 apart)
            s0 = s[:, :2]
            inside = s0 < t
            # [e^{-2Gs}(1 - e^{-2G tau}) + e^{-2Gs} - e^{-2G(tau-s)}]/4, the difference written
            # as +-e^{-2G min(s, tau-s)} (1 - e^{-2G |tau-2s|}) (no cancellation, no overflow)
            m = np.clip(np.minimum(s0, t - s0), 0.0, None)
            diff = np.sign(t - 2.0 * s0) * np.exp(-two * m) * -np.expm1(-two * np.abs(t - 2.0 * s0))
            a[:, :, :2] = np.where(inside, 0.25 * (-np.exp(-two * s0) * em + diff), a[:, :, :2])
            b = np.where(inside, 0.25 * np.exp(-2.0 * two * s0) * -np.expm1(-2.0 * two * np.clip(t - s0, 0.0, None)),
                         0.0)
            F += np.sum(u2 * a, axis=0)
            diag -= 2.0 * np.sum(u2 * u2 * a * a, axis=0)
            diag[:, :2] += np.sum(u2 * u2 * b, axis=0)
        c = diag + 2.0 * F * F
        with np.errstate(invalid="ignore", divide="ignore"):
            out[p] = np.maximum(np.sum(weight * c, axis=1), 0.0) / N ** 2
    return out


def batch_means(est: np.ndarray, kstat: np.ndarray, survival: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Means and standard errors of the echo and Ramsey signals, shape (P, K).

    Windows overlap, so successive windows are correlated; the standard error is
    the weighted batch-means estimate over B batches of equal simulated time:
        var(E) = sum_b (n_b/nbar)^2 (m_b - E)^2 / (B (B - 1)),
    with m_b = s_b / n_b the batch mean and E the grand mean, evaluated from the
    running sums kept by :func:`simulator.kernels.estimate.flush_batch`.

    With ``survival`` = (s, var_S), the exact mean and variance of the surviving
    fraction of windows (:func:`survival_count_variance`; known for fixed rates),
    the error bar stays honest where the probe's own transitions are rare (in few
    or no windows, where batch means sees almost none of their noise): the signal
    X = S C (S the survival indicator, C the phase factor) is split as
    X = R S + Z with R = sum X / sum S, the mean phase factor of surviving windows.
    Z carries the dephasing noise and is estimated by batch means; the survival
    count's noise is taken exactly:
        var(X) = var_bm(Z) + R^2 var_S.
    Where no window survived, |R| <= 1 is bounded by 1. The estimate itself (the
    plain mean of X) is unchanged. See docs/model.md §4.

    Also the spectral-diffusion variance ``sd_variance`` = mean over all windows
    of D^2, D = eps(t0+tau) - eps(t0) (no survival condition), with its plain
    weighted batch-means error ``sd_variance_stderr`` (docs/model.md §4,
    Spectral diffusion; for flip dynamics with fixed rates the engine replaces it by the
    exact variance of the estimator, :func:`flip_sd_estimator_variance`).
    """
    counts = window_counts(kstat)
    ntot, B, n2 = counts.total, counts.batches, counts.sq   # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        nbar = ntot / B
        norm = nbar[:, None] ** 2 * B[:, None] * (B[:, None] - 1.0)
        out = {"n_windows": ntot.astype(np.int64), "n_batches": B.astype(np.int64)}
        surv = survival_sums(est)
        for name in ("echo", "ramsey"):
            x = signal_sums(est, name)
            mean = x.total / ntot[:, None]
            if survival is None:
                ss = x.sq - 2.0 * mean * x.by_count + mean ** 2 * n2[:, None]
                var = ss / norm
            else:
                s_exact, var_s = survival
                tot_s = surv.total
                R = np.where(tot_s > 0, x.total / np.where(tot_s > 0, tot_s, 1.0), 1.0)
                zz = x.sq - 2.0 * R * x.by_survival + R ** 2 * surv.sq       # sum_b z_b^2
                var = np.maximum(zz, 0.0) / norm + R ** 2 * var_s.T
            out[name] = mean.T
            out[name + "_stderr"] = np.sqrt(np.maximum(var, 0.0)).T
        out["ramsey_imag"] = (ramsey_imag_sum(est) / ntot[:, None]).T
        # spectral diffusion: mean of D^2 over every window (no survival condition), plain batch means
        d2 = sd_sums(est)
        mean = d2.total / ntot[:, None]
        ss = d2.sq - 2.0 * mean * d2.by_count + mean ** 2 * n2[:, None]
        out["sd_variance"] = mean.T
        out["sd_variance_stderr"] = np.sqrt(np.maximum(ss / norm, 0.0)).T
    return out


def crossing_rate(tau: np.ndarray, signal: np.ndarray, level: float = np.exp(-1.0)) -> np.ndarray:
    """Rate 1/tau_e at the first downward crossing of ``level`` (docs/model.md §4).

    Linear interpolation of the signal in log tau between the last point above
    and the first point at or below ``level``. NaN where the signal never falls
    to the level inside the grid (or starts below it). Works on (..., n_tau).
    """
    tau = np.asarray(tau, dtype=float)
    s = np.asarray(signal, dtype=float)
    flat = s.reshape(-1, s.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    lt = np.log(tau)
    for i, row in enumerate(flat):
        below = np.nonzero(~(row > level))[0]   # NaN counts as "not above"
        if below.size == 0:
            continue
        k = below[0]
        if k == 0 or not np.isfinite(row[k]):
            continue
        y0, y1 = row[k - 1], row[k]
        x = lt[k - 1] + (y0 - level) / (y0 - y1) * (lt[k] - lt[k - 1])
        out[i] = np.exp(-x)
    return out.reshape(s.shape[:-1])


def crossing_rate_stderr(tau: np.ndarray, signal: np.ndarray, stderr: np.ndarray, level: float = np.exp(-1.0),
                         rate: np.ndarray | None = None) -> np.ndarray:
    """Delta-method error of :func:`crossing_rate` from the signal's standard error.

    sigma(Gamma2)/Gamma2 = sigma_E / |dE/dln tau| at the crossing (local slope of
    the two bracketing points). ``rate``: the signal's :func:`crossing_rate` if
    already computed (the same numbers; it is computed here otherwise).
    """
    tau = np.asarray(tau, dtype=float)
    s = np.asarray(signal, dtype=float).reshape(-1, tau.size)
    e = np.asarray(stderr, dtype=float).reshape(-1, tau.size)
    g = crossing_rate(tau, s, level) if rate is None else np.asarray(rate, dtype=float).reshape(-1)
    out = np.full(s.shape[0], np.nan)
    lt = np.log(tau)
    for i in range(s.shape[0]):
        if not np.isfinite(g[i]):
            continue
        k = np.nonzero(~(s[i] > level))[0][0]
        slope = (s[i, k] - s[i, k - 1]) / (lt[k] - lt[k - 1])
        sig = 0.5 * (e[i, k] + e[i, k - 1])
        if slope != 0:
            out[i] = g[i] * sig / abs(slope)
    return out.reshape(np.shape(signal)[:-1])


MIN_WINDOWS = 50


def windows_at_crossing(tau: np.ndarray, n_windows: np.ndarray, gamma2: np.ndarray) -> np.ndarray:
    """Windows averaged at each probe's 1/e crossing tau = 1/Gamma2 (interpolated
    log-log; NaN where Gamma2 is not finite and positive).

    Below ~MIN_WINDOWS the batch-means error of the echo near the crossing is not a
    Gaussian error bar and the first crossing of the noisy echo comes early
    (Gamma2 biased high). Runs with few events get few windows from the 'auto'
    spacing, which budgets the estimator at about half the simulation's work;
    more flips or an explicit run.tau.t0_spacing raise the count.
    """
    g = np.asarray(gamma2, dtype=float)
    out = np.full(g.shape, np.nan)
    ok = np.isfinite(g) & (g > 0)
    logn = np.log(np.maximum(np.asarray(n_windows, dtype=float), 1e-300))   # counts fall like 1/tau
    out[ok] = np.exp(np.interp(np.log(1.0 / g[ok]), np.log(tau), logn))
    return out

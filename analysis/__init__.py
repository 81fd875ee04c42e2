"""dotkmc analysis: exact references, comparisons, mean-field theory and plots.

Reads result Datasets and the simulator's public API; the simulator never
imports this package. Layers (each imports only those above it):

* :mod:`analysis.exact` (``telegraph``: flip, ``fock``: hop; docs/exact.md),
  :mod:`analysis.meanfield` (the paper's equations; docs/meanfield.md),
  :mod:`analysis.bath`, :mod:`analysis.sweeps`;
* :mod:`analysis.compare` (exact references per probe), :mod:`analysis.estimates`
  (censored Gamma2, medians with bootstrap errors, z-scores, rule sums),
  :mod:`analysis.stationary`;
* :mod:`analysis.result` (a run and its model, built once), :mod:`analysis.plots`,
  :mod:`analysis.closure` (the self-consistent loop; docs/selfconsistent.md);
* :mod:`analysis.summary` and the studies in :mod:`analysis.studies`.
"""

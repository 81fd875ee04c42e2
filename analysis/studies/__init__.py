"""Studies: analyses that run or read many results and write a report with figures.

* :mod:`analysis.studies.scan`: Gamma2 from Gamma1 over a sweep, measured vs exact
  vs mean field, and the profile of a chain with a bath (docs/results.md);
* :mod:`analysis.studies.closure_study`: fixed points of the self-consistent loop
  over a sweep, critical couplings of pinned chains, the bath chain
  (docs/selfconsistent.md).

Library functions they use live in the modules of :mod:`analysis`.
"""

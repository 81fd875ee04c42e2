"""numba kernels of the simulator, split by stage (docs/architecture.md).

* :mod:`~simulator.kernels.layout` -- rows of the estimator arrays and their readers;
* :mod:`~simulator.kernels.state` -- the typed records the kernels take;
* :mod:`~simulator.kernels.tables` -- push table, thread blocks, bucket index;
* :mod:`~simulator.kernels.dots` -- the fixed-rate dynamics (initial state, dot pass);
* :mod:`~simulator.kernels.estimate` -- reconstruction of the phases and the estimators.
"""

"""dotkmc analysis: exact references, comparisons, mean-field theory and plots.

Reads result Datasets and the simulator's public API; the simulator never
imports this package.
"""

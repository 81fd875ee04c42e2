"""dotkmc: command-line entry point tying the simulator and the analysis together."""

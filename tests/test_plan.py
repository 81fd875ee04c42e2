"""The resolve step (simulator/plan.py) and the typed configuration views (simulator/views.py)."""
import dataclasses

import numpy as np
import pytest

import simulator as S
from simulator.engine import Simulation
from simulator.plan import resolve
from simulator.views import view

TINY = {"lattice": {"d": 1, "L": 6, "levels": 2}, "couplings": {"cutoff": 2.0},
        "dynamics": {"gamma1": 0.05}, "run": {"t_max": "auto", "flips": 50.0, "probes": 3, "batches": 5}}


def test_views_read_the_validated_values():
    cfg = S.load_config({**TINY, "dynamics": {"gamma1": 0.05, "bath": {"side": "left", "gamma1": 0.2}}})
    v = view(cfg)
    assert (v.lattice.d, v.lattice.L, v.lattice.levels, v.lattice.periodic) == (1, 6, 2, True)
    assert v.dynamics.bath.side == "left" and v.dynamics.bath.gamma1 == 0.2
    assert v.run.tau.t0_spacing == "auto" and v.run.t_max == "auto" and v.run.batches == 5
    for table in ("lattice", "couplings", "run"):
        sub = getattr(v, table)
        for f in dataclasses.fields(sub):
            if not dataclasses.is_dataclass(getattr(sub, f.name)):
                assert getattr(sub, f.name) == cfg[table][f.name]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.run.batches = 7


def test_plan_resolves_every_auto_once_and_is_what_the_result_records():
    cfg = S.load_config(TINY)
    sim = Simulation(cfg)
    plan = sim.plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.t_max = 1.0
    # t_max = flips / smallest Gamma1, batches of t_max / B, the model's cutoff recorded
    assert plan.t_max == 50.0 / 0.05 and plan.t_batch == plan.t_max / 5 and plan.n_batches == 5
    assert plan.cutoff == sim.model.cutoff == 2.0
    assert plan.tau[0] == plan.tau_min and plan.tau[-1] == pytest.approx(plan.tau_max)
    np.testing.assert_array_equal(plan.h, plan.tau / 2)
    assert sim.schedule is plan.schedule and sim.t_max == plan.t_max and sim.resolved == plan.resolved
    assert np.all(plan.traj_times() == np.arange(plan.n_traj_times) * plan.traj_dt)
    # resolving again gives the same numbers (a pure function of config, model and rates)
    again = resolve(cfg, sim.model, sim.dynamics)
    assert again.resolved == plan.resolved
    np.testing.assert_array_equal(again.stride, plan.stride)
    while not sim.finished:
        sim.step()
    ds = S.to_dataset(sim)
    assert {k: ds.attrs[f"resolved_{k}"] for k in plan.resolved} == plan.resolved
    np.testing.assert_array_equal(ds["t0_stride"].values, plan.stride)

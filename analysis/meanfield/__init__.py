"""Mean-field theory of nearly many-body-localised metals.

Gopalakrishnan & Nandkishore, "A mean-field theory of nearly many-body
localized metals" (equation numbers are the paper's).  Every equation is a
vectorised numpy function; see ``docs/meanfield.md`` for the map from
equations to functions, the conventions, the checks, and the discrepancies
found in the printed formulas.

Modules
-------
relaxation      Sec. II: Eqs. (4)-(7), dominant relaxation channel.
dot             Sec. IV B-D: Eqs. (10)-(17), Fig. 6's Gamma_n.
selfconsistent  Sec. IV E: solver of Eq. (12) + (15)/(16)/(17), Eqs. (18)-(24).
appendix_a      Eqs. (A1)-(A5).
chain           Appendix B inhomogeneous chain.
predictions     per-configuration predictions (docs/meanfield.md).
figures         Figs. 4-9.
cli             ``dotkmc meanfield`` sub-command.
"""
from .relaxation import (dominant_channel, gamma_a, gamma_b_corrected, gamma_b_printed, gamma_c,
                         linewidth_eq7, linewidth_eq7_selfconsistent, nhat_d_eq6)
from .dot import (eq17_prefactor, fock_order_Nc, gamma1_eq14_rate, gamma1_eq15, gamma1_eq15_rate, gamma1_eq16,
                  gamma1_eq16_rate, gamma1_eq17, gamma1_eq17_rate, gamma2_eq11, gamma2_eq12, gamma_eq10,
                  gamma_n_order, nc_eq10, nc_eq11)
from .selfconsistent import (FixedPoint, ell_eq19_corrected, gamma1_eq19_corrected, gamma1_eq20_corrected,
                             gamma2_eq18, gamma2_eq19_corrected, gamma2_eq19_printed, gamma2_eq20_corrected,
                             gamma2_eq20_printed, iterate_selfconsistent, solve_selfconsistent, validity)
from .appendix_a import (argmax_bruteforce, exp_a4, gamma_n_gaussian, gamma_n_lorentzian, nhat_a5,
                         nhat_d_a2_corrected, nhat_d_a2_printed)
from .chain import (ChainResult, bulk_gamma2, chain_is_metallic, coupling_profile, critical_coupling,
                    fit_power_law, rule_f, solve_chain)
from .predictions import gamma2_eq12_config, gamma2_rule_sum, transition_count

__all__ = [
    # Sec. II
    "gamma_a", "gamma_b_printed", "gamma_b_corrected", "nhat_d_eq6", "gamma_c", "linewidth_eq7",
    "linewidth_eq7_selfconsistent", "dominant_channel",
    # Sec. IV B-D
    "gamma_eq10", "nc_eq10", "nc_eq11", "gamma2_eq11", "gamma2_eq12", "fock_order_Nc", "gamma1_eq14_rate",
    "gamma_n_order", "gamma1_eq15_rate", "gamma1_eq16_rate", "gamma1_eq17_rate", "gamma1_eq15", "gamma1_eq16",
    "gamma1_eq17", "eq17_prefactor",
    # Sec. IV E
    "FixedPoint", "solve_selfconsistent", "iterate_selfconsistent", "gamma2_eq18", "gamma2_eq19_printed",
    "ell_eq19_corrected", "gamma1_eq19_corrected", "gamma2_eq19_corrected", "gamma2_eq20_printed",
    "gamma2_eq20_corrected", "gamma1_eq20_corrected", "validity",
    # Appendix A
    "gamma_n_gaussian", "nhat_d_a2_printed", "nhat_d_a2_corrected", "gamma_n_lorentzian", "exp_a4", "nhat_a5",
    "argmax_bruteforce",
    # Appendix B
    "coupling_profile", "rule_f", "ChainResult", "solve_chain", "chain_is_metallic", "critical_coupling",
    "fit_power_law", "bulk_gamma2",
    # per-configuration predictions (docs/meanfield.md)
    "transition_count", "gamma2_eq12_config", "gamma2_rule_sum",
]

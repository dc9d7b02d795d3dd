"""How much search the partitioner may do: counted bounds, never wall time.

Every search in the partitioner (placement refinement, teleportation sweeps, the layered
beam, the third-QPU integer program, the comm-aware reordering) is bounded by counts
fixed here, so a plan compiles in bounded time and is the same on every machine. Each
search keeps the best plan it has found when its bound is reached. :class:`Work`
records what was spent, so tests can check every bound is honoured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from qorch.contract.errors import PlanError

EFFORTS = ("fast", "default", "thorough")


@dataclass(frozen=True)
class Effort:
    """Bounds on the partitioner's searches (see the module docstring)."""

    name: str
    refine_evaluations: int  # exact cost evaluations in the placement local search
    refine_width: int  # candidate moves/swaps weighed per round of that search
    refine_gate_evaluations: int  # evaluations × two-qubit gates: big circuits get fewer
    teleport_sweeps: int  # teleportation sweeps tried (settings of teleport.SETTINGS)
    teleport_gates: int  # cross gates weighed by one sweep; later ones are left to cats
    teleport_window_gates: int  # gates in the sweeps' exact windows, all sweeps of one
    # capacity level together (the spare levels' moves into free slots need their own):
    # QV-64 on 8 QPUs weighed ~9 M (~150 s) unbounded; QV-32 on 4 QPUs weighs 0.7 M (~8 s)
    layered_beam: int  # placements kept per layer by the layered two-QPU planner
    layered_options: int  # block-side choices per placement and layer
    layered_steps: int  # placements × layers in all: deep circuits get a narrower beam
    layered_cells: int  # side choices × qubits weighed by one layered two-QPU search in all:
    # unbounded, 1536 choices per placement and layer took 14 s at 128 qubits on 2 QPUs;
    # 500 M take ~2 s there (3.7 M choices)
    milp_nodes: int  # branch-and-bound nodes of the third-QPU integer program
    milp_variables: int  # larger instances skip it; their gates run on their own QPUs.
    # HiGHS's root LP is the cost, not its nodes: QFT-96 on 4 QPUs, 14 256 variables, ~6 s;
    # QFT-64 on 8, 15 120 variables, ~150 s (measured on a loaded 2-core machine)
    reorder_ops: int  # circuits with more ops are not reordered for comm reuse
    capacity_levels: int  # searches also at the tight sizes + 0, 1, ... spare (see partition)
    fitted_variables: int  # the third-QPU program with comm-qubit rows, up to this size: its
    # root LP alone takes seconds (QFT-16 on 4 QPUs, 3 comm qubits: 912 variables, ~4 s)


_EFFORTS = {
    "fast": Effort(
        "fast", refine_evaluations=60, refine_width=32,
        refine_gate_evaluations=500_000, teleport_sweeps=1,
        teleport_gates=1_000, teleport_window_gates=150_000,
        layered_beam=8, layered_options=128, layered_steps=500, layered_cells=20_000_000,
        milp_nodes=200, milp_variables=4_000, reorder_ops=10_000, capacity_levels=1,
        fitted_variables=0,
    ),
    "default": Effort(
        "default", refine_evaluations=400, refine_width=256,
        refine_gate_evaluations=3_000_000, teleport_sweeps=5,
        teleport_gates=3_000, teleport_window_gates=1_000_000,
        layered_beam=48, layered_options=1536, layered_steps=4_000,
        layered_cells=500_000_000,
        milp_nodes=2_000, milp_variables=15_000, reorder_ops=20_000, capacity_levels=2,
        fitted_variables=1_000,
    ),
    "thorough": Effort(
        "thorough", refine_evaluations=4_000, refine_width=1024,
        refine_gate_evaluations=40_000_000, teleport_sweeps=5,
        teleport_gates=30_000, teleport_window_gates=10_000_000,
        layered_beam=96, layered_options=4096, layered_steps=40_000,
        layered_cells=5_000_000_000,
        milp_nodes=20_000, milp_variables=40_000, reorder_ops=1_000_000, capacity_levels=3,
        fitted_variables=4_000,
    ),
}  # fmt: skip


def effort_named(name: str) -> Effort:
    """The bounds for ``fast``, ``default`` or ``thorough``; PlanError otherwise."""
    try:
        return _EFFORTS[name]
    except KeyError:
        raise PlanError(f"unknown effort '{name}'; choose one of {', '.join(EFFORTS)}") from None


@dataclass
class Work:
    """Counts of the work each search did (``refine_evaluations``, ``milp_nodes``, ...)."""

    spent: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, amount: int = 1) -> None:
        """Record ``amount`` units of ``what``."""
        self.spent[what] += amount

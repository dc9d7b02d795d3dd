"""Limits on what qorch reads from plans and circuit files, with the reason for each.

Every limit sits far above what a real plan or circuit needs and far below what
would make loading slow, exhaust memory or crash a parser; crossing one is a
one-line, located error. Pure constants: no imports, usable from any layer.
The README lists them ("Limits").
"""

from __future__ import annotations

# --- plan files (YAML) ----------------------------------------------------------------

# 1 MiB. Real plans are a few KB (the examples are < 4 KB). libyaml turns 1 MiB
# into events in about 0.5 s; a 50 MB plan took a minute and is refused unread.
MAX_PLAN_BYTES = 1 << 20

# Values (scalars, lists, mappings) after YAML aliases are expanded. A plan with
# 1000 circuits has ~5000; 9 levels of 9 aliases ("billion laughs") would be 387
# million. Counting stops at the limit, so an alias bomb is refused in milliseconds.
MAX_PLAN_VALUES = 50_000

# Nesting of lists and mappings. The plan format needs 5 levels; the bound keeps
# the loader's recursion far below Python's (about 1000 frames).
MAX_PLAN_DEPTH = 32

# Problems listed by ``qorch validate`` for one plan; the rest are counted.
MAX_LISTED_ISSUES = 100

# --- circuit files (OpenQASM) -------------------------------------------------------------

# 10 MiB for an OpenQASM 2 file and each file it includes: about 700k gates, which
# qiskit's Rust parser reads in about 5 s into about 70 MB.
MAX_QASM_BYTES = 10 << 20

# 1 MiB for OpenQASM 3: qiskit's importer (ANTLR, pure Python) takes about 0.7 ms and
# 10 KB of memory per statement, so 1 MiB (about 70k statements) is about a minute
# and 700 MB. A circuit of 10k gates is about 150 KB.
MAX_QASM3_BYTES = 1 << 20

# Qubits (all quantum registers and physical qubits $n together) and classical bits
# of one circuit: 60 times the largest device today (IBM Heron, 156 qubits), yet far
# below what the parsers allocate for: ``qreg q[100000000]`` aborts the interpreter.
MAX_QASM_QUBITS = 10_000
MAX_GENERATOR_QUBITS = 256
"""Largest circuit a built-in generator writes: the distributed benchmarks' 256-qubit QFT."""
MAX_QASM_CLBITS = 10_000

# Instructions after register broadcast (``h q;`` on a 10k register is 10k gates):
# above what a 10 MiB file of explicit gates holds, so only broadcast bombs meet it.
MAX_QASM_INSTRUCTIONS = 1_000_000

# Brackets nested inside one another in OpenQASM 3: 20k nested parentheses kept
# qiskit's importer busy for minutes; real circuits nest fewer than 10.
MAX_QASM_NESTING = 64

# Characters in one OpenQASM 3 statement (between ';', '{' and '}'): a 40 KB
# expression took the importer 4 s to fail with a RecursionError.
MAX_QASM3_STATEMENT_CHARS = 10_000

# Files reached through OpenQASM 2 ``include`` (besides qelib1.inc), in all.
MAX_QASM_INCLUDES = 16

# --- values in plans ------------------------------------------------------------------------

# Seeds go to numpy and scikit-learn, whose ``random_state`` must be below 2**32.
MAX_SEED = 2**32 - 1

# Seeds of one QCNN sweep: 1000 trainings per configuration is far past any
# statistics a sweep reports (mean and std over seeds).
MAX_SWEEP_SEEDS = 1_000

# Training tasks of a sweep (ansatz × encoding × loss × optimiser × seeds): 10k
# trainings of the reference model is about an hour on 2 cores.
MAX_SWEEP_TASKS = 10_000

# Jobs of a circuits plan (circuits × targets): each is a provider job with its
# own payload file; 10k is beyond any queue a provider accepts in one go.
MAX_JOBS = 10_000

# Items in any list of a plan (circuits, targets, nodes, links, observables, angles…).
MAX_LIST_ITEMS = 10_000

# Samples, batch sizes and other counts of things held in memory at once.
MAX_SAMPLES = 10_000_000

# Steps, checkpoints and patience of training loops.
MAX_STEPS = 1_000_000

# Seconds a provider may run one job (IBM max_execution_time): a week.
MAX_EXECUTION_TIME_S = 7 * 24 * 3600

# Parallel workers of a sweep.
MAX_WORKERS = 1024

# The default confidence level of metric intervals and of checks (plan_base reads it
# without importing the numeric code of qorch.engine.stats, which needs numpy).
DEFAULT_LEVEL = 0.95

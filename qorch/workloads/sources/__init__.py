"""Circuit sources any plan kind may use: generator and OpenQASM-file specs, the built-in
generators, and building a spec into a measured circuit with errors located in the plan.

Shared by the ``circuits`` and ``distributed`` kinds (which stay independent of each
other); not a plan kind itself.
"""

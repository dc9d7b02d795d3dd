"""The ``circuits`` plan kind: circuits from OpenQASM files or generators on many targets."""

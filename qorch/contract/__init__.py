"""The provider contract: the only part of qorch a provider plugin imports.

``provider`` (the Provider ABC, devices, payloads, job requests, handles and
statuses), ``errors`` (the one exception hierarchy and the exit codes) and
``payload`` (helpers for translating circuits). This layer imports nothing
else from qorch. The conformance suite every plugin runs is ``qorch.testing``.
"""

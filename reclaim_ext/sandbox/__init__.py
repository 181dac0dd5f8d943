"""The sandbox a user policy runs in, in three parts, as BPF has them:

- ``verifier``: before a policy loads, an allowlist check of its syntax
  tree, its names and attributes, its call graph (no recursion) and a
  worst-case cost bound, then RestrictedPython's compile with a back-edge
  counter and guarded arithmetic woven in;
- ``runtime``: the guards that compiled code calls, the checked context
  (helpers that refuse bad arguments), and the plugin that wraps each hook
  (budget, deadline, answer checks, faults with the policy's own line);
- ``maps``: the only state that outlives a call, sized up front, returning
  error codes instead of raising.

``surface`` is the table of what a policy may touch; both halves read it.
The core (simulator/ejection.py) ejects a policy whose hook faults.
"""

"""rejected@10: recursion: deeper -> deeper

Direct recursion: unbounded depth, and a cost the verifier cannot sum.
BPF's call graph is acyclic; so is a policy's.
"""
INTERFACE_VERSION = (1, 1)


def deeper(n):
    return deeper(n + 1)


def policy_init(ctx):
    deeper(0)


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

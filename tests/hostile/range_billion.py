"""rejected@17: more than the limit of 1,000,000

A loop with a bound the verifier can see, but a billion iterations: over
BPF's million instructions (the error names the hook and the loop).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    n = 0
    for i in range(10 ** 9):
        n += 1
    return []

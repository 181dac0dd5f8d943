"""rejected@10: f-strings are not allowed

An f-string's format spec is computed and applied in C: f"{0:>{10**9}}"
pads to a gigabyte with no guard on the width.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    ctx.trace(f"{0:>{10 ** 9}}")


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

"""rejected@10: attribute '_core' begins with an underscore

The SandboxContext wraps the core's own context (ctx._core) and through it
the machine (._m): every array and list of the simulator, unchecked.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = ctx._core._m
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

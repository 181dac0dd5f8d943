"""rejected@9: 'vars' is not available

vars() is an object's __dict__: the SandboxContext's, holding the core.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = vars(ctx)
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

"""rejected@9: 'exec' is not available

exec() runs statements the verifier never saw.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = exec("import os")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

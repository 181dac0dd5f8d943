"""rejected@9: 'eval' is not available

eval() runs a string the verifier never saw.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = eval("ctx._core")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

"""rejected@9: 'compile' is not available

compile() makes a code object from a string the verifier never saw.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = compile("import os", "x", "exec")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

"""rejected@14: attribute 'gi_code'

A generator's code object (co_consts, co_names, replace()) lets a policy
build and inspect code the verifier never saw.
"""
INTERFACE_VERSION = (1, 1)


def frames():
    yield 1


def policy_init(ctx):
    code = frames().gi_code
    ctx.trace(str(code.co_consts))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

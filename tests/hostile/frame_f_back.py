"""rejected@10: attribute 'f_back'

The one-line form of the frame walk: a generator expression's frame, then
f_back up the stack into the sandbox (GHSA-wqc8-x2pr-7jqh).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    runtime = (x for x in ()).gi_frame.f_back.f_back
    ctx.trace(str(runtime))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

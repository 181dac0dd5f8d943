"""rejected@15: attribute 'f_globals'

A frame's f_globals is the module namespace of the code it runs: from the
sandbox's frames, its real __builtins__ with __import__ (GHSA-wqc8-x2pr-7jqh).
"""
INTERFACE_VERSION = (1, 1)


def frames():
    yield 1


def policy_init(ctx):
    frame = frames().gi_frame
    namespace = frame.f_globals
    ctx.trace(str(namespace["__builtins__"]))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

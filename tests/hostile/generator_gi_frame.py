"""rejected@16: attribute 'gi_frame'

A generator's frame leads to its caller's frame and from there to the
globals and builtins of the sandbox's own code: RestrictedPython advisory
GHSA-wqc8-x2pr-7jqh (CVE-2023-37271), simpleeval issue #138.
"""
INTERFACE_VERSION = (1, 1)


def frames():
    yield 1


def policy_init(ctx):
    gen = frames()
    caller = gen.gi_frame.f_back
    ctx.trace(str(caller))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

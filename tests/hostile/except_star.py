"""rejected@11: try/except* is not allowed

except* wraps what it catches in an ExceptionGroup the transformer did not
expect, a type confusion that bypassed RestrictedPython's guards (advisory
GHSA-gmj9-h825-chq2, CVE-2025-22153).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    try:
        x = 1 // 0
    except* ZeroDivisionError as group:
        ctx.trace(str(group.exceptions))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []

"""rejected@38: dict keys in a policy are constants

A tuple nested 10,000 deep (one tuple display a loop iteration) used as a
dict key: CPython hashes it recursively in C with no recursion check. At
200,000 deep, well within the loop budget, the hash overflows the C stack
and the whole simulator dies of SIGSEGV; 10,000 here is safe to run.
Refused by the verifier now: a dict display's keys are constants. Were it
to verify, the nesting itself is ejected at its first level at run time
(deep_tuple_built).
"""
INTERFACE_VERSION = (1, 1)
LISTS = ArrayMap(128)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), 64)):
        for lru_type in LRU_TYPES:
            LISTS.update(ctx.lruvecs[i] * 2 + lru_type, ctx.list_create(ctx.lruvecs[i], lru_type, False, "fifo"))


def folio_added(ctx, folios):
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for key in range(min(len(ctx.lruvecs), 64) * 2):
        ctx.list_add(LISTS.lookup(key), folios[keys == key])


def select_victims(ctx, request):
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
DONE = ArrayMap(1)


def folio_accessed(ctx, folios):
    if DONE.lookup(0) == 0:
        DONE.update(0, 1)
        key = ()
        for i in range(10000):
            key = (key,)
        seen = {key: 1}

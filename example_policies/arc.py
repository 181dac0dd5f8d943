"""ARC: an adaptive split between recency and frequency, tuned by ghosts.

Megiddo and Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache"
(FAST'03), as libCacheSim's ARC.c (0.3.5) implements it, whose miss counts
it matches in exact cache mode (tests/test_example_arc.py). Per lruvec and
type: T1 holds folios used once since they came in, T2 folios used again
(both resident, most recent at the head); the ghost lists B1 and B2 remember
what left T1 and T2. c is the node's memory, ctx.node_pages (in exact cache
mode, the cache's size). p is T1's target size: a refault from B1 says T1
was too small and raises it, one from B2 lowers it, by the ratio of the
ghost lists' sizes. Reclaim evicts from T1 while it is above p (REPLACE),
else from T2, and trims the ghost lists so that T1+B1 stays within c and
all four within 2c.

As libCacheSim, unlike the paper: p is a float, the ratios are not
rounded, and REPLACE compares |T1| with p by exact equality; when T2 is
empty REPLACE takes T1 even if |T1| <= p (the paper leaves p = c with T2
empty undefined); case IV.A tests |B1| > 0 where the paper tests |T1| < c
(the same for pages). As the paper, when T1 alone holds all c pages and B1
is empty, T1's oldest leaves with no ghost.

Exact cache mode calls on_refault before the eviction a miss causes, with
the folio already off its ghost list: the ratio counts it back in (ARC
adapts p before it leaves B1 or B2), the ghost it came from steers that
one REPLACE (PENDING), and folio_added puts it on T2.

In the full machine, beyond ARC:
- a young PTE (ctx.folio_referenced) on a folio reclaim picks is a hit the
  kernel never saw: the folio goes to the head of T2 instead of out. The
  machine sets the bit for the access that faults a page in, as hardware
  does, so the first young PTE a T1 folio shows only earns it another
  round in T1 (the kernel's PG_referenced rule for mapped file pages);
- the machine also reports the read() or write() that brings a page in to
  folio_accessed, which cannot be told from a hit: such a page goes
  straight to T2 (in exact cache mode only hits reach folio_accessed);
- select_victims runs ARC's evictions on the lists' sizes for up to
  nr_to_scan folios, then looks at the folios they name; the ghost lists
  are trimmed before the call's own victims join them, so a large batch
  may leave them longer than ARC would until later evictions trim them;
- a refault's eviction came before it (the allocation reclaimed), so no
  REPLACE sees a ghost hit; a batch of refaults adapts p once per folio,
  each counted back into a ghost list the whole batch has already left,
  and a ghost hit adapts the p of the lruvec that remembered the folio;
- folios reclaim could not free go back to the head of the list they came
  from, or to its tail when their writeback ends, to be freed next.

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback, folio_evicted, on_refault. Helpers: list_create,
ghost_list_create, list_add, list_del, list_len, list_peek, node_pages,
lruvec_node, folio_lruvec, folio_type, folio_flags, folio_set_flags,
folio_clear_flags, folio_referenced.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
SCAN_BATCH = 1024  # the most folios one select_victims call looks at

# the lists of each (lruvec, type), in this order in LISTS
T1 = 0
T2 = 1
B1 = 2
B2 = 3

IN_T2 = PG_policy0  # the folio is on T2 (or goes there: a ghost hit), else T1
NO_GHOST = PG_policy1  # this victim leaves no ghost (T1 held all c pages, B1 empty)
YOUNG_BEFORE = PG_policy2  # a T1 folio that had a young PTE when reclaim last looked

# which ghost list the folio being brought in was found on, until folio_added
# places it: the REPLACE of the eviction its miss causes needs to know
NO_GHOST_HIT = 0
FROM_B1 = 1
FROM_B2 = 2

# keyed lruvec * 2 + type: T1, T2, B1, B2, a list to gather victims from
# both T1 and T2 into one answer, and c
LISTS = ArrayMap(MAX_LRUVECS * 2)
P = ArrayMap(MAX_LRUVECS * 2)  # T1's target size, a float
GHOSTS = HashMap(MAX_LRUVECS * 2 * 2)  # ghost list -> its key * 2 + (1 for B2, 0 for B1)
PENDING = ArrayMap(1)  # NO_GHOST_HIT, FROM_B1 or FROM_B2


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        c = ctx.node_pages(ctx.lruvec_node(lruvec))
        for lru_type in LRU_TYPES:
            key = lruvec * 2 + lru_type
            t1 = ctx.list_create(lruvec, lru_type, False, "arc_t1")
            t2 = ctx.list_create(lruvec, lru_type, True, "arc_t2")
            b1 = ctx.ghost_list_create(lruvec, lru_type, "arc_b1")
            b2 = ctx.ghost_list_create(lruvec, lru_type, "arc_b2")
            gather = ctx.list_create(lruvec, lru_type, False, "arc_victims")
            LISTS.update(key, (t1, t2, b1, b2, gather, c))
            GHOSTS.update(b1, key * 2)
            GHOSTS.update(b2, key * 2 + 1)
            P.update(key, 0.0)


def place(ctx, folios, which, tail):
    """Each folio to the head (or the tail) of list `which` (T1, T2, B1 or
    B2, one for all or one per folio) of its lruvec and type; in one call
    when the batch is all of one list, as it almost always is."""
    if len(folios) == 0:
        return
    slots = (ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)) * 4 + which
    if len(folios[slots != slots[0]]) == 0:
        ctx.list_add(LISTS.lookup(slots[0] // 4)[slots[0] % 4], folios, tail)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            lists = LISTS.lookup(key)
            for slot in range(4):
                ctx.list_add(lists[slot], folios[slots == key * 4 + slot], tail)


def on_t2(flags):
    """Per folio 1 if it is marked IN_T2, else 0: added to T1 it names the
    folio's resident list, added to B1 its ghost list."""
    return (flags & IN_T2) != 0


def promote(ctx, folios):
    """A hit: to the head of T2, in the order of use."""
    ctx.folio_set_flags(folios, IN_T2)
    place(ctx, folios, T2, False)


def folio_added(ctx, folios):
    place(ctx, folios, T1 + on_t2(ctx.folio_flags(folios)), False)
    PENDING.update(0, NO_GHOST_HIT)


def folio_accessed(ctx, folios):
    promote(ctx, folios)


def on_refault(ctx, folios, refault):
    """A ghost hit: adapt p, with the folio counted back on the ghost list
    it was found on, and send the folio to T2."""
    hit = refault.ghost >= 0
    ctx.folio_set_flags(folios[hit], IN_T2)
    for i in range(len(folios)):
        owner = GHOSTS.lookup(refault.ghost[i])
        if owner is None:
            continue
        key = owner // 2
        t1_list, t2_list, b1_list, b2_list, gather_list, c = LISTS.lookup(key)
        b1, b2 = ctx.list_len(b1_list), ctx.list_len(b2_list)
        if owner % 2 == 0:
            P.update(key, min(P.lookup(key) + max(b2 / (b1 + 1), 1.0), float(c)))
            PENDING.update(0, FROM_B1)
        else:
            P.update(key, max(P.lookup(key) - max(b1 / (b2 + 1), 1.0), 0.0))
            PENDING.update(0, FROM_B2)
    return hit * REFAULT_ACTIVATE


def replace_takes_t1(t1, t2, p, from_b2):
    """ARC's REPLACE: T1's oldest goes when T1 is above p (or at p, after a
    hit in B2), or when T2 is empty; else T2's oldest."""
    return (t1 > 0 and (t1 > p or (t1 == p and from_b2))) or t2 == 0


def replacements(t1, t2, b1, b2, c, p, ghost_hit, n):
    """ARC's evictions, n of them (fewer if T1 and T2 run out), on the
    lists' sizes: how many leave T1 and T2, how many ghosts are trimmed
    from B1 and B2, and whether the first from T1 leaves no ghost."""
    from_t1 = from_t2 = trim_b1 = trim_b2 = 0
    no_ghost = False
    for i in range(n):
        if t1 + t2 == 0:
            break
        if ghost_hit != NO_GHOST_HIT:
            takes_t1 = replace_takes_t1(t1, t2, p, ghost_hit == FROM_B2)
        elif t1 + b1 + 1 > c:  # case IV.A: T1 and B1 hold c pages
            if b1 == 0:
                # T1 holds all c pages (T2 none): only a call's first eviction
                no_ghost = True
                from_t1 += 1
                t1 -= 1
                continue
            trim_b1 += 1
            b1 -= 1
            takes_t1 = replace_takes_t1(t1, t2, p, False)
        else:  # case IV.B
            if t1 + b1 + t2 + b2 >= 2 * c and b2 > 0:
                trim_b2 += 1
                b2 -= 1
            takes_t1 = replace_takes_t1(t1, t2, p, False)
        if takes_t1:
            from_t1 += 1
            t1 -= 1
            b1 += 1
        else:
            from_t2 += 1
            t2 -= 1
            b2 += 1
    return from_t1, from_t2, trim_b1, trim_b2, no_ghost


def unused(ctx, t1_list, folios):
    """The folios without a young PTE. A young PTE is a hit the kernel never
    saw: the folio goes to the head of T2, except that the first a T1 folio
    shows may be the access that faulted it in, which earns it only another
    round in T1."""
    if len(folios) == 0:
        return folios
    young = ctx.folio_referenced(folios) > 0
    if len(folios[young]):
        used = folios[young]
        first = (ctx.folio_flags(used) & (IN_T2 | YOUNG_BEFORE)) == 0
        ctx.folio_set_flags(used[first], YOUNG_BEFORE)
        ctx.list_add(t1_list, used[first])
        promote(ctx, used[~first])
    return folios[~young]


def select_victims(ctx, request):
    key = request.lruvec * 2 + request.lru_type
    t1_list, t2_list, b1_list, b2_list, gather_list, c = LISTS.lookup(key)
    from_t1, from_t2, trim_b1, trim_b2, no_ghost = replacements(
        ctx.list_len(t1_list), ctx.list_len(t2_list), ctx.list_len(b1_list), ctx.list_len(b2_list),
        c, P.lookup(key), PENDING.lookup(0), min(request.nr_to_scan, SCAN_BATCH))
    if trim_b1:
        ctx.list_del(ctx.list_peek(b1_list, trim_b1))
    if trim_b2:
        ctx.list_del(ctx.list_peek(b2_list, trim_b2))
    scanned = from_t1 + from_t2
    t1_victims = unused(ctx, t1_list, ctx.list_peek(t1_list, from_t1))
    t2_victims = unused(ctx, t1_list, ctx.list_peek(t2_list, from_t2))
    if no_ghost:
        ctx.folio_set_flags(t1_victims[:1], NO_GHOST)
    if len(t2_victims) == 0:
        return Victims(t1_victims, scanned)
    if len(t1_victims) == 0:
        return Victims(t2_victims, scanned)
    # one answer from two lists: gathered on a list of the policy's own (the
    # kernel's isolate_lru_folios gathers its batch on a private list too)
    ctx.list_add(gather_list, t1_victims)
    ctx.list_add(gather_list, t2_victims)
    return Victims(ctx.list_peek(gather_list, scanned), scanned)


def folio_evicted(ctx, folios):
    """T1's victims are remembered on B1, T2's on B2."""
    flags = ctx.folio_flags(folios)
    remembered = (flags & NO_GHOST) == 0
    place(ctx, folios[remembered], B1 + on_t2(flags[remembered]), False)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free keeps its list, at the head; a folio
    whose writeback ended goes to the tail, to be freed next."""
    ctx.folio_clear_flags(folios, NO_GHOST)
    which = T1 + on_t2(ctx.folio_flags(folios))
    rotate = reasons == PutbackReason.ROTATE
    place(ctx, folios[~rotate], which[~rotate], False)
    place(ctx, folios[rotate], which[rotate], True)

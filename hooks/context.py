"""The context a policy is handed: its helpers ("kfuncs") on folio ids.

A policy never holds an object of the core. It asks the context about folios
by id, keeps its ordering in lists the core stores for it (cache_ext's
eviction lists), and reads the hardware accessed bit through an rmap helper
that charges its cost. Every helper that takes `folios` accepts one int or a
numpy array of ints and answers in kind.

This is a Protocol: the simulator implements it (simulator/context.py); the
sandbox wraps it for untrusted policies. Adding a helper is an interface
change: document it here and bump hooks.INTERFACE_VERSION.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

FolioIds = int | np.ndarray


class Context(Protocol):
    # ------------------------------------------------------------------
    # The machine
    # ------------------------------------------------------------------
    nr_nodes: int
    lruvecs: tuple[int, ...]
    """The lruvecs this policy serves: one per (memcg, node), all of them
    unless the policy is attached to a memcg (see policy_init)."""

    def lruvec_node(self, lruvec: int) -> int:
        """The node an lruvec belongs to."""

    def lruvec_memcg(self, lruvec: int) -> int:
        """The memcg an lruvec belongs to: 0 for the root, then the
        scenario's cgroups in the order declared. Since: 1.3."""

    def memcg_path(self, memcg: int) -> str:
        """A memcg's path below the root, as cgroupfs names it: "" for the
        root, "web/db". Since: 1.3."""

    def node_pages(self, nid: int) -> int:
        """The pages of memory a node has (in exact cache mode: the cache's
        size). Since: 1.2."""

    def now(self) -> int:
        """The virtual clock in nanoseconds."""

    def sysctl(self, name: str) -> int:
        """A tunable of the simulated kernel: "vm.swappiness",
        "vm.watermark_scale_factor", "lru_gen.min_ttl_ms". Since: 1.1."""

    def random(self) -> float:
        """A deterministic pseudo-random number in [0, 1)."""

    def trace(self, message: str) -> None:
        """bpf_printk: a line in the event stream, with the time and policy."""

    # ------------------------------------------------------------------
    # Folio facts
    # ------------------------------------------------------------------
    def folio_type(self, folios: FolioIds) -> FolioIds:
        """LRU_ANON or LRU_FILE (the kernel's !folio_is_file_lru)."""

    def folio_lruvec(self, folios: FolioIds) -> FolioIds:
        """The lruvec a resident folio is charged to; -1 if not resident."""

    def folio_flags(self, folios: FolioIds) -> FolioIds:
        """The PG_* flags of hooks.types (core bits low, policy bits high)."""

    def folio_set_flags(self, folios: FolioIds, mask: int) -> None:
        """Set bits of POLICY_WRITABLE_FLAGS; other bits are refused."""

    def folio_clear_flags(self, folios: FolioIds, mask: int) -> None:
        """Clear bits of POLICY_WRITABLE_FLAGS; other bits are refused."""

    def folio_data(self, folios: FolioIds) -> FolioIds:
        """The policy's own integer per folio (MGLRU keeps gen and refs)."""

    def folio_set_data(self, folios: FolioIds, value: FolioIds) -> None:
        """Store the policy's integer per folio."""

    def folio_mapcount(self, folios: FolioIds) -> FolioIds:
        """How many processes map the folio (0 for unmapped page cache)."""

    # ------------------------------------------------------------------
    # The rmap: accessed bits in page tables
    # ------------------------------------------------------------------
    def folio_referenced(self, folios: FolioIds) -> FolioIds:
        """folio_referenced(): the number of young PTEs mapping each folio,
        clearing them. Costs virtual time per folio, as the rmap walk does."""

    def walk_mm(self, lruvec: int, types: tuple[int, ...] = (0, 1)) -> np.ndarray:
        """MGLRU's page-table walk (walk_mm over the memcg's mm_list): every
        resident folio of the given types on this lruvec that a process maps
        with a young PTE, in address order, its accessed bits cleared. Costs
        virtual time per PTE walked (every mapped folio of the lruvec).
        Since: 1.1."""

    def look_around(self, folios: FolioIds) -> np.ndarray:
        """lru_gen_look_around(): the young folios among the page-table
        neighbours of each folio (its block of MIN_LRU_BATCH=64 pages) on
        the lruvec of the first, their accessed bits cleared; costs time per
        PTE looked at. Since: 1.1."""

    # ------------------------------------------------------------------
    # Lists stored by the core, owned by the policy
    # ------------------------------------------------------------------
    def list_create(self, lruvec: int, lru_type: int, active: bool, name: str) -> int:
        """A new empty list of folios of one type on one lruvec. `active` says
        whether its folios count as NR_ACTIVE_* (workingset sizes and the
        vmstat gauges are derived from it)."""

    def list_set_active(self, lst: int, active: bool) -> None:
        """Change whether a list counts as active (MGLRU's generations)."""

    def ghost_list_create(self, lruvec: int, lru_type: int, name: str) -> int:
        """A new empty ghost list: an ordered list of folios that have left
        memory, whose shadow entries the core keeps (ARC's B1 and B2,
        2Q's A1out, S3-FIFO's G). It takes folios on no resident list: those
        folio_evicted() is handed, or folios out of memory. The list helpers
        work on it as on any list; its folios count in no lruvec size. A
        folio that comes back into memory is taken off its ghost list before
        on_refault(), which learns the list in ``refault.ghost``; trimming
        the list (list_peek from the tail, list_del) is the policy's job.
        Since: 1.2."""

    def list_add(self, lst: int, folios: FolioIds, tail: bool = False) -> None:
        """Add folios, one after another, at the head (or the tail). A folio
        on another list is moved; a folio named twice ends where its last
        occurrence puts it (since 1.2). Folios of another lruvec or type are
        refused, and resident folios on a ghost list."""

    def list_del(self, folios: FolioIds) -> None:
        """Take folios off whatever list they are on."""

    def list_len(self, lst: int) -> int:
        """The number of folios on the list."""

    def list_peek(self, lst: int, n: int, tail: bool = True) -> np.ndarray:
        """Up to n folios from the tail (the oldest) or the head, in that order."""

    def folio_list(self, folios: FolioIds) -> FolioIds:
        """The list a folio is on, -1 if none."""

    # ------------------------------------------------------------------
    # Accounting the core cannot see
    # ------------------------------------------------------------------
    def count_event(self, name: str, lruvec: int, nr: int) -> None:
        """Count a vmstat event that a policy decision causes: "pgactivate",
        "pgdeactivate", "pgrotated", and (since 1.1) "pgrefill" for folios a
        policy sorts during eviction (MGLRU's sort_folio). Each folio counted
        as pgrefill costs reclaim a scan (costs.scan), as one isolated does."""

    def workingset_age_nonresident(self, lruvec: int, nr: int) -> None:
        """Advance the lruvec's nonresident_age clock (workingset.c), as the
        kernel does on activations."""

    def wakeup_flusher_threads(self) -> None:
        """Wake the flushers to write back every dirty file folio
        (wakeup_flusher_threads(WB_REASON_VMSCAN)). The core does so itself
        when every victim a batch gave it was dirty and not under writeback
        (shrink_inactive_list); a policy that keeps dirty folios on its
        lists instead of giving them up (MGLRU's sort_folio) cannot be seen
        doing so and calls this when all it looked at was dirty, or a memcg
        full of dirty page cache goes OOM while the flushers sleep. Since: 1.4."""

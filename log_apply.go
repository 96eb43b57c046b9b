package raft

import (
	pb "github.com/quorate/raft/raftpb"
)

// applyTracker follows the committed entries on their way to the
// application: how far they were handed out (in CommittedEntries or a
// MsgStorageApply), how far the application confirmed applying them, and
// the size of what is out, which Config.MaxCommittedSizePerReady bounds
// (settings.maxApplying).
//
// Invariant: applied <= applying; outSize is the size of the entries in
// (applied, applying] as reported by the callers (but for the last batch
// while unsized is set), and 0 when applied == applying.
type applyTracker struct {
	// applying is the highest index handed out for applying.
	applying uint64
	// applied is the highest index the application confirmed applied.
	applied uint64
	// outSize is the size of the entries handed out and not yet applied.
	outSize entryEncodingSize
	// paused is set while nothing more may be handed out until the
	// application confirms applying some: the size bound is reached, or the
	// last batch was cut short by it.
	paused bool
	// unsized is set while outSize lacks the size of the last batch handed
	// out (see acceptApplyingUnsized), which its holder adds with
	// sizeApplying before anything reads outSize, unless the batch is
	// applied whole first, which drops its size unread. NB: a bool in the
	// padding after paused, where it takes no room.
	unsized bool
}

// full reports whether what is out has reached the size bound max. NB:
// with nothing out there is nothing to wait for, even when the bound is 0.
func (a *applyTracker) full(max entryEncodingSize) bool {
	return a.outSize != 0 && a.outSize >= max
}

// appliedTo records that the application applied the entries up to index i,
// whose total size (of those newly confirmed) is size, releasing that much
// of the applying size budget; once everything handed out is applied, the
// whole budget is free again. It panics if i is below the applied index or
// above the commit index.
func (l *raftLog) appliedTo(i uint64, size entryEncodingSize) {
	a := &l.apply
	if i < a.applied || i > l.commitIdx {
		invariantBroken("applied index %d out of range [%d, %d] (applied, committed)", i, a.applied, l.commitIdx)
	}
	a.applied = i
	if i >= a.applying {
		a.applying = i
		a.outSize, a.unsized = 0, false
	} else {
		if a.unsized {
			invariantBroken("applied index %d confirmed below %d with the last batch unsized", i, a.applying)
		}
		a.outSize -= min(size, a.outSize)
	}
	a.paused = a.full(l.cfg.maxApplying)
}

// applyPaused reports whether handing out committed entries waits for the
// application to confirm applying some.
func (l *raftLog) applyPaused() bool { return l.apply.paused }

// appliedSize returns the size argument of appliedTo for ents, the entries
// the application confirms applying (up to their last index): their size,
// unless they reach everything handed out, which frees the whole budget
// without it, so that the common confirmation costs no sizing.
func (l *raftLog) appliedSize(ents []pb.Entry) entryEncodingSize {
	if len(ents) == 0 || ents[len(ents)-1].Index >= l.apply.applying {
		return 0
	}
	return entsSize(ents)
}

// acceptApplying records that the committed entries up to index i, of total
// size `size`, were handed to the application (as returned by
// nextCommittedEnts with the same allowUnstable). Handing out more pauses
// when the size bound is reached, or when this batch stopped short of what
// could be applied, which means the bound cut it: the next batch then waits
// for appliedTo.
func (l *raftLog) acceptApplying(i uint64, size entryEncodingSize, allowUnstable bool, limit uint64) {
	if i > l.commitIdx {
		invariantBroken("applying index %d is past the commit index %d", i, l.commitIdx)
	}
	a := &l.apply
	if a.unsized {
		invariantBroken("handing out entries up to %d with the last batch up to %d unsized", i, a.applying)
	}
	a.applying = i
	a.outSize += size
	a.paused = a.full(l.cfg.maxApplying) || i < l.maxAppliableIndex(allowUnstable, limit)
}

// acceptApplyingUnsized is acceptApplying for ents, a batch the caller
// holds until the application confirms applying it: their size is left
// out of outSize (unsized) when an upper bound of it shows that the size
// bound is not reached; the caller must then pass the same batch to
// sizeApplying before handing out more. NB: the application most often
// confirms the whole batch first, which makes its size moot; sizing each
// entry costs some 45 instructions, the bound a few.
func (l *raftLog) acceptApplyingUnsized(ents []pb.Entry, allowUnstable bool, limit uint64) {
	a := &l.apply
	var bound entryEncodingSize
	for i := range ents {
		bound += entrySizeBound(&ents[i])
	}
	// NB: unless the batch may fill what is left (or the tracker is in the
	// wrong state, which acceptApplying reports), it is not sized now.
	lazy := !a.unsized && a.outSize < l.cfg.maxApplying && bound < l.cfg.maxApplying-a.outSize
	var size entryEncodingSize
	if !lazy {
		size = entsSize(ents)
	}
	l.acceptApplying(ents[len(ents)-1].Index, size, allowUnstable, limit)
	a.unsized = lazy
}

// sizeApplying adds the size of ents, the batch last passed to
// acceptApplyingUnsized, to what is out, if it was left out.
func (l *raftLog) sizeApplying(ents []pb.Entry) {
	if l.apply.unsized {
		l.apply.sizeBatch(ents)
	}
}

// sizeBatch is sizeApplying once the batch is known unsized. NB: out of
// line, so that sizeApplying, asked before every Ready, inlines.
func (a *applyTracker) sizeBatch(ents []pb.Entry) {
	// NB: paused stays as it is: the bound showed the batch does not reach
	// the size bound.
	a.unsized = false
	a.outSize += entsSize(ents)
}

// maxAppliableIndex returns the highest index that may be handed out for
// applying: committed, at most limit (raft holds entries back past it, see
// exitGate), and, unless allowUnstable, persisted. Applying an entry this
// node has not persisted is safe when it is committed, since a quorum holds
// it, but the application may want to see its own writes first.
func (l *raftLog) maxAppliableIndex(allowUnstable bool, limit uint64) uint64 {
	hi := min(l.commitIdx, limit)
	if allowUnstable {
		return hi
	}
	return min(hi, l.unstable.offset-1)
}

// hasNextCommittedEnts reports whether nextCommittedEnts would return
// entries.
func (l *raftLog) hasNextCommittedEnts(allowUnstable bool, limit uint64) bool {
	// NB: nothing after a pending snapshot can be applied before it.
	if l.apply.paused || l.unstable.snapshot != nil {
		return false
	}
	return l.apply.applying < l.maxAppliableIndex(allowUnstable, limit)
}

// nextCommittedEnts returns the committed entries to hand to the
// application next: from applying+1 to at most maxAppliableIndex, bounded by
// what is left of the applying size budget (but at least one entry). It
// returns nil while a snapshot is pending or while handing out is paused.
func (l *raftLog) nextCommittedEnts(allowUnstable bool, limit uint64) []pb.Entry {
	if !l.hasNextCommittedEnts(allowUnstable, limit) {
		return nil
	}
	return l.readCommittedEnts(allowUnstable, limit)
}

// readCommittedEnts is nextCommittedEnts once hasNextCommittedEnts said
// there are entries to hand out. NB: the Ready builder asks that first,
// inlined, which spares the Readies with nothing to apply (most) a call.
func (l *raftLog) readCommittedEnts(allowUnstable bool, limit uint64) []pb.Entry {
	if l.apply.unsized {
		invariantBroken("handing out entries after %d with that batch unsized", l.apply.applying)
	}
	lo, hi := l.apply.applying+1, l.maxAppliableIndex(allowUnstable, limit)+1
	budget := l.cfg.maxApplying - l.apply.outSize
	if hi <= l.unstable.offset {
		// NB: all of them persisted, as they most often are by the time
		// they commit: read straight from Storage, which spares slice's
		// bounds checks (some 110 instructions a batch; they hold here, as
		// applying >= FirstIndex()-1 and hi-1 <= commit <= lastIndex()).
		// A failed read goes through slice, whose handling of it is the
		// reference.
		if ents, err := l.storage.Entries(lo, hi, uint64(budget)); err == nil && len(ents) != 0 {
			return ents
		}
	}
	ents, err := l.slice(lo, hi, budget)
	if err != nil {
		invariantBroken("reading committed entries [%d, %d): %v", lo, hi, err)
	}
	return ents
}

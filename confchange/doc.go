// Package confchange computes membership transitions of a Raft group: given
// the current configuration and progress map held in a tracker.ProgressTracker
// and a batch of raftpb.ConfChangeSingle, it returns the configuration and
// progress map that result, or an error explaining why the transition is not
// allowed.
//
// # Joint consensus
//
// Changing the voters of a group in one step is unsafe when more than one
// voter changes: for a moment the old and the new majorities could both elect
// a leader for the same term. Raft avoids this in one of two ways (thesis
// 4.1 and 4.3):
//
//   - A simple change adds or removes at most one voter. Any majority of the
//     old voters then overlaps any majority of the new ones, so no two leaders
//     can be elected. Changer.Simple enforces this.
//   - Joint consensus moves through an intermediate configuration C_old,new in
//     which elections and commitment need a majority of both the old
//     (outgoing) and the new (incoming) voters. Changer.EnterJoint builds that
//     configuration; once it is committed the leader proposes the change that
//     leaves it, and Changer.LeaveJoint drops the outgoing half (thesis 4.3).
//     With AutoLeave set, the leader proposes that leaving change by itself.
//
// In tracker.Config the voters are a quorum.JointConfig whose first element
// is the incoming and whose second element is the outgoing configuration. The
// outgoing half is empty unless the configuration is joint.
//
// # Learners
//
// Learners receive the log but do not vote (thesis 4.2.1). A voter of the
// outgoing configuration that is being demoted to learner keeps voting until
// the joint configuration is left, so it is staged in Config.LearnersNext
// meanwhile and moved into Config.Learners by LeaveJoint.
//
// # Guarantees
//
// The operations never modify the Changer's tracker. They work on a copy of
// its Config and a shallow copy of its ProgressMap, copying any Progress
// before changing it, and return the results; the caller installs them. Every
// result satisfies the invariants listed on checkInvariants, and every request
// that is not allowed returns an error and nothing else.
package confchange

// Package tracker holds what a Raft leader knows about each member of the
// group: the current membership (Config), the replication progress of every
// voter and learner (Progress, with its window of in-flight appends,
// Inflights), and the votes gathered during an election (ProgressTracker).
//
// The package is pure bookkeeping: it sends no messages and reads no clock.
// The raft package drives the state machines defined here: it moves each
// Progress between probing, replicating and snapshotting as followers
// acknowledge or reject appends (Raft thesis 3.5 and 4.2.1), and asks the
// ProgressTracker for the quorum decisions of the current, possibly joint,
// configuration (thesis 4.3). The quorum arithmetic itself lives in package
// quorum; the rules for changing a Config live in package confchange.
//
// Nothing in this package is safe for concurrent use.
package tracker

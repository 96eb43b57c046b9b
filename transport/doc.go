// Package transport carries raft messages between the nodes of a cluster
// over TCP, optionally TLS with client certificates. It uses only the
// standard library and the raft packages of this module.
//
// # Wiring it to a Node
//
// Create the transport with the node's ID, a cluster ID shared by every
// member, and the raft.Node (a Node is a Raft as it is; a RawNode host
// wraps its RawNode in a mutex, see the examples):
//
//	n := raft.StartNode(cfg, peers) // or raft.RestartNode
//	tr, err := transport.New(transport.Config{ID: cfg.ID, ClusterID: 0x5eed, Raft: n, Logger: logger})
//
// Add every other member with its address, and serve the local address:
//
//	tr.AddPeer(2, "10.0.0.2:7000")
//	tr.AddPeer(3, "10.0.0.3:7000")
//	ln, err := net.Listen("tcp", ":7000")
//	go tr.Serve(ln)
//
// In the Ready loop, hand the messages over once the Ready is persisted:
//
//	tr.Send(rd.Messages)
//
// When a configuration change is applied, follow it: AddPeer for a node
// added (its address usually travels in the ConfChange's Context),
// UpdatePeer for one that moved, RemovePeer for one removed. A node that
// is not a peer can neither receive from nor send to this one.
//
// On shutdown, stop the Ready loop, then Close the transport, then Stop the
// node. Close waits for the transport's calls into Raft to return, and none
// is made after it.
//
// # The receive side
//
// The transport serves a net.Listener of its own rather than an
// http.Handler. A raft stream is a long-lived, one-way sequence of frames
// with its own handshake; HTTP would add request parsing, timeouts built
// for request/response, and connection hijacking, and would put the raft
// port behind whatever else the HTTP server exposes. With a listener, TLS
// (Config.ServerTLS) and the handshake are the transport's own and every
// limit is enforced before a byte reaches raft. A host that must share a
// port can hand Serve a listener that yields the right connections.
//
// Every connection opens with a hello stating the cluster ID, the sender's
// ID and the ID it expects to reach. A peer of another cluster, a sender
// that is not a peer, a connection meant for another node, an oversized
// frame, a bad checksum, garbage bytes, or a message whose From or To does
// not match the connection close that connection, with the reason logged on
// the receiving side and, where the hello allowed an answer, on the sender.
// Nothing from such a connection reaches raft. Messages of one sender are
// stepped in the order they were sent, from one goroutine per connection.
//
// # Overload and failures
//
// Send never blocks. Each peer has an outbound queue bounded in messages
// and bytes (Config.QueueMessages, QueueBytes); one goroutine per peer
// drains everything queued into a single write. A message is dropped, and
// ReportUnreachable called for its recipient, when the queue is full, when
// the peer is not connected (from a failed dial or write until the next
// successful handshake), or when it is larger than a frame. Raft treats
// those messages as lost, which its protocol tolerates: the leader probes
// the follower again. So a slow or dead peer costs at most its queue in
// memory, and never holds up the Ready loop or the other peers.
//
// A write that does not complete within Config.WriteTimeout, like any
// failed write or a connection closed by the peer, ends the stream; the
// transport redials with a jittered backoff between Config.ReconnectMin
// and ReconnectMax.
//
// The transport calls ReportUnreachable and ReportSnapshot from its own
// goroutine, coalesced per peer, never from inside Send, so a host may hold
// its lock while calling Send.
//
// # Snapshots
//
// A MsgSnap is sent on a connection of its own, so that a large snapshot
// does not hold up the heartbeats and appends to the same peer. Its data
// goes out in chunks of Config.SnapshotChunkSize, written straight from
// Snapshot.Data: the sender never makes a second copy of the snapshot. The
// receiver allocates the data once (up to Config.MaxSnapshotSize), reads
// each chunk into place, steps the complete MsgSnap into raft and
// acknowledges it. The sender then reports raft.SnapshotFinish; if
// dialing, writing or the acknowledgement fails, or another snapshot to the
// same peer is still being sent, it reports raft.SnapshotFailure.
//
// # Wire format
//
// Every frame has a 20-byte header: version (1), kind, two reserved bytes,
// a 64-bit raft group ID (0 for now; the field is there so that one
// connection can later carry many raft groups), the payload length, and a
// CRC-32C of header and payload. A frame of messages holds a batch of
// length-prefixed raftpb.Message encodings. Frames larger than
// Config.MaxFrameSize are refused before anything is allocated for them.
package transport

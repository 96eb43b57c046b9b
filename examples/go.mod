module github.com/quorate/raft/examples

go 1.25

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/quorate/raft v0.0.0
)

require github.com/gogo/protobuf v1.3.2 // indirect

replace github.com/quorate/raft => ../

module github.com/quorate/raft

go 1.25

require github.com/gogo/protobuf v1.3.2

require github.com/stretchr/testify v1.12.1 // indirect

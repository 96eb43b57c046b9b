#!/usr/bin/env bash
# Regenerates raftpb/raft.pb.go from raftpb/raft.proto.
#
# Uses protoc-gen-gogo, which imports github.com/gogo/protobuf/proto and so
# registers the types in gogo's registry only (a binary can link this package
# and go.etcd.io/raft/v3/raftpb side by side); every other choice comes from
# the file options in raft.proto.
#
# Works on a fresh machine: installs protoc from Debian's protobuf-compiler
# package when it is missing, installs the gogo generator at the version the
# module pins, and takes gogo.proto from the module cache.
#
# Usage: scripts/genproto.sh [OUTDIR]
#   OUTDIR defaults to raftpb/; the check in .ci/run generates into a
#   temporary directory and compares.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
outdir=${1:-$root/raftpb}

GOGO_VERSION=v1.3.2 # keep in step with go.mod

if ! command -v protoc >/dev/null 2>&1; then
	echo "genproto: protoc not found; installing Debian's protobuf-compiler" >&2
	if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

gobin=$(go env GOPATH)/bin
if [ ! -x "$gobin/protoc-gen-gogo" ] ||
	! go version -m "$gobin/protoc-gen-gogo" | grep -q "github.com/gogo/protobuf[[:space:]]*$GOGO_VERSION"; then
	GOFLAGS=-mod=mod go install "github.com/gogo/protobuf/protoc-gen-gogo@$GOGO_VERSION"
fi

gogodir=$(go list -m -f '{{.Dir}}' github.com/gogo/protobuf)
if [ -z "$gogodir" ] || [ ! -f "$gogodir/gogoproto/gogo.proto" ]; then
	go mod download github.com/gogo/protobuf
	gogodir=$(go list -m -f '{{.Dir}}' github.com/gogo/protobuf)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

PATH="$gobin:$PATH" protoc \
	-I "$root/raftpb" \
	-I "$gogodir" \
	-I "$gogodir/protobuf" \
	--gogo_out=paths=source_relative:"$tmp" \
	"$root/raftpb/raft.proto"

mkdir -p "$outdir"
gofmt -s "$tmp/raft.pb.go" >"$outdir/raft.pb.go"
echo "genproto: wrote $outdir/raft.pb.go" >&2

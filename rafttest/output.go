package rafttest

import (
	"fmt"
	"strings"
)

// output collects what one command prints. Everything written through it,
// the nodes' log lines included, is indented by the current depth so that
// nested work (a node handling its Ready inside stabilize) reads as a
// tree.
type output struct {
	b      strings.Builder
	indent int
	// atLineStart is true when the next byte written begins a line and so
	// must be preceded by the indentation.
	atLineStart bool
	level       logLevel
}

func newOutput() *output {
	return &output{atLineStart: true, level: levelInfo}
}

// Write implements io.Writer, indenting every line.
func (o *output) Write(p []byte) (int, error) {
	for _, c := range p {
		if o.atLineStart && c != '\n' {
			for range o.indent {
				o.b.WriteString("  ")
			}
		}
		o.b.WriteByte(c)
		o.atLineStart = c == '\n'
	}
	return len(p), nil
}

// printf writes a formatted line; a trailing newline is added if missing.
func (o *output) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	o.Write([]byte(s))
}

// nest runs f with the indentation one level deeper.
func (o *output) nest(f func()) {
	o.indent++
	defer func() { o.indent-- }()
	f()
}

// take returns what was written since the last take and resets the buffer.
func (o *output) take() string {
	s := o.b.String()
	o.b.Reset()
	o.atLineStart = true
	o.indent = 0
	return s
}

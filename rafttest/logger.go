package rafttest

import (
	"fmt"
	"strings"

	"github.com/quorate/raft"
)

// logLevel orders the severities of log lines; a line is printed when its
// level is at least the output's level.
type logLevel int

const (
	levelDebug logLevel = iota
	levelInfo
	levelWarn
	levelError
	levelFatal
	// levelNone silences every line, fatal and panic ones included (they
	// still stop the test).
	levelNone
)

var levelNames = [...]string{
	levelDebug: "DEBUG",
	levelInfo:  "INFO",
	levelWarn:  "WARN",
	levelError: "ERROR",
	levelFatal: "FATAL",
	levelNone:  "NONE",
}

// parseLogLevel accepts the level names case-insensitively, and "warning"
// for "warn".
func parseLogLevel(s string) (logLevel, error) {
	s = strings.ToUpper(s)
	if s == "WARNING" {
		s = "WARN"
	}
	for l, name := range levelNames {
		if name == s {
			return logLevel(l), nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q (want one of debug, info, warn, error, fatal, none)", s)
}

// logger is the raft.Logger of every node in an InteractionEnv. It writes
// into the command's output, so that a scenario file shows what the nodes
// said while handling the command, filtered by log-level.
type logger struct {
	out *output
}

var _ raft.Logger = logger{}

func (l logger) print(level logLevel, msg string) {
	if level < l.out.level {
		return
	}
	l.out.printf("%s %s", levelNames[level], msg)
}

func (l logger) Debug(v ...any)                 { l.print(levelDebug, fmt.Sprint(v...)) }
func (l logger) Debugf(format string, v ...any) { l.print(levelDebug, fmt.Sprintf(format, v...)) }
func (l logger) Info(v ...any)                  { l.print(levelInfo, fmt.Sprint(v...)) }
func (l logger) Infof(format string, v ...any)  { l.print(levelInfo, fmt.Sprintf(format, v...)) }
func (l logger) Warning(v ...any)               { l.print(levelWarn, fmt.Sprint(v...)) }
func (l logger) Warningf(format string, v ...any) {
	l.print(levelWarn, fmt.Sprintf(format, v...))
}
func (l logger) Error(v ...any)                 { l.print(levelError, fmt.Sprint(v...)) }
func (l logger) Errorf(format string, v ...any) { l.print(levelError, fmt.Sprintf(format, v...)) }

// Fatal and Panic must not return (raft.Logger's contract); both panic so
// that the datadriven test fails with the message instead of exiting.
func (l logger) Fatal(v ...any) { l.fail(levelFatal, fmt.Sprint(v...)) }
func (l logger) Fatalf(format string, v ...any) {
	l.fail(levelFatal, fmt.Sprintf(format, v...))
}
func (l logger) Panic(v ...any)                 { l.fail(levelFatal, fmt.Sprint(v...)) }
func (l logger) Panicf(format string, v ...any) { l.fail(levelFatal, fmt.Sprintf(format, v...)) }

func (l logger) fail(level logLevel, msg string) {
	l.print(level, msg)
	panic(msg)
}

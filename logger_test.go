package raft

import (
	"bytes"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newBufferLogger returns a DefaultLogger writing bare lines (no prefix, no
// timestamp) to the returned buffer.
func newBufferLogger() (*DefaultLogger, *bytes.Buffer) {
	var buf bytes.Buffer
	return &DefaultLogger{Logger: log.New(&buf, "", 0)}, &buf
}

func TestDefaultLoggerLevels(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *DefaultLogger)
		want string
	}{
		{"info", func(l *DefaultLogger) { l.Info("a", 1) }, "INFO: a1\n"},
		{"infof", func(l *DefaultLogger) { l.Infof("a=%d", 1) }, "INFO: a=1\n"},
		{"warning", func(l *DefaultLogger) { l.Warning("w") }, "WARN: w\n"},
		{"warningf", func(l *DefaultLogger) { l.Warningf("w%s", "!") }, "WARN: w!\n"},
		{"error", func(l *DefaultLogger) { l.Error("e") }, "ERROR: e\n"},
		{"errorf", func(l *DefaultLogger) { l.Errorf("e%d", 2) }, "ERROR: e2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, buf := newBufferLogger()
			tt.log(l)
			assert.Equal(t, tt.want, buf.String(), "got %q, want %q", buf.String(), tt.want)
		})
	}
}

func TestDefaultLoggerDebug(t *testing.T) {
	l, buf := newBufferLogger()
	t.Run("off by default", func(t *testing.T) {
		l.Debug("hidden")
		l.Debugf("hidden %d", 1)
		assert.Empty(t, buf.String(), "got %q, want nothing", buf.String())
	})
	t.Run("on after EnableDebug", func(t *testing.T) {
		l.EnableDebug()
		l.Debug("shown")
		l.Debugf("shown %d", 2)
		want := "DEBUG: shown\nDEBUG: shown 2\n"
		assert.Equal(t, want, buf.String(), "got %q, want %q", buf.String(), want)
	})
}

func TestDefaultLoggerPanic(t *testing.T) {
	t.Run("Panic", func(t *testing.T) {
		l, buf := newBufferLogger()
		assert.PanicsWithValue(t, "boom 1", func() { l.Panic("boom ", 1) }, "want a panic with the message")
		assert.Equal(t, "PANIC: boom 1\n", buf.String(), "got %q, want %q", buf.String(), "PANIC: boom 1\n")
	})
	t.Run("Panicf", func(t *testing.T) {
		l, buf := newBufferLogger()
		assert.PanicsWithValue(t, "boom 2", func() { l.Panicf("boom %d", 2) }, "want a panic with the message")
		assert.Equal(t, "PANIC: boom 2\n", buf.String(), "got %q, want %q", buf.String(), "PANIC: boom 2\n")
	})
}

func TestDefaultLoggerEnableTimestamps(t *testing.T) {
	l, _ := newBufferLogger()
	l.EnableTimestamps()
	want := log.Ldate | log.Ltime
	assert.Equal(t, want, l.Flags()&want, "got flags %b, want %b set", l.Flags(), want)
}

func TestDefaultLoggerDropsDebugByDefault(t *testing.T) {
	assert.False(t, defaultLogger.debug, "got debug on, want the default logger to drop debug output")
}

func TestSetLogger(t *testing.T) {
	// NB: other tests of the package may have installed a logger of their
	// own; put back whatever was there.
	prev := getLogger()
	t.Cleanup(func() { SetLogger(prev) })
	l, buf := newBufferLogger()

	t.Run("SetLogger replaces the package logger", func(t *testing.T) {
		SetLogger(l)
		require.Same(t, Logger(l), getLogger(), "got %p, want the logger set, %p", getLogger(), l)
		getLogger().Infof("via %s", "package logger")
		assert.Equal(t, "INFO: via package logger\n", buf.String(), "got %q", buf.String())
	})
	t.Run("ResetDefaultLogger restores the default", func(t *testing.T) {
		ResetDefaultLogger()
		assert.Same(t, Logger(defaultLogger), getLogger(), "got %p, want the default logger, %p", getLogger(), defaultLogger)
	})
}

func TestDefaultLoggerReportsTheCaller(t *testing.T) {
	// With Lshortfile each line must name the file that called the Logger
	// method, not logger.go.
	calls := map[string]func(l *DefaultLogger){
		"Debug":    func(l *DefaultLogger) { l.Debug("x") },
		"Debugf":   func(l *DefaultLogger) { l.Debugf("x") },
		"Info":     func(l *DefaultLogger) { l.Info("x") },
		"Infof":    func(l *DefaultLogger) { l.Infof("x") },
		"Warning":  func(l *DefaultLogger) { l.Warning("x") },
		"Warningf": func(l *DefaultLogger) { l.Warningf("x") },
		"Error":    func(l *DefaultLogger) { l.Error("x") },
		"Errorf":   func(l *DefaultLogger) { l.Errorf("x") },
		"Panic":    func(l *DefaultLogger) { assert.Panics(t, func() { l.Panic("x") }, "got no panic, want one") },
		"Panicf":   func(l *DefaultLogger) { assert.Panics(t, func() { l.Panicf("x") }, "got no panic, want one") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &DefaultLogger{Logger: log.New(&buf, "", log.Lshortfile)}
			l.EnableDebug()
			call(l)
			got := buf.String()
			assert.True(t, strings.HasPrefix(got, "logger_test.go:"), "got %q, want the line to name logger_test.go", got)
		})
	}
}

func TestSetLoggerConcurrentUse(t *testing.T) {
	// Run with -race: SetLogger, ResetDefaultLogger and the library's reads
	// of the package logger may happen on different goroutines.
	prev := getLogger()
	t.Cleanup(func() { SetLogger(prev) })
	l := &DefaultLogger{Logger: log.New(&bytes.Buffer{}, "", 0)}
	ResetDefaultLogger()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if i%2 == 0 {
					SetLogger(l)
					ResetDefaultLogger()
				} else if got := getLogger(); got != Logger(l) && got != Logger(defaultLogger) {
					t.Errorf("got logger %v, want one of those set", got)
				}
			}
		}()
	}
	wg.Wait()
}

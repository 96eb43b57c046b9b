package raft

import (
	"bytes"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
		"Panic":    func(l *DefaultLogger) { assert.Panics(t, func() { l.Panic("x") }) },
		"Panicf":   func(l *DefaultLogger) { assert.Panics(t, func() { l.Panicf("x") }) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &DefaultLogger{Logger: log.New(&buf, "", log.Lshortfile)}
			l.EnableDebug()
			call(l)
			got := buf.String()
			assert.True(t, strings.HasPrefix(got, "logger_review_test.go:"), "got %q, want the line to name logger_review_test.go", got)
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

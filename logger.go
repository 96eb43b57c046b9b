package raft

import (
	"fmt"
	"io"
	"log"
	"os"
	"sync"
)

// Logger is the logging interface the library writes through. Any of the
// common structured or leveled loggers can be adapted to it. Fatal and
// Fatalf must not return; Panic and Panicf must panic.
type Logger interface {
	Debug(v ...any)
	Debugf(format string, v ...any)

	Error(v ...any)
	Errorf(format string, v ...any)

	Info(v ...any)
	Infof(format string, v ...any)

	Warning(v ...any)
	Warningf(format string, v ...any)

	Fatal(v ...any)
	Fatalf(format string, v ...any)

	Panic(v ...any)
	Panicf(format string, v ...any)
}

// DefaultLogger is the Logger used when Config.Logger is nil and SetLogger
// has not been called. It writes to standard error through the embedded
// *log.Logger; Debug output is dropped until EnableDebug is called.
type DefaultLogger struct {
	*log.Logger
	debug bool
}

var (
	defaultLogger = &DefaultLogger{Logger: log.New(os.Stderr, "raft", log.LstdFlags)}
	discardLogger = &DefaultLogger{Logger: log.New(io.Discard, "", 0)}

	loggerMu   sync.RWMutex
	raftLogger = Logger(defaultLogger)
)

// SetLogger replaces the package-wide logger used by every node whose Config
// has no Logger of its own. It is safe for concurrent use.
func SetLogger(l Logger) {
	loggerMu.Lock()
	raftLogger = l
	loggerMu.Unlock()
}

// ResetDefaultLogger restores the package-wide logger to the default one.
func ResetDefaultLogger() {
	SetLogger(defaultLogger)
}

func getLogger() Logger {
	loggerMu.RLock()
	defer loggerMu.RUnlock()
	return raftLogger
}

// EnableTimestamps adds the date and time to every line.
func (l *DefaultLogger) EnableTimestamps() {
	l.SetFlags(l.Flags() | log.Ldate | log.Ltime)
}

// EnableDebug makes Debug and Debugf write; they are silent by default.
func (l *DefaultLogger) EnableDebug() {
	l.debug = true
}

// Debug logs at debug level when EnableDebug has been called.
func (l *DefaultLogger) Debug(v ...any) {
	if l.debug {
		l.Output(calldepth, header("DEBUG", fmt.Sprint(v...)))
	}
}

// Debugf logs at debug level when EnableDebug has been called.
func (l *DefaultLogger) Debugf(format string, v ...any) {
	if l.debug {
		l.Output(calldepth, header("DEBUG", fmt.Sprintf(format, v...)))
	}
}

// Info logs at info level.
func (l *DefaultLogger) Info(v ...any) {
	l.Output(calldepth, header("INFO", fmt.Sprint(v...)))
}

// Infof logs at info level.
func (l *DefaultLogger) Infof(format string, v ...any) {
	l.Output(calldepth, header("INFO", fmt.Sprintf(format, v...)))
}

// Warning logs at warning level.
func (l *DefaultLogger) Warning(v ...any) {
	l.Output(calldepth, header("WARN", fmt.Sprint(v...)))
}

// Warningf logs at warning level.
func (l *DefaultLogger) Warningf(format string, v ...any) {
	l.Output(calldepth, header("WARN", fmt.Sprintf(format, v...)))
}

// Error logs at error level.
func (l *DefaultLogger) Error(v ...any) {
	l.Output(calldepth, header("ERROR", fmt.Sprint(v...)))
}

// Errorf logs at error level.
func (l *DefaultLogger) Errorf(format string, v ...any) {
	l.Output(calldepth, header("ERROR", fmt.Sprintf(format, v...)))
}

// Fatal logs at fatal level and exits the process with status 1.
func (l *DefaultLogger) Fatal(v ...any) {
	l.Output(calldepth, header("FATAL", fmt.Sprint(v...)))
	os.Exit(1)
}

// Fatalf logs at fatal level and exits the process with status 1.
func (l *DefaultLogger) Fatalf(format string, v ...any) {
	l.Output(calldepth, header("FATAL", fmt.Sprintf(format, v...)))
	os.Exit(1)
}

// Panic logs at panic level and panics with the message.
func (l *DefaultLogger) Panic(v ...any) {
	msg := fmt.Sprint(v...)
	l.Output(calldepth, header("PANIC", msg))
	panic(msg)
}

// Panicf logs at panic level and panics with the message.
func (l *DefaultLogger) Panicf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.Output(calldepth, header("PANIC", msg))
	panic(msg)
}

// calldepth makes log.Lshortfile report the caller of the Logger method.
const calldepth = 2

func header(level, msg string) string {
	return level + ": " + msg
}

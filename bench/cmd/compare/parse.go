package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// result is one benchmark line of go test output.
type result struct {
	// name is the benchmark's full name without the -GOMAXPROCS suffix.
	name string
	// metrics maps each unit (ns/op, B/op, allocs/op, and any reported
	// with b.ReportMetric) to its value.
	metrics map[string]float64
}

// procsSuffix is the "-N" testing appends to a name when GOMAXPROCS > 1.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseResults returns the benchmark lines of go test output, in order. A
// line that starts like a result but does not parse is an error, as is a
// FAIL line.
func parseResults(out []byte) ([]result, error) {
	var results []result
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "--- FAIL") || line == "FAIL" {
			return results, fmt.Errorf("a benchmark failed: %s", line)
		}
		fields := strings.Fields(line)
		// A result is: name, iterations, then value-unit pairs. A name on
		// its own (a benchmark that printed before its result, or one
		// that failed) is not a result.
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseUint(fields[1], 10, 64); err != nil {
			continue
		}
		r := result{name: procsSuffix.ReplaceAllString(fields[0], ""), metrics: make(map[string]float64)}
		for i := 2; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return results, fmt.Errorf("%q: value %q: %w", line, fields[i], err)
			}
			r.metrics[fields[i+1]] = v
		}
		if _, ok := r.metrics["ns/op"]; !ok {
			return results, fmt.Errorf("%q: got no ns/op", line)
		}
		results = append(results, r)
	}
	return results, nil
}

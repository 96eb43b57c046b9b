package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// client speaks the service's HTTP API; the tour and the tests use it.
// base arguments are URLs such as "http://127.0.0.1:8001".
type client struct {
	hc *http.Client
}

// statusError is an answer other than the one a call expects.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

// noEffect reports whether err says that the request certainly changed
// nothing: the server refused it (4xx) or said so (503), or the connection
// was refused before anything was sent. After any other error, a write may
// or may not have been applied.
func noEffect(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code < 500 || se.code == http.StatusServiceUnavailable
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// do sends a request and decodes a 200 answer's JSON body into out (when
// out is not nil). Any other status is a *statusError.
func (c *client) do(ctx context.Context, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{code: resp.StatusCode, msg: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func keyURL(base, key string) string { return base + "/keys/" + url.PathEscape(key) }

// put sets key to value and returns the index the write was applied at.
func (c *client) put(ctx context.Context, base, key, value string) (uint64, error) {
	var res struct{ Index uint64 }
	err := c.do(ctx, http.MethodPut, keyURL(base, key), []byte(value), &res)
	return res.Index, err
}

// del deletes key and returns the index the delete was applied at.
func (c *client) del(ctx context.Context, base, key string) (uint64, error) {
	var res struct{ Index uint64 }
	err := c.do(ctx, http.MethodDelete, keyURL(base, key), nil, &res)
	return res.Index, err
}

// get reads key, linearizably unless stale; found is false for an unset
// key.
func (c *client) get(ctx context.Context, base, key string, stale bool) (value string, found bool, err error) {
	u := keyURL(base, key)
	if stale {
		u += "?stale=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err != nil:
		return "", false, err
	case resp.StatusCode == http.StatusOK:
		return string(b), true, nil
	case resp.StatusCode == http.StatusNotFound:
		return "", false, nil
	default:
		return "", false, &statusError{code: resp.StatusCode, msg: strings.TrimSpace(string(b))}
	}
}

// status returns the node's GET /status.
func (c *client) status(ctx context.Context, base string) (statusResponse, error) {
	var st statusResponse
	err := c.do(ctx, http.MethodGet, base+"/status", nil, &st)
	return st, err
}

// changeMembers makes changes in one configuration change.
func (c *client) changeMembers(ctx context.Context, base string, changes ...memberChange) (membersResponse, error) {
	body, err := json.Marshal(membersRequest{Changes: changes})
	if err != nil {
		return membersResponse{}, err
	}
	var res membersResponse
	err = c.do(ctx, http.MethodPost, base+"/members", body, &res)
	return res, err
}

package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/quorate/raft"
	"github.com/quorate/raft/raftpb"
)

// testCA is a throwaway certificate authority for loopback tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "transport test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for a node on 127.0.0.1, good for both
// ends of a connection.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsConfig returns cfg with mutual TLS set up from ca for a node named
// name.
func (ca *testCA) tlsConfig(t *testing.T, cfg Config, name string) Config {
	cert := ca.issue(t, name)
	cfg.ClientTLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.pool, MinVersion: tls.VersionTLS13}
	cfg.ServerTLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
	return cfg
}

func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	a := startNode(t, ca.tlsConfig(t, testConfig(1), "node1"), "127.0.0.1:0")
	b := startNode(t, ca.tlsConfig(t, testConfig(2), "node2"), "127.0.0.1:0")
	link(t, a, b)

	m := appMsg(1, 2, 1, []byte("over TLS"))
	snap := snapMsg(1, 2, randomBytes(3<<20))
	a.tr.Send([]raftpb.Message{m, snap})
	b.tr.Send([]raftpb.Message{appMsg(2, 1, 1, []byte("and back"))})
	b.host.waitFor(t, "the message and the snapshot", func(r *recorder) bool { return len(r.msgs) == 2 })
	a.host.waitFor(t, "the reply and the snapshot report", func(r *recorder) bool {
		return len(r.msgs) == 1 && len(r.snapshots) == 1
	})
	got := b.host.received()
	// The two travel on different connections; either may arrive first.
	if got[0].Type == raftpb.MsgSnap {
		got[0], got[1] = got[1], got[0]
	}
	if !reflect.DeepEqual(got, []raftpb.Message{m, snap}) {
		t.Errorf("got %v, want the message and the snapshot", got)
	}
	if r := a.host.snapshotReports()[0]; r != (snapReport{2, raft.SnapshotFinish}) {
		t.Errorf("got report %v, want finish", r)
	}
}

func TestTLSRefusesUnauthenticatedPeers(t *testing.T) {
	ca := newTestCA(t)
	// Each case gets its own node, so that a log line can only come from
	// the connection the case made.
	start := func(t *testing.T) *testNode {
		b := startNode(t, ca.tlsConfig(t, testConfig(2), "node2"), "127.0.0.1:0")
		b.tr.AddPeer(1, "127.0.0.1:1")
		b.tr.AddPeer(3, "127.0.0.1:1")
		t.Cleanup(func() {
			if got := b.host.received(); len(got) != 0 {
				t.Errorf("got %d messages stepped, want 0", len(got))
			}
		})
		return b
	}

	t.Run("certificate from another CA", func(t *testing.T) {
		b := start(t)
		other := newTestCA(t)
		cfg := other.tlsConfig(t, testConfig(1), "intruder")
		cfg.ClientTLS.RootCAs = ca.pool // it trusts b; b must not trust it
		a := startNode(t, cfg, "127.0.0.1:0")
		a.tr.AddPeer(2, b.addr)
		eventually(t, "the refusal logged on both sides", func() bool {
			return b.log.contains("refused connection", "TLS handshake") && a.log.contains("cannot reach peer 2")
		})
		if st, _ := peerStatus(a, 2); st.Connected {
			t.Errorf("got connected, want refused")
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		b := start(t)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: waitLimit}, "tcp", b.addr,
			&tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS13})
		if err == nil {
			// Under TLS 1.3 the server's verdict on the client comes with
			// the first read.
			c.SetDeadline(time.Now().Add(waitLimit))
			c.Write(appendFrame(nil, kindHello, 0, hello{0xc1, 3, 2, streamMessages}.appendTo(nil)))
			if _, err = newFrameReader(c, 1<<10).next(); err == nil {
				t.Fatalf("got an answer to hello without a client certificate, want the connection refused")
			}
			c.Close()
		}
		eventually(t, "the refusal logged", func() bool { return b.log.contains("refused connection", "certificate") })
	})
	t.Run("plain TCP", func(t *testing.T) {
		b := start(t)
		c := rawDial(t, b.addr)
		c.Write(appendFrame(nil, kindHello, 0, hello{0xc1, 3, 2, streamMessages}.appendTo(nil)))
		expectClosed(t, c)
		eventually(t, "the refusal logged", func() bool { return b.log.contains("refused connection", "TLS handshake") })
	})
}

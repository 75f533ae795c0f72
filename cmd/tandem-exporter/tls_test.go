package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their paths and a pool
// that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tandem-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)  //nolint:errcheck
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600) //nolint:errcheck
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TLS and basic auth on /metrics through exporter-toolkit's --web.config.file, checked with a
// real TLS client: the right password gets metrics, a wrong one and plain HTTP do not.
func TestTLSAndBasicAuth(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("right-horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n",
		certFile, keyFile, hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--demo", "--demo.leads", "300", "--demo.dir", t.TempDir(), "--web.config.file", webConfig)
	addr, logs := startListening(t, cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		cmd.Wait()                          //nolint:errcheck
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	get := func(scheme, user, pass string) (int, string, error) {
		req, _ := http.NewRequest("GET", scheme+"://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body, err := get("https", "prometheus", "right-horse")
		if err == nil && code == 200 && strings.Contains(body, `tandem_up{database="crm"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics over TLS with the right password: %d %v\n%s", code, err, logs.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if code, _, err := get("https", "prometheus", "wrong-horse"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d %v, want 401", code, err)
	}
	if code, _, err := get("https", "", ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d %v, want 401", code, err)
	}
	if code, body, err := get("http", "prometheus", "right-horse"); err == nil && strings.Contains(body, "tandem_") {
		t.Errorf("plain HTTP served metrics (%d)", code)
	}

	// --healthcheck (the container HEALTHCHECK) speaks the same web config: TLS, and the
	// credentials from a file. Without them, or with the wrong ones, it reports unhealthy.
	passFile := filepath.Join(dir, "password")
	os.WriteFile(passFile, []byte("right-horse\n"), 0o600)        //nolint:errcheck
	os.WriteFile(passFile+".bad", []byte("wrong-horse\n"), 0o600) //nolint:errcheck
	probe := func(args ...string) error {
		return exec.Command(bin, append([]string{"--healthcheck", "--web.listen-address", addr, "--web.config.file", webConfig}, args...)...).Run()
	}
	if err := probe("--healthcheck.username", "prometheus", "--healthcheck.password-file", passFile); err != nil {
		t.Errorf("--healthcheck with TLS and the right credentials: %v", err)
	}
	if err := probe("--healthcheck.username", "prometheus", "--healthcheck.password-file", passFile+".bad"); err == nil {
		t.Error("--healthcheck passed with a wrong password")
	}
	if err := probe(); err == nil {
		t.Error("--healthcheck passed without credentials against basic auth")
	}
}

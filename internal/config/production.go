package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
)

// Production settings: a webhook URL that leaves the machine (the
// worker's GATEWAY_PUBLIC_URL on a host other than loopback) or a gateway
// that listens on an address other than loopback takes webhooks from the
// network. Then every webhook secret must be strong, since a weak one
// lets anyone who guesses it sign URLs that complete runs; and the
// public URL must be https unless the provider itself is reached over
// plain http (the fake, on loopback or a network the operator trusts with
// MODELSLAB_ALLOW_HTTP), since each URL carries its sig. On loopback (the
// local stack, tests) the shorter rules of the variables alone apply.
const (
	// MinProductionSecretBytes is the shortest webhook secret production
	// settings accept: 32 bytes, as `openssl rand -hex 32` prints 64.
	MinProductionSecretBytes = 32
	// MinProductionSecretBits is the least randomness production
	// settings accept in a webhook secret, estimated from how varied its
	// characters are (secretBits): 64 random hex digits carry about 240,
	// 43 characters of random base64 about 210, thirty-two "a"s none.
	MinProductionSecretBits = 160
)

// isLoopbackHost reports whether host, a URL's or a listen address's
// host, names this machine only: localhost, a name under .localhost, or
// an address in 127.0.0.0/8 or ::1. An empty host (every interface) is
// not loopback.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secretBits estimates the randomness of s in bits: its length times the
// Shannon entropy of its bytes' frequencies. It cannot tell a random
// string from a well-mixed pattern, but it refuses repetitions, words and
// short alphabets, and it never refuses a secret made as documented.
func secretBits(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return n * h
}

// weakSecret returns why secret is too weak for production settings, or
// "". It never quotes the secret.
func weakSecret(secret string) string {
	if len(secret) < MinProductionSecretBytes {
		return fmt.Sprintf("is %d bytes", len(secret))
	}
	if bits := secretBits(secret); bits < MinProductionSecretBits {
		return fmt.Sprintf("is %d bytes but far from random (its characters carry about %.0f bits; at least %d wanted)",
			len(secret), bits, MinProductionSecretBits)
	}
	return ""
}

// productionSecrets reports each weak secret of the variable name; why
// says what makes these production settings.
func (r *reader) productionSecrets(name string, secrets []string, why string) {
	for i, s := range secrets {
		if len(s) < 16 {
			continue // refused everywhere, and reported already
		}
		if w := weakSecret(s); w != "" {
			r.fail(name, "secret %d %s; %s, so each secret must be at least %d random bytes (openssl rand -hex 32)",
				i+1, w, why, MinProductionSecretBytes)
		}
	}
}

// workerProduction applies the production rules when the worker's public
// URL is not on loopback.
func (r *reader) workerProduction(c Worker) {
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || isLoopbackHost(u.Hostname()) {
		return // a malformed URL is reported already
	}
	why := fmt.Sprintf("%s %q is not on loopback", EnvGatewayPublicURL, c.PublicURL)
	r.productionSecrets(EnvWebhookSecrets, c.Secrets, why)
	if u.Scheme != "http" {
		return
	}
	if p, err := url.Parse(c.ModelsLabBaseURL); err == nil && p.Scheme == "http" {
		// The provider is on loopback or a network the operator trusts
		// (MODELSLAB_ALLOW_HTTP): its webhooks travel the same network.
		return
	}
	r.fail(EnvGatewayPublicURL, "%q is plain http on a host other than loopback while the provider is reached over "+
		"https (%s): every webhook URL carries its sig, which completes the run for whoever reads it on the way; "+
		"use the gateway's https URL", c.PublicURL, EnvModelsLabBaseURL)
}

// gatewayProduction applies the production rules when the gateway listens
// on an address other than loopback.
func (r *reader) gatewayProduction(c Gateway) {
	host, _, err := net.SplitHostPort(c.ListenAddr)
	if err != nil || isLoopbackHost(host) {
		return // a malformed address is reported already
	}
	r.productionSecrets(EnvWebhookSecrets, c.Secrets, fmt.Sprintf("%s %q is not on loopback", EnvGatewayListen, c.ListenAddr))
}

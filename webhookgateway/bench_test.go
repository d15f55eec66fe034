package webhookgateway

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

type nopSignaler struct{}

func (nopSignaler) SignalWorkflow(context.Context, string, string, string, interface{}) error {
	return nil
}

// BenchmarkWebhookHandler measures the gateway's own cost per webhook:
// sig check, size and type checks, parsing and building the signal, with
// a signaler that does nothing (the Temporal round trip is not included).
func BenchmarkWebhookHandler(b *testing.B) {
	signer := newTestSigner(b, "https://hooks.example.com", newSecret)
	h := newTestHandler(b, Options{Signer: signer, Signaler: nopSignaler{}, Health: &fakeHealth{}})
	body := []byte(`{"status":"success","id":"abc123-def456","output":["https://pub-x.r2.dev/generations/abc123.mp4"],` +
		`"generationTime":45.2,"track_id":"video_001","meta":{"prompt":"a fox","model_id":"cogvideox","width":512,"height":512}}`)
	target := WebhookPathPrefix + "video_001?sig=" + signer.Sign("video_001")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkSignerVerify checks a valid sig, with one secret and with two
// (during a rotation the old secret is tried as well).
func BenchmarkSignerVerify(b *testing.B) {
	for _, secrets := range [][]string{{newSecret}, {newSecret, oldSecret}} {
		b.Run(fmt.Sprintf("secrets=%d", len(secrets)), func(b *testing.B) {
			signer := newTestSigner(b, "https://hooks.example.com", secrets...)
			trackID := "gen-0b6f2d1e-8c1a-4f7e-9d3b-5a2c7e9f1b40"
			sig := signer.Sign(trackID)
			b.ReportAllocs()
			for b.Loop() {
				if !signer.Verify(trackID, sig) {
					b.Fatal("valid sig rejected")
				}
			}
		})
	}
}

// BenchmarkSignerURL builds the webhook URL the worker sends with each
// submit.
func BenchmarkSignerURL(b *testing.B) {
	signer := newTestSigner(b, "https://hooks.example.com/genflow", newSecret)
	trackID := "gen-0b6f2d1e-8c1a-4f7e-9d3b-5a2c7e9f1b40"
	b.ReportAllocs()
	for b.Loop() {
		u, err := signer.URL(trackID)
		if err != nil || len(u) == 0 {
			b.Fatalf("URL: %q %v", u, err)
		}
	}
}

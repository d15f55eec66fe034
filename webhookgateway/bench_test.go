package webhookgateway

import (
	"bytes"
	"context"
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
	target := WebhookPathPrefix + "video_001?exp=" + testExp + "&sig=" + signer.Sign("video_001", testExpiry)
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

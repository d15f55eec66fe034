package webhookgateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// ShutdownGrace is how long Serve lets requests in flight finish once its
// context is done.
const ShutdownGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// it stops accepting connections and waits up to ShutdownGrace for
// requests in flight, whose signals may still be reaching Temporal. It
// returns nil after a clean shutdown. Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	return serveWith(ctx, ln, h, logger, nil)
}

// ServeTLS is Serve over HTTPS: TLS 1.2 or newer, HTTP/2 offered, with the
// PEM certificate (chain) in certFile and its private key in keyFile.
//
// The pair is loaded before anything is served, so a missing, unreadable
// or mismatched file is an error at start (ln is closed). Afterwards each
// new connection checks the files: when either has changed (a renewed
// certificate), the new pair is loaded and used without a restart; a pair
// that fails to load, such as a certificate written before its key, is
// logged and the previous one kept until the files agree again.
func ServeTLS(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, certFile, keyFile string) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	certs := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := certs.load(); err != nil {
		return errors.Join(err, ln.Close())
	}
	return serveWith(ctx, ln, h, logger, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.getCertificate,
	})
}

// serveWith is Serve, over TLS when tlsConfig is not nil.
func serveWith(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, tlsConfig *tls.Config) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// A webhook body is small; a client that trickles it is stalling.
		ReadTimeout: 30 * time.Second,
		// Counted from the end of the headers: reading the body plus the
		// signal (Options.SignalTimeout) must fit.
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,
		// net/http reads about 8 KiB past MaxHeaderBytes before it
		// answers 431 (a 70 KB header got through a limit of 64 KiB, the
		// fault suite's abuse list found); 32 KiB refuses anything over
		// about 40 KiB, still far above a webhook's few hundred bytes.
		MaxHeaderBytes: 32 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:      tlsConfig,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// The certificate comes from TLSConfig.GetCertificate.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "shutting down http server",
		slog.Duration("grace", ShutdownGrace))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		closeErr := srv.Close()
		if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			closeErr = errors.Join(closeErr, serveErr)
		}
		return errors.Join(fmt.Errorf("shut down http server: %w", err), closeErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// certReloader hands out the certificate in certFile and keyFile and
// reloads it when either file changes on disk.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	stamp  [2]fileStamp // of certFile and keyFile when cert was loaded
	failed [2]fileStamp // of the last pair that did not load, tried once
}

// fileStamp tells whether a file changed since it was last read.
type fileStamp struct {
	modTime time.Time
	size    int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{modTime: fi.ModTime(), size: fi.Size()}, nil
}

// load reads the pair; the caller holds mu or is the only user.
func (r *certReloader) load() error {
	certStamp, err := stampOf(r.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	keyStamp, err := stampOf(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &cert, [2]fileStamp{certStamp, keyStamp}
	return nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	certStamp, err1 := stampOf(r.certFile)
	keyStamp, err2 := stampOf(r.keyFile)
	if now := [2]fileStamp{certStamp, keyStamp}; err1 == nil && err2 == nil && now != r.stamp && now != r.failed {
		if err := r.load(); err != nil {
			r.failed = now
			r.logger.Warn("tls certificate changed but does not load; keeping the previous one", "error", err)
		} else {
			r.logger.Info("tls certificate reloaded", "cert_file", r.certFile)
		}
	}
	return r.cert, nil
}

// Command ferretdb runs FerretDB 1.24 with its PostgreSQL backend for the OMS local stack.
//
// It embeds github.com/FerretDB/FerretDB/ferretdb instead of building FerretDB's own
// cmd/ferretdb: that command panics at start when built with `go install`, because
// build/version/version.txt is not part of the module. The version check is skipped
// when FerretDB is not the main module, which is the case here.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27018", "TCP address to listen on")
	postgresURL := flag.String("postgresql-url", "", "PostgreSQL URL, e.g. postgres://user@127.0.0.1:5432/ferretdb")
	flag.Parse()
	if *postgresURL == "" {
		log.Fatal("--postgresql-url is required")
	}

	// Above ERROR: FerretDB logs every failed command (a write conflict included) with its
	// documents at WARN and ERROR; panics are ERROR+1 and stay visible.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *postgresURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Printf("ferretdb (postgresql) listening on %s", *listen)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
